"""One question on both cores, for one-shot commands (``assistant ask`` with no app running).

Before its first answer a process loads two things that need nothing from each other: the
retrieval side (Chroma, llama-index, the index mirror and the embedding model, about 2 s here)
and the reader (spaCy with the index's stored parses, about 1.2 s). A lone question pays for
both in turn. Here a forked process loads the reader while this one loads retrieval and
retrieves; the child then reads the passages it is sent and sends the answer back.

The child gets what reading needs from the index in the request: the passages, the question's
vector and the weight of each focus word. So it opens neither Chroma nor the mirror, and reads
exactly what this process would (``tests/test_oneshot.py`` compares the two). Whenever the child
cannot answer (it failed to load, died, or met a word it has no weight for), the question is
read in this process instead; its errors are then reported as usual.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from assistant.settings import ReaderSettings, Settings

TRACE_ENV = "NEWSDESK_TRACE_ONESHOT"  # =1: say on stderr when the child read the question
JOIN_TIMEOUT_S = 5.0  # wait this long for the child to exit after answering, then stop it
ANSWER_TIMEOUT_S = 60.0  # it loads in ~1 s and reads in ~0.2 s: past this it is stuck, read here
# (each wait: for the child to load, then for its answer)


class _FocusWeights:
    """The index's word weights, as far as the reader asks for them (``LocalIndex.idf``)."""

    def __init__(self, table: dict[str, float], prior_docs: int) -> None:
        self.table, self.prior_docs = table, prior_docs

    def idf(self, term: str, prior_docs: int = 0) -> float:
        if prior_docs != self.prior_docs:
            raise KeyError(term)  # weighed differently: read in the parent
        return self.table[term]  # KeyError: a word the parent did not weigh, read there


class _WordPieces:
    """What the reader needs of the embedding model: its word-piece vectors (``WordVectors``),
    from the NumPy encoder, without loading llama-index or torch."""

    def __init__(self, model: str) -> None:
        from assistant.encoder import QueryEncoder, resolve_model_path

        folder = resolve_model_path(model)
        self._encoder = QueryEncoder(folder) if QueryEncoder.supports(folder) else None

    @property
    def word_vectors(self):
        return self._encoder.word_embeddings if self._encoder is not None else None

    def token_ids(self, text: str) -> list[int]:
        return self._encoder.token_ids(text)


def _serve(conn, ours, settings: Settings, parses: Path) -> None:
    """The child: load the reader, say whether it could, then read the one question sent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl+C is the parent's; it stops us
    ours.close()  # the parent's end: with it closed here, the parent's exit ends our wait
    try:
        try:
            from assistant.engine import concluded
            from assistant.nlp import use_store
            from assistant.reading import read

            use_store(parses)  # loads spaCy
            words = _WordPieces(settings.embedding.model)
        except Exception:  # the parent, reading itself, reports what is wrong
            conn.send(False)
            return
        conn.send(True)
        retrieved, reader, table = conn.recv()
        weights = _FocusWeights(table, reader.idf_prior_docs)

        def reading():
            return read(retrieved.resolved, retrieved.passages, retrieved.query_vector,
                        weights, words, reader)  # fmt: skip

        conn.send(concluded(retrieved, reading))
    except Exception:  # noqa: BLE001 (gone parent, a missing weight, anything: read there)
        with contextlib.suppress(Exception):
            conn.send(None)


class ForkedReader:
    """A forked process that loads the reader now and reads one question later."""

    @staticmethod
    def available() -> bool:
        return "fork" in multiprocessing.get_all_start_methods()  # not on Windows

    def __init__(self, settings: Settings, parses: Path) -> None:
        context = multiprocessing.get_context("fork")  # shares what is loaded; nothing is yet
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child, self._conn, settings,
                                                             parses),
                                        name="newsdesk-reader", daemon=True)  # fmt: skip
        self._process.start()
        child.close()
        self._answered = False

    def conclude(self, retrieved: Any, reader: ReaderSettings,
                 focus_idf: dict[str, float]) -> Any | None:  # fmt: skip
        """The answer to ``retrieved`` (``engine.Retrieved``) read in the child, or None when
        it could not be: then read it here. ``focus_idf``: ``Assistant._focus_idf``."""
        try:
            # loaded? (asked first: a child stuck loading would not take what is sent next)
            if not self._conn.poll(ANSWER_TIMEOUT_S) or not self._conn.recv():
                return None
            # the search filters stay here: unpickling them would import llama-index there
            self._conn.send((replace(retrieved, filters=None), reader, focus_idf))
            if not self._conn.poll(ANSWER_TIMEOUT_S):
                return None
            answer = self._conn.recv()
        except (EOFError, OSError):
            return None
        self._answered = answer is not None
        if self._answered and os.environ.get(TRACE_ENV) == "1":
            print("trace: read in a forked process", file=sys.stderr, flush=True)
        return answer

    def close(self) -> None:
        """Let the child exit once it has answered; stop it otherwise (it may be loading)."""
        self._conn.close()
        if self._answered:
            self._process.join(JOIN_TIMEOUT_S)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join()
