"""``Assistant``: the one object the CLI, the web app and the evaluation talk to."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path
from typing import Any

from assistant.errors import InvalidInput
from assistant.settings import Settings, get_settings
from assistant.types import Answer, IngestSummary, Removal
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
    ) -> None:
        self.settings = _settings(settings)
        if data_dir is not None:
            self.settings = self.settings.model_copy(deep=True)
            self.settings.store.data_dir = check_path(data_dir, "data_dir")
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

        path = check_path(path, "path")
        sync, progress = check_flag(sync, "sync"), check_progress(progress)
        with self._lock:
            store = self._open(create=True)
            summary = ingest(store, self.embed_model, self.settings, path, sync, progress)
            if self._retriever is not None:
                self._retriever.refresh()
        return summary

    def remove(self, article_id: str, corpus_dir: str | Path | None = None) -> Removal:
        """Take one article out of the index; with ``corpus_dir``, also delete its file when
        it lies there and holds only this article (``indexing.remove``)."""
        from assistant.indexing import remove

        article_id = check_text_id(article_id, "article_id")
        if corpus_dir is not None:
            corpus_dir = check_path(corpus_dir, "corpus_dir")
        with self._lock:
            removal = remove(self.store, article_id, corpus_dir)
            if self._retriever is not None:
                self._retriever.refresh()
        return removal

    def ask(
        self,
        question: str,
        history: Any = None,
        as_of: date | str | None = None,
        date_from: date | str | None = None,
        sources: str | list[str] | tuple[str, ...] | None = None,
    ) -> Answer:
        """Answer ``question`` from the articles; ``history`` holds the earlier turns.

        Every argument is checked first (``assistant.validation``): a bad one raises
        ``InvalidInput``/``InvalidQuestion`` with a one-line message; repaired text is noted in
        ``answer.notice``.
        """
        from assistant.answering import compose, missing_share, score_candidates
        from assistant.conversation import resolve
        from assistant.retrieval import SearchFilters

        checked = check_question(question, self.settings.answer.max_question_chars)
        question = checked.text
        as_of, date_from = check_date(as_of, "as_of"), check_date(date_from, "date_from")
        check_date_range(date_from, as_of)
        filters = SearchFilters(as_of=as_of, date_from=date_from, sources=check_sources(sources))
        turns = check_history(history)
        retriever = self.retriever
        vocab = retriever.ensure_ready()
        resolved = resolve(question, turns, len(vocab.terms(question)))
        query_embedding = self.embed_model.get_query_embedding(resolved.search_query)
        passages = retriever.retrieve(resolved.search_query, filters, None, query_embedding)
        candidates = score_candidates(resolved, passages, vocab, self.sentences, query_embedding)
        missing = missing_share(resolved, passages, vocab)
        answer = compose(resolved, candidates, self.settings.answer, passages, missing)
        if checked.notice:
            answer.notice = " ".join(x for x in (checked.notice, answer.notice) if x)
        return answer

    def articles(self):
        """The indexed articles' records, newest first."""
        records = list(self.store.article_records().values())
        return sorted(records, key=lambda r: (r.published_at, r.title), reverse=True)

    def article_text(self, article_id: str) -> str | None:
        return self.store.article_text(check_text_id(article_id, "article_id"))

    def stats(self) -> dict[str, int]:
        store = self.store
        return {"articles": store.articles.count(), "chunks": store.chunk_count()}
