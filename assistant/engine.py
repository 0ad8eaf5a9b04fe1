"""``Assistant``: the one object the CLI, the web app and the evaluation talk to."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path
from typing import Any

from assistant.errors import InvalidQuestion
from assistant.settings import Settings, get_settings
from assistant.types import Answer, IngestSummary


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
    ) -> None:
        self.settings = get_settings(settings)
        if data_dir is not None:
            self.settings = self.settings.model_copy(deep=True)
            self.settings.store.data_dir = Path(data_dir)
        self._embed_model = embed_model
        self._store = None
        self._retriever = None
        self._sentences = None
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
    ) -> Answer:
        """Answer ``question`` from the articles; ``history`` holds the earlier turns."""
        from assistant.answering import compose, missing_share, score_candidates
        from assistant.conversation import normalize_history, resolve
        from assistant.retrieval import SearchFilters

        question = self._check_question(question)
        filters = SearchFilters(
            as_of=_as_date(as_of, "as_of"),
            date_from=_as_date(date_from, "date_from"),
            sources=tuple(sources or ()),
        )
        retriever = self.retriever
        vocab = retriever.ensure_ready()
        turns = normalize_history(history)
        resolved = resolve(question, turns, len(vocab.terms(question)))
        query_embedding = self.embed_model.get_query_embedding(resolved.search_query)
        passages = retriever.retrieve(resolved.search_query, filters, None, query_embedding)
        candidates = score_candidates(resolved, passages, vocab, self.sentences, query_embedding)
        missing = missing_share(resolved, passages, vocab)
        return compose(resolved, candidates, self.settings.answer, passages, missing)

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
