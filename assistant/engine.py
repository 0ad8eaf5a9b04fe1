"""``Assistant``: the one object the CLI, the web app and the evaluation talk to.

A question travels down the stages once: conversation (resolve a follow-up) → retrieval
(passages with their sentences) → reading (the answer phrase and its evidence, or an
abstention) → composition (the answer text with citations).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from assistant.errors import InvalidQuestion
from assistant.settings import ReaderSettings, Settings, get_settings
from assistant.types import Answer, IngestSummary, Passage


@dataclass
class Retrieved:
    """A question resolved against its conversation, with the passages retrieved for it."""

    resolved: Any  # conversation.ResolvedQuestion
    filters: Any  # retrieval.SearchFilters
    query_vector: Any  # numpy vector of the search query, None when nothing was searched
    passages: list[Passage]


def _as_date(value: date | str | None, name: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
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
    def retriever(self):
        from assistant.retrieval import HybridRetriever

        with self._lock:
            if self._retriever is None:
                self._retriever = HybridRetriever(self.store, self.embed_model, self.settings)
            return self._retriever

    def warm_up(self) -> None:
        """Load everything a first question needs (models, indexes), so it answers quickly."""
        from assistant.reading import warm_up

        self.retriever.retrieve("warm up", top_k=1)
        warm_up()

    # --- public API ---

    def ingest(self, path: str | Path | None, sync: bool = False, progress=True) -> IngestSummary:
        """Add, update (and with ``sync`` remove) the articles under ``path``."""
        from assistant.indexing import ingest
        from assistant.keywords import sync_keywords
        from assistant.retrieval import keyword_folder

        cfg = self.settings.retrieval
        with self._lock:
            store = self._open(create=True)
            folder = keyword_folder(self.settings)
            keywords = (
                self._retriever.keywords
                if self._retriever is not None
                else sync_keywords(None, store, folder, cfg.bm25_k1, cfg.bm25_b)
            )
            summary = ingest(store, self.embed_model, keywords, self.settings, path, sync,
                             progress)  # fmt: skip
            keywords.generation = store.generation()
            keywords.save(folder)
            if self._retriever is not None:
                self._retriever.reload(keywords)
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
        return self.conclude(self.prepare(question, history, as_of, date_from, sources))

    def prepare(
        self,
        question: str,
        history: Any = None,
        as_of: date | str | None = None,
        date_from: date | str | None = None,
        sources: list[str] | tuple[str, ...] | None = None,
    ) -> Retrieved:
        """The first half of ``ask``: resolve the question and retrieve its passages."""
        from assistant.conversation import normalize_history, resolve
        from assistant.retrieval import SearchFilters

        question = self._check_question(question)
        filters = SearchFilters(
            as_of=_as_date(as_of, "as_of"),
            date_from=_as_date(date_from, "date_from"),
            sources=tuple(sources or ()),
        )
        retriever = self.retriever
        resolved = resolve(question, normalize_history(history), as_of=filters.as_of)
        if resolved.unresolved:
            return Retrieved(resolved, filters, None, [])
        if resolved.date_range and not filters.date_from:
            start, end = resolved.date_range
            margin = timedelta(days=self.settings.reader.date_margin_days)
            filters = SearchFilters(as_of=min(end, filters.as_of or end),
                                    date_from=start - margin, sources=filters.sources)  # fmt: skip
        query_vector = self.embed_model.query_vector(resolved.search_query)
        passages = retriever.retrieve(resolved.search_query, filters, None, query_vector)
        return Retrieved(resolved, filters, query_vector, passages)

    def conclude(self, retrieved: Retrieved, reader: ReaderSettings | None = None) -> Answer:
        """The second half of ``ask``: read the passages and compose the answer."""
        from assistant.answering import abstention, compose

        resolved = retrieved.resolved
        if resolved.unresolved:
            return abstention(resolved, None, [], text=(
                f"What does “{resolved.unresolved}” refer to? Nothing earlier in this "
                "conversation says: ask again with the name of who or what you mean."))  # fmt: skip
        return compose(resolved, self.read(retrieved, reader), retrieved.passages)

    def read(self, retrieved: Retrieved, reader: ReaderSettings | None = None):
        """What the reader makes of the retrieved passages (``reading.Reading``)."""
        from assistant.reading import read

        return read(retrieved.resolved, retrieved.passages, retrieved.query_vector,
                    self.retriever.keywords, self.embed_model,
                    reader or self.settings.reader)  # fmt: skip

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
