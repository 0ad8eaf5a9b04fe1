"""Hybrid retrieval: dense and keyword (BM25) rankings fused by reciprocal rank.

Both sides are llama-index retrievers (``BaseRetriever`` subclasses returning scored nodes),
composed by ``HybridRetriever``, and both search the local mirror of the chunks
(``assistant.localindex``): exact cosine and BM25 with the date and source filters applied as
masks, so a filter costs nothing (Chroma's own metadata filter scans the collection). Chroma
stays the store: the final passages' records (text, sentences and their vectors) are fetched
from it. With an as-of date, older articles are down-weighted: a news question is usually about
the latest events.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from assistant.embedding import unpack_vectors
from assistant.indexing import parse_spans
from assistant.localindex import LocalIndex, local_folder, sync_local_index
from assistant.settings import Settings
from assistant.store import Store, date_key
from assistant.types import Passage


@dataclass(frozen=True)
class SearchFilters:
    """Restrictions on which articles may serve as evidence."""

    as_of: date | None = None  # published on or before
    date_from: date | None = None
    sources: tuple[str, ...] = field(default_factory=tuple)

    @property
    def active(self) -> bool:
        return bool(self.as_of or self.date_from or self.sources)

    def where(self) -> dict | None:
        """The same restriction as a Chroma ``where`` clause."""
        parts: list[dict] = []
        if self.as_of:
            parts.append({"published_ts": {"$lte": date_key(self.as_of.isoformat())}})
        if self.date_from:
            parts.append({"published_ts": {"$gte": date_key(self.date_from.isoformat())}})
        if self.sources:
            parts.append({"source": {"$in": list(self.sources)}})
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else {"$and": parts}

    def llama_filters(self):
        """The same restriction as llama-index metadata filters (for llama-index retrievers)."""
        from llama_index.core.vector_stores import (
            FilterCondition,
            FilterOperator,
            MetadataFilter,
            MetadataFilters,
        )

        parts = []
        if self.as_of:
            parts.append(MetadataFilter(key="published_ts", operator=FilterOperator.LTE,
                                        value=date_key(self.as_of.isoformat())))  # fmt: skip
        if self.date_from:
            parts.append(MetadataFilter(key="published_ts", operator=FilterOperator.GTE,
                                        value=date_key(self.date_from.isoformat())))  # fmt: skip
        if self.sources:
            parts.append(MetadataFilter(key="source", operator=FilterOperator.IN,
                                        value=list(self.sources)))  # fmt: skip
        return MetadataFilters(filters=parts, condition=FilterCondition.AND) if parts else None

    def allows(self, ts: int, source: str) -> bool:
        if self.as_of and ts > date_key(self.as_of.isoformat()):
            return False
        if self.date_from and ts < date_key(self.date_from.isoformat()):
            return False
        return not self.sources or source in self.sources


@dataclass
class FilteredQuery(QueryBundle):
    """A query bundle that also carries filters (llama-index retrievers take one bundle)."""

    filters: SearchFilters = field(default_factory=SearchFilters)


def _filter_args(filters: SearchFilters) -> tuple[int | None, int | None, tuple[str, ...]]:
    as_of = date_key(filters.as_of.isoformat()) if filters.as_of else None
    since = date_key(filters.date_from.isoformat()) if filters.date_from else None
    return as_of, since, filters.sources


class DenseRetriever(BaseRetriever):
    """Nearest chunks by embedding (exact cosine over the local mirror); ids and scores."""

    def __init__(self, index_of, settings: Settings) -> None:
        super().__init__()
        self.index_of, self.cfg = index_of, settings.retrieval

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        filters = getattr(query_bundle, "filters", SearchFilters())
        hits = self.index_of().nearest(query_bundle.embedding, self.cfg.candidates,
                                       *_filter_args(filters))  # fmt: skip
        return [NodeWithScore(node=TextNode(id_=i), score=s) for i, s in hits]


class KeywordRetriever(BaseRetriever):
    """BM25 over chunk titles and texts, from the persistent keyword index."""

    def __init__(self, index_of, settings: Settings) -> None:
        super().__init__()
        self.index_of, self.cfg = index_of, settings.retrieval

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        filters = getattr(query_bundle, "filters", SearchFilters())
        hits = self.index_of().search(query_bundle.query_str, self.cfg.candidates,
                                      *_filter_args(filters))  # fmt: skip
        return [NodeWithScore(node=TextNode(id_=i), score=s) for i, s in hits]


class HybridRetriever:
    """Dense + keyword retrieval over one store, fused, returning ``Passage`` records."""

    def __init__(self, store: Store, embedder, settings: Settings) -> None:
        self.store = store
        self.embedder = embedder
        self.settings = settings
        self.folder = local_folder(settings)
        self._lock = threading.Lock()
        cfg = settings.retrieval
        self._local = sync_local_index(None, store, self.folder, cfg.bm25_k1, cfg.bm25_b)
        self._checked = time.monotonic()
        self.dense = DenseRetriever(lambda: self.local, settings)
        self.keyword = KeywordRetriever(lambda: self.local, settings)

    @property
    def local(self) -> LocalIndex:
        """The local index, repaired first when another process changed the store."""
        if time.monotonic() - self._checked > self.settings.retrieval.staleness_check_s:
            self._checked = time.monotonic()
            if self.store.generation() != self._local.generation:
                self.reload()
        return self._local

    def reload(self, local: LocalIndex | None = None) -> None:
        """Adopt ``local`` (after an ingest in this process) or repair from the store."""
        cfg = self.settings.retrieval
        with self._lock:
            self._local = local or sync_local_index(self._local, self.store, self.folder,
                                                    cfg.bm25_k1, cfg.bm25_b)  # fmt: skip
            self._checked = time.monotonic()

    def retrieve(
        self,
        query: str,
        filters: SearchFilters | None = None,
        top_k: int | None = None,
        query_vector: np.ndarray | None = None,
    ) -> list[Passage]:
        """The ``top_k`` passages for ``query``, best first, with their sentences."""
        cfg = self.settings.retrieval
        filters = filters or SearchFilters()
        if query_vector is None:
            query_vector = self.embedder.query_vector(query)
        bundle = FilteredQuery(query_str=query, embedding=list(map(float, query_vector)),
                           filters=filters)  # fmt: skip
        rankings = [
            (cfg.dense_weight, self.dense.retrieve(bundle)),
            (cfg.bm25_weight, self.keyword.retrieve(bundle)),
        ]
        fused: dict[str, float] = {}
        for weight, ranking in rankings:
            for rank, hit in enumerate(ranking):
                node_id = hit.node.node_id
                fused[node_id] = fused.get(node_id, 0.0) + weight / (cfg.rrf_k + rank + 1)
        if filters.as_of:
            local = self.local
            for node_id in fused:
                ts = (local.chunk_meta(node_id) or (0, ""))[0]
                fused[node_id] *= self._recency(ts, filters.as_of)
        best = sorted(fused, key=fused.get, reverse=True)[: top_k or cfg.top_k]
        return self.passages(best, [fused[i] for i in best])

    def passages(self, chunk_ids: list[str], scores: list[float]) -> list[Passage]:
        """Full records of some chunks, in the given order."""
        if not chunk_ids:
            return []
        got = self.store.chunks.get(ids=chunk_ids, include=["metadatas", "documents"])
        found = {i: (m, d) for i, m, d in zip(got["ids"], got["metadatas"], got["documents"],
                                              strict=True)}  # fmt: skip
        dims = self.embedder.dimensions
        out = []
        for chunk_id, score in zip(chunk_ids, scores, strict=True):
            if chunk_id in found:
                meta, text = found[chunk_id]
                out.append(to_passage(chunk_id, meta, text or "", score, dims))
        return out

    def _recency(self, ts: int, as_of: date) -> float:
        cfg = self.settings.retrieval
        if not ts:
            return 1.0
        published = date(ts // 10000, ts // 100 % 100, ts % 100)
        age = max((as_of - published).days, 0)
        return max(cfg.recency_floor, 0.5 ** (age / cfg.recency_half_life_days))


def to_passage(chunk_id: str, meta: dict, text: str, score: float, dims: int) -> Passage:
    start = int(meta.get("start", 0))
    spans = tuple((start + s, start + e) for s, e in parse_spans(meta.get("sentences", "")))
    return Passage(
        chunk_id=chunk_id,
        article_id=meta.get("article_id", ""),
        text=text,
        start=start,
        end=int(meta.get("end", start + len(text))),
        title=meta.get("title", ""),
        source=meta.get("source", ""),
        published_at=meta.get("published_at", ""),
        url=meta.get("url", ""),
        score=score,
        sentence_spans=spans,
        sentence_vectors=unpack_vectors(meta.get("sentence_vectors", ""), dims),
    )
