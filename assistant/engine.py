"""``Assistant``: the one object the CLI, the web app and the evaluation talk to.

A question travels down the stages once: validation → conversation (resolve a follow-up) →
retrieval (passages with their sentences) → reading (the answer phrase and its evidence, or an
abstention) → composition (the answer text with citations).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from assistant.errors import BackendUnavailable, InvalidInput
from assistant.settings import ANSWER_BACKENDS, ReaderSettings, Settings, get_settings
from assistant.types import Answer, IngestSummary, Passage, Removal
from assistant.validation import (
    check_date,
    check_date_range,
    check_flag,
    check_history,
    check_path,
    check_progress,
    check_question,
    check_sources,
    check_text_id,
)


@dataclass
class Retrieved:
    """A question resolved against its conversation, with the passages retrieved for it."""

    resolved: Any  # conversation.ResolvedQuestion
    filters: Any  # retrieval.SearchFilters
    query_vector: Any  # numpy vector of the search query, None when nothing was searched
    passages: list[Passage]
    notice: str = ""  # e.g. invalid characters in the question were repaired
    asked: str = ""  # the question as the user put it (checked), before any rewriting


def concluded(retrieved: Retrieved, read, writer=None, on_token=None,
              evidence_sentences: int = 0) -> Answer:  # fmt: skip
    """The answer to ``retrieved``: the reader's (``read()`` gives its ``Reading``), composed
    and, with an LLM ``writer``, rewritten from its evidence (not when the reader abstains)."""
    from assistant.answering import abstention, compose

    resolved = retrieved.resolved
    if resolved.unresolved:
        from assistant.conversation import clarifying_question

        answer = abstention(resolved, None, [], text=clarifying_question(resolved.unresolved))
    else:
        reading = read()
        answer = compose(resolved, reading, retrieved.passages)
        if writer is not None and not answer.abstained:
            answer = _generate(writer, resolved, reading, answer, on_token, evidence_sentences)
    if retrieved.notice:
        answer.notice = " ".join(x for x in (retrieved.notice, answer.notice) if x)
    answer.question = retrieved.asked or answer.question
    return answer


def _span(resolved) -> str:
    start, end = resolved.date_range
    return start.isoformat() if start == end else f"{start.isoformat()} to {end.isoformat()}"


def _settings(settings: Settings | dict[str, Any] | None) -> Settings:
    """Settings, with a bad value (argument or ASSISTANT_... variable) as a one-line error."""
    from pydantic import ValidationError

    try:
        return get_settings(settings)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidInput(
            f"Setting {where or 'settings'} is invalid: {first['msg']} "
            "(check the argument or the ASSISTANT_... environment variables)."
        ) from None
    except TypeError:
        raise InvalidInput("settings must be a Settings object or a dict of overrides.") from None


class Assistant:
    """An index of news articles that answers questions with cited passages.

    ``data_dir`` overrides where the embedded Chroma database lives (None: from settings).
    Opening never builds anything: ``ingest`` creates the index, ``ask`` needs one.
    """

    def __init__(
        self,
        data_dir: str | Path | None = None,
        settings: Settings | dict[str, Any] | None = None,
        embed_model=None,
        llm=None,
    ) -> None:
        """``llm``: a llama-index LLM for the 'local'/'openai' backends instead of the one the
        settings describe (tests, other runtimes)."""
        self.settings = _settings(settings)
        if data_dir is not None:
            self.settings = self.settings.model_copy(deep=True)
            self.settings.store.data_dir = check_path(data_dir, "data_dir")
        self._embed_model = embed_model
        self._store = None
        self._retriever = None
        self._llm = llm
        self._backends: dict[str, Any] = {}
        self._parsing = False  # a background parse runs (``parse_sentences``)
        self._parse_queue: list[list[str] | None] = []  # what it is asked to parse next
        self._lock = threading.RLock()
        self._pool = None  # answering worker processes (``answer_in_workers``)
        self._changed = None  # the index generation after this object's last change to it
        self._forked = None  # a process loading the reader for one question (``read_in_a_fork``)
        self._parses_used = False  # the parser is loaded, the stored parses registered

    # --- components, built on first use ---

    @property
    def embed_model(self):
        if self._embed_model is None:
            from assistant.embedding import load_embedding

            self._embed_model = load_embedding(
                self.settings.embedding.model, self.settings.embedding.batch_size
            )
        return self._embed_model

    def _open(self, create: bool = False):
        from assistant.store import Store

        if self._store is not None:  # no lock: a page asking for it waits for no warm-up
            return self._store
        with self._lock:
            if self._store is None:
                self._store = Store(self.settings, create=create)
            return self._store

    @property
    def store(self):
        return self._open()

    @property
    def retriever(self):
        from assistant.retrieval import HybridRetriever

        with self._lock:  # an ingest holds it: questions wait for its end
            if self._retriever is None:
                self._retriever = HybridRetriever(self.store, self.embed_model, self.settings)
            return self._retriever

    def _parses_path(self) -> Path:
        from assistant.localindex import local_folder
        from assistant.parses import FILENAME

        folder = local_folder(self.settings)  # beside it: a save drops files it does not name
        return folder.with_name(f"{folder.name}.{FILENAME}")

    def _use_parses(self) -> None:
        """Load the parser and consult the index's stored parses (once)."""
        from assistant.nlp import use_store

        if not self._parses_used:
            use_store(self._parses_path())
            self._parses_used = True

    def answer_backend(self, name: str):
        """The ``AnswerBackend`` called ``name``, built once (a local model loads on first use)."""
        from assistant.generation import make_backend

        with self._lock:
            if name not in self._backends:
                self._backends[name] = make_backend(name, self.settings, self._llm)
            return self._backends[name]

    def answer_in_workers(self, workers: int) -> None:
        """Answer extractive questions in ``workers`` separate processes (see
        ``assistant.workers``), which start loading now, one after the other. Until one is
        ready, a question waits for it while this object has loaded nothing to answer with
        (the app builds its page meanwhile), and is answered here otherwise; so is one that
        no worker can answer."""
        from assistant.workers import AnswerPool

        with self._lock:
            if self._pool is None and workers > 0:
                self._pool = AnswerPool(self.settings, workers)

    def close_workers(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    def warm_up(self) -> None:
        """Load everything a first question needs (models, indexes), so it answers quickly;
        and keep NumPy's BLAS on one thread, as suits a process that answers questions."""
        from assistant.encoder import serve_on_one_blas_thread
        from assistant.reading import warm_up

        self.retriever.retrieve("warm up", top_k=1)
        self._use_parses()
        warm_up()
        serve_on_one_blas_thread()  # after the libraries that bring their own BLAS are loaded

    def _local_index(self, store):
        """The in-memory mirror of the index, brought in line with ``store`` if need be."""
        from assistant.localindex import local_folder, sync_local_index

        if self._retriever is not None:
            return self._retriever.local
        cfg = self.settings.retrieval
        return sync_local_index(None, store, local_folder(self.settings), cfg.bm25_k1, cfg.bm25_b)

    def _save_local_index(self, store, local) -> None:
        """Persist the mirror after a change and hand it to the retriever."""
        from assistant.localindex import local_folder

        before, local.generation = local.generation, store.generation()
        self._changed = local.generation
        local.save(local_folder(self.settings))
        if self._retriever is not None:
            self._retriever.reload(local)
        if self._pool is not None and local.generation != before:
            self._pool.renew()  # workers load the changed index now

    # --- public API ---

    def ingest(self, path: str | Path | None, sync: bool = False, progress=True) -> IngestSummary:
        """Add, update (and with ``sync`` remove) the articles under ``path``."""
        from assistant.indexing import ingest

        path = check_path(path, "path")
        sync, progress = check_flag(sync, "sync"), check_progress(progress)
        with self._lock:
            store = self._open(create=True)
            local = self._local_index(store)
            summary = ingest(store, self.embed_model, local, self.settings, path, sync,
                             progress)  # fmt: skip
            self._save_local_index(store, local)
        return summary

    def remove(self, article_id: str, corpus_dir: str | Path | None = None) -> Removal:
        """Take one article out of the index; with ``corpus_dir``, also delete its file when
        it lies there and holds only this article (``indexing.remove``)."""
        from assistant.indexing import remove

        article_id = check_text_id(article_id, "article_id")
        if corpus_dir is not None:
            corpus_dir = check_path(corpus_dir, "corpus_dir")
        with self._lock:
            store = self._open(create=False)
            local = self._local_index(store)
            removal = remove(store, local, article_id, corpus_dir)
            self._save_local_index(store, local)
        return removal

    def ask(
        self,
        question: str,
        history: Any = None,
        as_of: date | str | None = None,
        date_from: date | str | None = None,
        sources: str | list[str] | tuple[str, ...] | None = None,
        backend: str | None = None,
        on_token=None,
    ) -> Answer:
        """Answer ``question`` from the articles; ``history`` holds the earlier turns.

        ``backend`` ('extractive', 'local', 'openai'; default from settings) writes the answer
        from the reader's evidence; ``on_token(text)`` receives an LLM's answer as it streams
        (before verification). Every argument is checked first (``assistant.validation``): a
        bad one raises ``InvalidInput``/``InvalidQuestion`` with a one-line message; repaired
        text is noted in ``answer.notice``.
        """
        name = (backend or self.settings.answer.backend).strip().lower()
        if name not in ANSWER_BACKENDS:
            raise BackendUnavailable(
                f"Unknown answer backend {name!r}: use one of {', '.join(ANSWER_BACKENDS)}."
            )
        pool = self._pool
        if name == "extractive" and pool is not None:
            check_question(question, self.settings.answer.max_question_chars)  # before pickling
            if self._retriever is not None:  # the index as this object sees it now
                generation = self.retriever.local.generation
            else:  # nothing loaded here yet: None, unless this object has changed the index
                generation = self._changed

            def loading() -> bool:  # nothing loaded here to answer with yet
                return self._retriever is None or not self._parses_used

            answer = pool.ask(generation, wait=loading,
                              question=question, history=history, as_of=as_of,
                              date_from=date_from, sources=sources, backend=name)  # fmt: skip
            if answer is not None:
                return answer  # else no worker could: answered here
        forked, self._forked = self._forked, None  # it reads one question
        try:
            writer, notice = (None, "") if name == "extractive" else self._llm_writer(name)
            retrieved = self.prepare(question, history, as_of, date_from, sources, writer)
            if notice:
                retrieved.notice = " ".join(x for x in (retrieved.notice, notice) if x)
            if forked is not None and writer is None:
                reader = self.settings.reader
                answer = forked.conclude(retrieved, reader, self._focus_idf(retrieved, reader))
                if answer is not None:
                    return answer  # else it could not: read here
        finally:
            if forked is not None:
                forked.close()
        return self.conclude(retrieved, writer=writer, on_token=on_token)

    def prepare(
        self,
        question: str,
        history: Any = None,
        as_of: date | str | None = None,
        date_from: date | str | None = None,
        sources: str | list[str] | tuple[str, ...] | None = None,
        writer=None,
    ) -> Retrieved:
        """The first half of ``ask``: check, resolve the question and retrieve its passages.

        With an LLM ``writer``, a follow-up is rewritten by it as a standalone question."""
        from assistant.conversation import resolve
        from assistant.retrieval import SearchFilters

        checked = check_question(question, self.settings.answer.max_question_chars)
        as_of, date_from = check_date(as_of, "as_of"), check_date(date_from, "date_from")
        check_date_range(date_from, as_of)
        filters = SearchFilters(as_of=as_of, date_from=date_from, sources=check_sources(sources))
        turns = check_history(history)
        retriever = self.retriever
        resolved = resolve(checked.text, turns, as_of=filters.as_of)
        notice = checked.notice
        if writer is not None and resolved.context and self.settings.llm.rewrite_follow_ups:
            resolved, why = _rewrite_follow_up(writer, resolved, turns)
            notice = " ".join(x for x in (notice, why) if x)
        if resolved.unresolved:
            return Retrieved(resolved, filters, None, [], notice, checked.text)
        if resolved.date_range and not filters.date_from:
            start, end = resolved.date_range
            margin = timedelta(days=self.settings.reader.date_margin_days)
            filters = SearchFilters(as_of=min(end, filters.as_of or end),
                                    date_from=start - margin, sources=filters.sources)  # fmt: skip
        query_vector = self.embed_model.query_vector(resolved.search_query)
        passages = retriever.retrieve(resolved.search_query, filters, None, query_vector)
        if not passages and resolved.date_range:  # "on Sunday" in a corpus of other years
            notice = " ".join(x for x in (notice, f"Nothing indexed is dated {_span(resolved)}; "
                                          "all dates were searched instead.") if x)  # fmt: skip
            resolved = replace(resolved, date_range=None, date_phrase="")
            filters = SearchFilters(as_of=as_of, date_from=date_from, sources=filters.sources)
            passages = retriever.retrieve(resolved.search_query, filters, None, query_vector)
        return Retrieved(resolved, filters, query_vector, passages, notice, checked.text)

    def conclude(self, retrieved: Retrieved, reader: ReaderSettings | None = None,
                 writer=None, on_token=None) -> Answer:  # fmt: skip
        """The second half of ``ask``: read the passages and compose the answer; an LLM
        ``writer`` rewrites it from the reader's evidence (not called when the reader abstains)."""
        return concluded(retrieved, lambda: self.read(retrieved, reader), writer, on_token,
                         self.settings.llm.evidence_sentences)  # fmt: skip

    def read_in_a_fork(self) -> None:
        """For a one-shot command: a forked process loads the reader (spaCy, the stored parses)
        now, while this one loads retrieval; the next extractive question is read there
        (``assistant.oneshot``). Call it before anything heavy is loaded."""
        from assistant.oneshot import ForkedReader

        with self._lock:
            if self._forked is None and self._retriever is None and ForkedReader.available():
                self._forked = ForkedReader(self.settings, self._parses_path())

    def _focus_idf(self, retrieved: Retrieved, reader: ReaderSettings) -> dict[str, float]:
        """The weight of each word the reader weighs for this question
        (``matching.focus_words``), from this index."""
        from assistant.matching import focus_words

        resolved = retrieved.resolved
        local = self.retriever.local
        return {term: local.idf(term, reader.idf_prior_docs)
                for term in focus_words(resolved.question, resolved.referents)}  # fmt: skip

    def _llm_writer(self, backend: str):
        """(the LLM backend, "") or (None, why not) when it cannot be set up."""
        try:
            return self.answer_backend(backend), ""
        except BackendUnavailable as exc:
            return None, f"{exc} Showing the extractive answer instead."

    def read(self, retrieved: Retrieved, reader: ReaderSettings | None = None):
        """What the reader makes of the retrieved passages (``reading.Reading``)."""
        from assistant.reading import read

        self._use_parses()  # the parser loads here, on the first question, or in ``warm_up``
        return read(retrieved.resolved, retrieved.passages, retrieved.query_vector,
                    self.retriever.local, self.embed_model,
                    reader or self.settings.reader)  # fmt: skip

    def articles(self):
        """The indexed articles' records, newest first."""
        records = list(self.store.article_records().values())
        return sorted(records, key=lambda r: (r.published_at, r.title), reverse=True)

    def article_text(self, article_id: str) -> str | None:
        return self.store.article_text(check_text_id(article_id, "article_id"))

    def parse_sentences(self, progress=True, background: bool = False,
                        articles: list[str] | None = None) -> int:  # fmt: skip
        """Store the parse of every indexed sentence that has none (``assistant.parses``) and
        drop those of sentences no longer indexed; how many sentences were parsed. ``articles``:
        only those articles' sentences (just uploaded; nothing dropped). With ``background``,
        returns at once: a thread finds the sentences and a low-priority process parses them
        (one at a time; what is asked for meanwhile is done after it); without, they are parsed
        on every core."""
        progress = check_progress(progress)
        if articles is not None:
            articles = [check_text_id(a, "article id") for a in articles]
        if background:
            with self._lock:
                self._parse_queue.append(articles)
                if self._parsing:
                    return 0
                self._parsing = True
                try:
                    threading.Thread(target=self._parse_in_background, daemon=True).start()
                except RuntimeError:  # no thread to be had: answers parse as they need
                    self._parsing = False
                    self._parse_queue.clear()
            return 0
        with self._parse_store() as parses:
            generation, todo = self._unparsed(parses, articles)
            complete = True
            if todo:
                from assistant.parses import fill_parallel

                # a bar on the terminal only: ingest's progress callbacks count articles
                complete = fill_parallel(parses, todo, progress is True)
            if generation and complete:
                parses.complete(generation)
        return len(todo)

    def _parse_store(self):
        """The index's stored parses (``assistant.parses``), closed after a ``with``."""
        from contextlib import closing

        from assistant.nlp import pipeline
        from assistant.parses import ParseStore, pipeline_id

        return closing(ParseStore(self._parses_path(), pipeline_id(pipeline())))

    def _unparsed(self, parses, articles: list[str] | None = None) -> tuple[str, list[str]]:
        """The index generation these sentences complete ('' for some articles only) and the
        sentences to parse: none, without reading the index, when the generation is complete
        already."""
        from assistant.parses import index_sentences, missing

        store = self._open(create=False)
        if articles is not None:
            chunks = ((i, t, m) for i, t, m, _ in store.chunks_of(articles, embeddings=False))
            return "", missing(parses, index_sentences(chunks))
        generation = store.generation()
        if generation and parses.generation == generation:
            return generation, []
        todo = missing(parses, index_sentences(store.iter_chunks()), prune=True)
        if store.generation() != generation or store.pending():
            generation = ""  # the index changed during the walk: the next one completes it
        return generation, todo

    def _parse_in_background(self) -> None:
        import logging

        from assistant.parses import run_worker

        while True:
            with self._lock:
                if not self._parse_queue:
                    self._parsing = False
                    return
                queued, self._parse_queue = self._parse_queue, []
            # the whole index once if asked for, else the articles asked for
            articles = None if None in queued else sorted({a for q in queued for a in q})
            try:
                with self._parse_store() as parses:
                    generation, todo = self._unparsed(parses, articles)
                    if not todo and generation:
                        parses.complete(generation)
                if todo:
                    run_worker(self._parses_path(), todo, generation)
            except Exception as exc:  # a background convenience: answers parse without it
                logging.getLogger(__name__).warning("Parsing in the background failed: %s", exc)

    def stats(self) -> dict[str, int]:
        store = self.store
        return {"articles": store.articles.count(), "chunks": store.chunk_count()}


def _generate(writer, resolved, reading, answer: Answer, on_token, limit: int) -> Answer:
    """The LLM's answer from the reader's evidence sentences, verified; the extractive answer
    with a notice when the model cannot be reached or nothing it wrote checks out."""
    from assistant.answering import citation
    from assistant.generation import compose_answer

    evidence = [citation(n, s) for n, s in enumerate(reading.evidence[:limit], start=1)]
    try:
        generated = writer.write(resolved.question, evidence, on_token)
    except BackendUnavailable as exc:
        answer.notice = f"{exc} Showing the extractive answer instead."
        return answer
    return compose_answer(answer, generated)


def _rewrite_follow_up(writer, resolved, turns):
    """(the follow-up as a standalone question, notice) — the LLM names what it refers to."""
    try:
        rewritten = writer.rewrite(resolved.question, [(t.question, t.answer) for t in turns])
    except BackendUnavailable as exc:
        return resolved, f"{exc} The follow-up was resolved without it."
    if not rewritten or rewritten == resolved.question:
        return resolved, ""
    return replace(resolved, question=rewritten, search_query=rewritten, context="",
                   referents=()), ""  # fmt: skip
