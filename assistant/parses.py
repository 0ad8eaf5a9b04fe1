"""Parsed sentences stored with the index, so that answering loads a parse instead of parsing.

Parsing a sentence (spaCy: tags, dependencies, names) is the costliest step of reading: ~2.6 ms
a sentence, about half of a question's time; loading a stored parse takes ~0.06 ms. The parses
live in a SQLite file beside the local index (``local-<collection>.parses.sqlite``), keyed by
a hash of the sentence's text (a sentence repeated in several articles or index copies is parsed
once), under the name and version of the spaCy pipeline: parses of another pipeline are dropped.

Parsing the whole index costs about as much CPU as embedding it again on one core, so ingest
does not wait for it: ``assistant ingest`` parses after embedding, as a second step with its own
progress bar (``--no-parse`` skips it), and the app parses in a background process
(``python -m assistant.parses DB``, texts on stdin) after start and after every upload, at low
priority. A sentence not stored yet is parsed when a question needs it, with the same result.
A damaged file is only a cache: it is replaced, and nothing ingested depends on it.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import logging
import os
import sqlite3
import struct
import sys
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

log = logging.getLogger(__name__)

SCHEMA = 2  # bump when what is stored changes (2: JSON head and raw array, not msgpack)
FILENAME = "parses.sqlite"
BATCH = 64  # sentences per spaCy batch: 2.6 ms a sentence in batches of 64, 3.3 in batches of 8
COMMIT_EVERY = 1024  # parses written per transaction: progress survives an interruption
WORKER_NICENESS = 10  # the background parser yields the CPU to questions and uploads
_EXCLUDE = ["tensor", "user_data"]  # what reading never looks at (the tensor is 3/4 of a Doc)


def text_key(text: str) -> bytes:
    """The store's key of a sentence: a hash of its exact text."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def pipeline_id(nlp) -> str:
    return f"{nlp.meta.get('lang')}_{nlp.meta.get('name')}-{nlp.meta.get('version')}/{SCHEMA}"


def encode(doc) -> bytes:
    """A parse as bytes: spaCy's own dict of the Doc, its token array raw and the rest as JSON
    (spaCy's ``to_bytes`` packs it with msgpack, 4x slower to load), compressed."""
    msg = doc.to_dict(exclude=_EXCLUDE)
    body = msg.pop("array_body")
    msg["spans"] = msg["spans"].decode("latin-1")  # span groups: spaCy's own bytes
    msg["shape"] = body.shape
    head = json.dumps(msg).encode()
    return zlib.compress(struct.pack("<I", len(head)) + head + body.astype("<u8").tobytes(), 6)


def decode(data: bytes, vocab):
    """The Doc of ``encode``'s bytes, its strings added to ``vocab``."""
    import numpy as np
    from spacy.tokens import Doc

    raw = zlib.decompress(data)
    size = struct.unpack_from("<I", raw)[0]
    msg = json.loads(raw[4 : 4 + size])
    msg["array_body"] = np.frombuffer(raw, dtype="<u8", offset=4 + size).reshape(msg.pop("shape"))
    msg["array_head"] = tuple(msg["array_head"])
    msg["spans"] = msg["spans"].encode("latin-1")
    return Doc(vocab).from_dict(msg, exclude=_EXCLUDE)


class ParseStore:
    """Stored parses by sentence text. Thread-safe; the file is created on the first write."""

    def __init__(self, path: str | Path, pipeline: str) -> None:
        self.path = Path(path)
        self.pipeline = pipeline
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _connect(self, create: bool) -> sqlite3.Connection | None:
        if self._conn is not None:
            return self._conn
        if not create and not self.path.exists():
            return None
        try:
            self._conn = self._open()
        except sqlite3.DatabaseError as exc:  # not a database, or a damaged one: a cache only
            log.warning("Parse store %s is unreadable (%s); starting a new one.", self.path, exc)
            self._conn = None
            self.path.unlink(missing_ok=True)
            self._conn = self._open()
        return self._conn

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        try:
            conn.execute("PRAGMA journal_mode=WAL")  # readers go on while the worker writes
            conn.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT)")
            # a rowid table keeps each ~1.4 KB parse inline; WITHOUT ROWID spilled each to a page
            conn.execute("CREATE TABLE IF NOT EXISTS parses (key BLOB PRIMARY KEY, doc BLOB)")
            row = conn.execute("SELECT value FROM meta WHERE name = 'pipeline'").fetchone()
            if row is None or row[0] != self.pipeline:
                with conn:
                    conn.execute("DELETE FROM parses")
                    conn.execute("INSERT OR REPLACE INTO meta VALUES ('pipeline', ?)",
                                 (self.pipeline,))  # fmt: skip
            conn.execute("SELECT count(*) FROM parses LIMIT 1").fetchone()  # damaged: raises
        except sqlite3.DatabaseError:
            conn.close()
            raise
        return conn

    def get(self, texts: list[str]) -> list[bytes | None]:
        """The stored parse of each text, or None. Never raises: a lookup failure parses."""
        out: list[bytes | None] = [None] * len(texts)
        with self._lock:
            try:
                conn = self._connect(create=False)
                if conn is None:
                    return out
                keys = [text_key(t) for t in texts]
                marks = ",".join("?" * len(keys))
                found = dict(conn.execute(f"SELECT key, doc FROM parses WHERE key IN ({marks})",
                                          keys).fetchall())  # fmt: skip
            except sqlite3.Error as exc:
                log.warning("Parse store %s: lookup failed (%s).", self.path, exc)
                return out
        return [found.get(k) for k in keys]

    @property
    def generation(self) -> str:
        """The index generation whose every sentence is stored ('' if none is yet)."""
        with self._lock:
            try:
                conn = self._connect(create=False)
                row = conn and conn.execute("SELECT value FROM meta WHERE name = 'generation'"
                                            ).fetchone()  # fmt: skip
            except sqlite3.Error:
                return ""
            return row[0] if row else ""

    def complete(self, generation: str) -> None:
        """Record that every sentence of index generation ``generation`` is stored."""
        with self._lock, self._connect(create=True) as conn:
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('generation', ?)", (generation,))

    def keys(self) -> set[bytes]:
        with self._lock:
            conn = self._connect(create=False)
            if conn is None:
                return set()
            return {k for (k,) in conn.execute("SELECT key FROM parses")}

    def put(self, items: Iterable[tuple[bytes, bytes]]) -> None:
        with self._lock:
            conn = self._connect(create=True)
            with conn:
                conn.executemany("INSERT OR REPLACE INTO parses VALUES (?, ?)", items)

    def prune(self, keep: set[bytes]) -> int:
        """Drop the parses of sentences no longer in the index; how many were dropped."""
        stale = list(self.keys() - keep)
        if stale:
            with self._lock, self._connect(create=True) as conn:
                conn.executemany("DELETE FROM parses WHERE key = ?", ((k,) for k in stale))
        return len(stale)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def index_sentences(chunks: Iterable[tuple[str, str, dict]]) -> Iterator[str]:
    """The texts reading parses, from stored chunks ``(id, text, metadata)``: every full
    sentence (what ``reading`` splits by the stored spans) and every headline."""
    from assistant.indexing import parse_spans
    from assistant.reading import headline_of
    from assistant.text import is_statement

    headlines: set[str] = set()
    for _, text, meta in chunks:
        text = text or ""
        for start, end in parse_spans(meta.get("sentences", "")):
            sentence = text[start:end]
            if sentence.strip() and is_statement(sentence):
                yield sentence
        headline = headline_of(meta.get("title", "") or "")
        if headline and headline not in headlines:
            headlines.add(headline)
            yield headline


