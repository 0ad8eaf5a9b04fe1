"""Hybrid retrieval through llama-index: dense (Chroma) and BM25, fused by reciprocal rank.

Filters (date range, sources) apply to both rankings; with an as-of date, older articles are
down-weighted, since a news question is usually about the latest events.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass, field
from datetime import date

from assistant.settings import Settings
from assistant.store import Store, date_key
from assistant.types import Passage

_TOKEN = re.compile(r"(?u)\b\w\w+\b")
# Words that shape a question but say nothing about its topic.
QUESTION_STOPWORDS = {
    "who", "whom", "whose", "what", "when", "where", "which", "why", "how", "many", "much",
    "was", "were", "is", "are", "be", "been", "did", "does", "do", "done", "has", "have", "had",
    "recently", "recent", "reportedly", "according", "said", "says", "say", "tell", "told",
    "name", "named", "called", "one", "new", "week", "last", "this", "that", "these", "those",
    "there", "their", "they", "them", "it", "its", "he", "she", "his", "her", "about", "also",
    "would", "will", "could", "can", "may", "might", "should", "just", "some", "any",
}  # fmt: skip
# Pseudo-documents added to the document count, so a tiny corpus still gives sane weights.
_IDF_PRIOR_DOCS = 1000


@dataclass(frozen=True)
class SearchFilters:
    """Restrictions on which articles may serve as evidence."""

    as_of: date | None = None  # published on or before
    date_from: date | None = None
    sources: tuple[str, ...] = field(default_factory=tuple)

    def llama_filters(self):
        from llama_index.core.vector_stores import (
            FilterCondition,
            FilterOperator,
            MetadataFilter,
            MetadataFilters,
        )

        parts = []
        if self.as_of:
            parts.append(MetadataFilter(key="published_ts", value=_ts(self.as_of),
                                        operator=FilterOperator.LTE))  # fmt: skip
        if self.date_from:
            parts.append(MetadataFilter(key="published_ts", value=_ts(self.date_from),
                                        operator=FilterOperator.GTE))  # fmt: skip
        if self.sources:
            parts.append(MetadataFilter(key="source", value=list(self.sources),
                                        operator=FilterOperator.IN))  # fmt: skip
        if not parts:
            return None
        return MetadataFilters(filters=parts, condition=FilterCondition.AND)


def _ts(day: date) -> int:
    return date_key(day.isoformat())


class Vocabulary:
    """Tokenizer and inverse document frequencies shared with the BM25 index."""

    def __init__(self, stemmer, stopwords: set[str], df: dict[str, int], n_docs: int) -> None:
        self._stem = stemmer.stemWord
        self.stopwords = stopwords
        self.df = df
        self.n_docs = max(n_docs, 1)

    def terms(self, text: str) -> list[str]:
        """Stemmed content words of ``text``, in order."""
        words = (w for w in _TOKEN.findall(text.lower()) if w not in self.stopwords)
        return [self._stem(w) for w in words]

    def names(self, text: str) -> set[str]:
        """Stemmed words written with a capital inside ``text`` (not its first word)."""
        words = _TOKEN.findall(text)[1:]
        return {self._stem(w.lower()) for w in words if w[0].isupper()}

    def idf(self, term: str) -> float:
        df = self.df.get(term, 0)
        return math.log(1 + (self.n_docs + _IDF_PRIOR_DOCS - df + 0.5) / (df + 0.5))


class HybridRetriever:
    """Dense + BM25 retrieval over one store; rebuild the BM25 side with ``refresh()``."""

    def __init__(self, store: Store, embed_model, settings: Settings) -> None:
        from llama_index.core import VectorStoreIndex

        self.store = store
        self.embed_model = embed_model
        self.settings = settings
        self._index = VectorStoreIndex.from_vector_store(
            store.vector_store(), embed_model=embed_model
        )
        self._lock = threading.Lock()
        self._bm25 = None
        self._columns: tuple | None = None
        self._masks: dict[SearchFilters, tuple[list[int] | None, int]] = {}
        self.vocabulary: Vocabulary | None = None

    def refresh(self) -> None:
        with self._lock:
            self._bm25 = None
            self._masks.clear()

    def _ensure_bm25(self) -> None:
        import numpy as np
        import Stemmer
        from bm25s.stopwords import STOPWORDS_EN
        from llama_index.core.vector_stores.utils import metadata_dict_to_node
        from llama_index.retrievers.bm25 import BM25Retriever

        if self._bm25 is not None:
            return
        nodes = [
            metadata_dict_to_node(meta, text=text) for _, text, meta in self.store.iter_chunks()
        ]
        stemmer = Stemmer.Stemmer("english")
        if not nodes:
            self._bm25 = False
            self.vocabulary = Vocabulary(stemmer, set(STOPWORDS_EN) | QUESTION_STOPWORDS, {}, 0)
            return
        bm25 = BM25Retriever.from_defaults(
            nodes=nodes, stemmer=stemmer, language="en",
            similarity_top_k=min(self.settings.retrieval.candidates, len(nodes)),
        )  # fmt: skip
        indptr = bm25.bm25.scores["indptr"]
        df = {
            tok: int(indptr[i + 1] - indptr[i])
            for tok, i in bm25.bm25.vocab_dict.items()
            if i + 1 < len(indptr)
        }
        self.vocabulary = Vocabulary(
            stemmer, set(STOPWORDS_EN) | QUESTION_STOPWORDS, df, len(nodes)
        )
        ts = np.array([n.metadata.get("published_ts", 0) for n in nodes], dtype=np.int64)
        sources = np.array([n.metadata.get("source", "") for n in nodes], dtype=object)
        self._columns = (ts, sources)
        self._bm25 = bm25

    def _bm25_retrieve(self, query: str, filters: SearchFilters, k: int):
        from llama_index.core.schema import QueryBundle

        with self._lock:
            self._ensure_bm25()
            if not self._bm25:
                return []
            weight_mask, allowed = self._weight_mask(filters)
            if allowed == 0:
                return []
            self._bm25.corpus_weight_mask = weight_mask
            self._bm25.similarity_top_k = min(k, allowed)
            results = self._bm25.retrieve(QueryBundle(query))
        return [r for r in results if r.score > 0]

    def _weight_mask(self, filters: SearchFilters) -> tuple[list[int] | None, int]:
        """BM25's 0/1 mask for ``filters`` (None: everything allowed) and how many pass.

        Cached per filter, so a repeated filter does not rebuild a list the size of the corpus.
        """
        import numpy as np

        cached = self._masks.get(filters)
        if cached is not None:
            return cached
        ts, sources = self._columns
        mask = np.ones(len(ts), dtype=bool)
        if filters.as_of:
            mask &= ts <= _ts(filters.as_of)
        if filters.date_from:
            mask &= ts >= _ts(filters.date_from)
        if filters.sources:
            mask &= np.isin(sources, list(filters.sources))
        allowed = int(mask.sum())
        result = (mask.astype(int).tolist() if allowed < len(ts) else None), allowed
        if len(self._masks) >= 64:
            self._masks.clear()
        self._masks[filters] = result
        return result

    def ensure_ready(self) -> Vocabulary:
        with self._lock:
            self._ensure_bm25()
        return self.vocabulary

    def retrieve(
        self,
        query: str,
        filters: SearchFilters | None = None,
        top_k: int | None = None,
        query_embedding: list[float] | None = None,
    ) -> list[Passage]:
        """The ``top_k`` passages for ``query``, best first."""
        from llama_index.core.schema import QueryBundle

        filters = filters or SearchFilters()
        cfg = self.settings.retrieval
        top_k = top_k or cfg.top_k
        if query_embedding is None:
            query_embedding = self.embed_model.get_query_embedding(query)
        bundle = QueryBundle(query_str=query, embedding=query_embedding)
        dense = []
        if self.store.chunk_count():
            retriever = self._index.as_retriever(
                similarity_top_k=cfg.candidates, filters=filters.llama_filters()
            )
            dense = retriever.retrieve(bundle)
        sparse = self._bm25_retrieve(query, filters, cfg.candidates)

        fused: dict[str, float] = {}
        nodes = {}
        for weight, ranking in ((cfg.dense_weight, dense), (cfg.bm25_weight, sparse)):
            for rank, hit in enumerate(ranking):
                node_id = hit.node.node_id
                nodes.setdefault(node_id, hit.node)
                fused[node_id] = fused.get(node_id, 0.0) + weight / (cfg.rrf_k + rank + 1)
        for node_id, score in fused.items():
            fused[node_id] = score * self._recency(nodes[node_id].metadata, filters.as_of)
        best = sorted(fused, key=fused.get, reverse=True)[:top_k]
        return [to_passage(nodes[i], fused[i]) for i in best]

    def _recency(self, meta: dict, as_of: date | None) -> float:
        cfg = self.settings.retrieval
        published = meta.get("published_at") or ""
        if not as_of or not published:
            return 1.0
        age = (as_of - date.fromisoformat(published)).days
        return max(cfg.recency_floor, 0.5 ** (max(age, 0) / cfg.recency_half_life_days))


def to_passage(node, score: float) -> Passage:
    meta = node.metadata
    return Passage(
        chunk_id=node.node_id,
        article_id=meta.get("article_id", ""),
        text=node.get_content(),
        start=int(meta.get("start", 0)),
        end=int(meta.get("end", 0)),
        title=meta.get("title", ""),
        source=meta.get("source", ""),
        published_at=meta.get("published_at", ""),
        url=meta.get("url", ""),
        score=score,
    )
