"""``Assistant``: the one object the CLI, the web app and the evaluation talk to."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path
from typing import Any

from assistant.errors import BackendUnavailable, InvalidQuestion
from assistant.settings import ANSWER_BACKENDS, Settings, get_settings
from assistant.types import Answer, Citation, IngestSummary


def _as_date(value: date | str | None, name: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidQuestion(f"{name} must be a date YYYY-MM-DD, not {value!r}.") from None


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
        """``llm``: a llama-index LLM to use for the 'local'/'openai' backends instead of the
        one the settings describe (tests, other runtimes)."""
        self.settings = get_settings(settings)
        if data_dir is not None:
            self.settings = self.settings.model_copy(deep=True)
            self.settings.store.data_dir = Path(data_dir)
        self._embed_model = embed_model
        self._store = None
        self._retriever = None
        self._sentences = None
        self._llm = llm
        self._backends: dict[str, Any] = {}
        self._lock = threading.RLock()

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

        with self._lock:
            if self._store is None:
                self._store = Store(self.settings, create=create)
            return self._store

    @property
    def store(self):
        return self._open()

    @property
    def sentences(self):
        from assistant.answering import SentenceEmbeddings

        with self._lock:
            if self._sentences is None:
                self._sentences = SentenceEmbeddings(self.embed_model)
            return self._sentences

    @property
    def retriever(self):
        from assistant.retrieval import HybridRetriever

        with self._lock:
            if self._retriever is None:
                self._retriever = HybridRetriever(self.store, self.embed_model, self.settings)
            return self._retriever

    def answer_backend(self, name: str):
        """The ``AnswerBackend`` called ``name``, built once (a local model loads on first use)."""
        from assistant.generation import make_backend

        with self._lock:
            if name not in self._backends:
                self._backends[name] = make_backend(name, self.settings, self._llm)
            return self._backends[name]

    # --- public API ---

    def ingest(self, path: str | Path, sync: bool = False, progress=True) -> IngestSummary:
        """Add, update (and with ``sync`` remove) the articles under ``path``."""
        from assistant.indexing import ingest

        with self._lock:
            store = self._open(create=True)
            summary = ingest(store, self.embed_model, self.settings, path, sync, progress)
            if self._retriever is not None:
                self._retriever.refresh()
        return summary

    def ask(
        self,
        question: str,
        history: Any = None,
        as_of: date | str | None = None,
        date_from: date | str | None = None,
        sources: list[str] | tuple[str, ...] | None = None,
        backend: str | None = None,
        on_token=None,
    ) -> Answer:
        """Answer ``question`` from the articles; ``history`` holds the earlier turns.

        ``backend`` ('extractive', 'local', 'openai'; default from settings) writes the answer;
        ``on_token(text)`` receives an LLM's answer as it streams (before verification).
        """
        from assistant.answering import compose, missing_share, score_candidates
        from assistant.conversation import normalize_history, resolve
        from assistant.generation import compose_answer
        from assistant.retrieval import SearchFilters

        question = self._check_question(question)
        backend = (backend or self.settings.answer.backend).strip().lower()
        if backend not in ANSWER_BACKENDS:
            raise BackendUnavailable(
                f"Unknown answer backend {backend!r}: use one of {', '.join(ANSWER_BACKENDS)}."
            )
        filters = SearchFilters(
            as_of=_as_date(as_of, "as_of"),
            date_from=_as_date(date_from, "date_from"),
            sources=tuple(sources or ()),
        )
        retriever = self.retriever
        vocab = retriever.ensure_ready()
        turns = normalize_history(history)
        resolved = resolve(question, turns, len(vocab.terms(question)))
        writer, notice = None, ""
        if backend != "extractive":
            writer, notice = self._llm_writer(backend)
            if writer is not None and resolved.context and self.settings.llm.rewrite_follow_ups:
                resolved, notice = _rewrite_follow_up(writer, resolved, turns)
        query_embedding = self.embed_model.get_query_embedding(resolved.search_query)
        passages = retriever.retrieve(resolved.search_query, filters, None, query_embedding)
        candidates = score_candidates(resolved, passages, vocab, self.sentences, query_embedding)
        missing = missing_share(resolved, passages, vocab)
        answer = compose(resolved, candidates, self.settings.answer, passages, missing)
        answer.question = question
        if writer is None or answer.abstained:  # no model, or no evidence: the model is not called
            answer.notice = notice
            return answer
        llm = self.settings.llm
        evidence = _evidence_for_llm(candidates, llm.evidence_sentences)
        try:
            generated = writer.write(resolved.question, evidence, on_token)
        except BackendUnavailable as exc:
            answer.notice = f"{exc} Showing the quoted sentences instead."
            return answer
        return compose_answer(answer, generated)

    def _llm_writer(self, backend: str):
        """(the LLM backend, "") or (None, why not) when it cannot be set up."""
        try:
            return self.answer_backend(backend), ""
        except BackendUnavailable as exc:
            return None, f"{exc} Showing the quoted sentences instead."

    def _check_question(self, question: str) -> str:
        if not isinstance(question, str) or not question.strip():
            raise InvalidQuestion("The question is empty: type a question about the articles.")
        question = " ".join(question.split())
        limit = self.settings.answer.max_question_chars
        if len(question) > limit:
            raise InvalidQuestion(
                f"The question is {len(question):,} characters long; the limit is {limit:,}. "
                "Ask something shorter."
            )
        return question

    def articles(self):
        """The indexed articles' records, newest first."""
        records = list(self.store.article_records().values())
        return sorted(records, key=lambda r: (r.published_at, r.title), reverse=True)

    def article_text(self, article_id: str) -> str | None:
        return self.store.article_text(article_id)

    def stats(self) -> dict[str, int]:
        store = self.store
        return {"articles": store.articles.count(), "chunks": store.chunk_count()}


# --- glue between the extractive reader and the LLM backends (the reader will supply evidence) ---


def _evidence_for_llm(candidates, limit: int) -> list[Citation]:
    """The scorer's best sentences as numbered evidence (the backend trims them to its budget).

    A stand-in for the reader's evidence selection: any list of verbatim ``Citation`` works.
    """
    evidence = []
    for cand in candidates[:limit]:
        p = cand.passage
        evidence.append(
            Citation(
                n=len(evidence) + 1,
                article_id=p.article_id,
                chunk_id=p.chunk_id,
                title=p.title,
                source=p.source,
                published_at=p.published_at,
                url=p.url,
                quote=cand.text,
                start=cand.start,
                end=cand.end,
                passage=p.text,
                passage_start=p.start,
            )
        )
    return evidence


def _rewrite_follow_up(writer, resolved, turns):
    """(the follow-up as a standalone question for retrieval and the model, notice)."""
    from assistant.conversation import ResolvedQuestion

    try:
        rewritten = writer.rewrite(resolved.question, [(t.question, t.answer) for t in turns])
    except BackendUnavailable as exc:
        return resolved, f"{exc} The follow-up was resolved without it."
    if rewritten == resolved.question:
        return resolved, ""
    return ResolvedQuestion(rewritten, rewritten, "", resolved.previous_answers), ""