def missing(store: ParseStore, texts: Iterable[str], prune: bool = False) -> list[str]:
    """The distinct ``texts`` without a stored parse; with ``prune``, the stored parses of any
    other text are dropped (``texts`` must then be the whole index)."""
    have = store.keys()
    wanted: dict[bytes, str] = {}
    for text in texts:
        wanted.setdefault(text_key(text), text)
    if prune:
        store.prune(set(wanted))
    return [text for key, text in wanted.items() if key not in have]


def fill(store: ParseStore, texts: list[str], progress: bool | Callable[[int, int], None] = False,
         ) -> int:  # fmt: skip
    """Parse ``texts`` and store the parses; how many were stored. Safe to interrupt: what was
    committed stays, and the rest is parsed next time (or when a question needs it)."""
    from assistant.nlp import parse_fresh

    bar = _bar(progress, len(texts))
    done = 0
    pending: list[tuple[bytes, bytes]] = []
    try:
        for at in range(0, len(texts), BATCH):
            batch = texts[at : at + BATCH]
            docs = parse_fresh(batch)
            pending += [(text_key(t), encode(d)) for t, d in zip(batch, docs, strict=True)]
            done += len(batch)
            if len(pending) >= COMMIT_EVERY:
                store.put(pending)
                pending = []
            bar(done)
        if pending:
            store.put(pending)
    finally:
        bar(None)
    return done


def _bar(progress, total: int) -> Callable[[int | None], None]:
    if callable(progress):
        return lambda done: None if done is None else progress(done, total)
    if not progress or not total:
        return lambda done: None
    from tqdm import tqdm

    bar = tqdm(total=total, unit="sentence", desc="Parsing", file=sys.stderr, dynamic_ncols=True)

    def update(done: int | None) -> None:
        if done is None:
            bar.close()
        else:
            bar.n = done
            bar.refresh()

    return update


_workers: set = set()  # running background parsers, stopped when this process exits


def run_worker(path: Path, texts: list[str], generation: str) -> None:
    """Parse ``texts`` into the store at ``path`` in a separate low-priority process (the app's
    threads keep the interpreter for questions); waits for it. Raises OSError if it fails."""
    import subprocess

    worker = subprocess.Popen(
        [sys.executable, "-m", "assistant.parses", str(path), generation],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=Path(__file__).resolve().parent.parent,
    )
    _workers.add(worker)
    try:
        _, err = worker.communicate(json.dumps(texts).encode("utf-8", "surrogatepass"))
    finally:
        _workers.discard(worker)
    if worker.returncode:
        raise OSError(err.decode(errors="replace").strip()[-300:] or
                      f"the parsing process exited with status {worker.returncode}")  # fmt: skip


@atexit.register
def _stop_workers() -> None:
    for worker in list(_workers):
        worker.terminate()  # what it committed stays; the rest is parsed next time


def main(argv: list[str] | None = None) -> int:
    """The background worker: parse the JSON list of texts on stdin into the store, then mark
    the index generation given as complete."""
    from assistant.nlp import pipeline

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m assistant.parses STORE.sqlite GENERATION < texts.json",
              file=sys.stderr)  # fmt: skip
        return 2
    try:
        os.nice(WORKER_NICENESS)
    except OSError:
        pass
    try:
        texts = json.loads(sys.stdin.buffer.read().decode("utf-8", "surrogatepass"))
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise ValueError("expected a JSON list of strings")
        store = ParseStore(args[0], pipeline_id(pipeline()))
        fill(store, missing(store, texts))
        if args[1]:
            store.complete(args[1])
        store.close()
    except (ValueError, OSError, sqlite3.Error) as exc:
        print(f"Parsing in the background failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
