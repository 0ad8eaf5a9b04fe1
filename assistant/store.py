"""Chroma, embedded on local disk or behind a `chroma run` server.

Three collections:
- ``<prefix>_chunks``: embedded passages. Each record holds llama-index's node serialisation
  plus the chunk's sentences (spans and int8 vectors), so reading needs no model pass.
- ``<prefix>_articles``: one record per article with its full text; it doubles as the ingest
  manifest, written only after all of an article's chunks are stored.
- ``<prefix>_state``: the store's generation (changes with every ingest, so other processes and
  the keyword index notice) and the articles an ingest is writing (so a crash is repaired).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.errors import BackendUnavailable, EmbeddingMismatch, IndexMissing, IndexOutdated
from assistant.settings import Settings

_PAGE = 1000
INDEX_FORMAT = 2  # 2: chunk records carry sentence spans and vectors


@dataclass(frozen=True)
class ArticleRecord:
    id: str
    title: str
    source: str
    published_at: str
    url: str
    origin: str
    content_hash: str
    text_hash: str
    n_chunks: int


def date_key(published_at: str) -> int:
    """20240201 for '2024-02-01'; 0 when unknown (so 'on or before' filters keep it)."""
    return int(published_at.replace("-", "")) if published_at else 0


def on_local_disk(settings: Settings) -> bool:
    """True when the index is embedded and its file is there (``IndexMissing`` when it is not):
    a check that needs no Chroma. False for a Chroma server, which only connecting checks."""
    if settings.store.chroma_host:
        return False
    data_dir = Path(settings.store.data_dir)
    if not (data_dir / "chroma.sqlite3").exists():
        raise IndexMissing(f"No index at {data_dir}: run `assistant ingest corpus/` first.")
    return True


def _client(settings: Settings, create: bool):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    store = settings.store
    if store.chroma_host:
        try:
            client = chromadb.HttpClient(
                host=store.chroma_host, port=store.chroma_port, settings=chroma_settings
            )
            client.heartbeat()
        except Exception as exc:
            raise BackendUnavailable(
                f"Cannot reach the Chroma server at {store.chroma_host}:{store.chroma_port} "
                f"({type(exc).__name__}); start it with `chroma run --path DIR --host "
                f"{store.chroma_host} --port {store.chroma_port}` "
                "or unset ASSISTANT_STORE__CHROMA_HOST."
            ) from None
        return client
    if not create:
        on_local_disk(settings)
    data_dir = Path(store.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(data_dir), settings=chroma_settings)


class Store:
    """The collections of one index."""

    def __init__(self, settings: Settings, create: bool = False) -> None:
        self.settings = settings
        self.location = (
            f"{settings.store.chroma_host}:{settings.store.chroma_port}"
            if settings.store.chroma_host
            else str(settings.store.data_dir)
        )
        self.client = _client(settings, create)
        prefix = settings.store.collection
        model = settings.embedding.model
        try:
            if create:
                self.chunks = self.client.get_or_create_collection(
                    f"{prefix}_chunks",
                    metadata={
                        "hnsw:space": "cosine",
                        "embedding_model": model,
                        "format": INDEX_FORMAT,
                    },  # fmt: skip
                    embedding_function=None,
                )
                self.articles = self.client.get_or_create_collection(
                    f"{prefix}_articles", embedding_function=None
                )
                self.state = self.client.get_or_create_collection(
                    f"{prefix}_state", embedding_function=None
                )
            else:
                self.chunks = self.client.get_collection(
                    f"{prefix}_chunks", embedding_function=None
                )
                self.articles = self.client.get_collection(
                    f"{prefix}_articles", embedding_function=None
                )
                self.state = self.client.get_or_create_collection(
                    f"{prefix}_state", embedding_function=None
                )
        except BackendUnavailable:
            raise
        except Exception:
            raise IndexMissing(
                f"No index at {self.location}: run `assistant ingest corpus/` first."
            ) from None
        meta = self.chunks.metadata or {}
        built_with = meta.get("embedding_model")
        if built_with and built_with != model:
            raise EmbeddingMismatch(
                f"The index at {self.location} was built with embedding model '{built_with}', "
                f"but the settings name '{model}': set ASSISTANT_EMBEDDING__MODEL={built_with} "
                "or ingest into a new data folder (--data-dir)."
            )
        self.outdated = int(meta.get("format", 1)) < INDEX_FORMAT and self.chunks.count() > 0
        if self.outdated and not create:
            raise IndexOutdated(
                f"The index at {self.location} was built by an older Newsdesk: run "
                "`assistant ingest corpus/` once to upgrade it (articles are re-embedded from "
                "their stored text)."
            )

    def vector_store(self):
        """The chunk collection as a llama-index vector store (what the baseline queries)."""
        from llama_index.vector_stores.chroma import ChromaVectorStore

        return ChromaVectorStore(chroma_collection=self.chunks)

    # --- state ---

    def _state(self, key: str) -> str:
        got = self.state.get(ids=[key], include=["documents"])
        return got["documents"][0] if got["ids"] else ""

    def _set_state(self, key: str, value: str) -> None:
        self.state.upsert(ids=[key], embeddings=[[1.0]], documents=[value])

    def generation(self) -> str:
        """Changes whenever the indexed articles may have changed."""
        return self._state("generation")

    def new_generation(self) -> str:
        value = uuid.uuid4().hex
        self._set_state("generation", value)
        return value

    def pending(self) -> list[str]:
        """Articles an ingest was writing when it stopped (their chunks may be partial)."""
        value = self._state("pending")
        return json.loads(value) if value else []

    def set_pending(self, article_ids: list[str]) -> None:
        self._set_state("pending", json.dumps(article_ids))

    def mark_current(self) -> None:
        """Record that every chunk now carries sentence data (after an upgrade)."""
        meta = {k: v for k, v in (self.chunks.metadata or {}).items() if not k.startswith("hnsw:")}
        self.chunks.modify(metadata={**meta, "format": INDEX_FORMAT})
        self.outdated = False

    # --- articles (the manifest) ---

    def article_records(self, ids: list[str] | None = None) -> dict[str, ArticleRecord]:
        """Every article's record, or those of ``ids`` that are indexed (one lookup)."""
        if ids is not None:
            unique = list(dict.fromkeys(ids))  # Chroma refuses a repeated id
            got = self.articles.get(ids=unique, include=["metadatas"]) if unique else None
            return {a: _record(a, m) for a, m in zip(got["ids"], got["metadatas"],
                                                     strict=True)} if got else {}  # fmt: skip
        records = {}
        for ids, metas, _ in self._pages(self.articles, ["metadatas"]):
            for article_id, meta in zip(ids, metas, strict=True):
                records[article_id] = _record(article_id, meta)
        return records

    def article_text(self, article_id: str) -> str | None:
        got = self.articles.get(ids=[article_id], include=["documents"])
        return got["documents"][0] if got["ids"] else None

    def put_articles(self, records: list[tuple[ArticleRecord, str]]) -> None:
        if not records:
            return
        metas = []
        for record, _ in records:
            meta = {k: v for k, v in record.__dict__.items() if k != "id"}
            meta["published_ts"] = date_key(record.published_at)
            metas.append(meta)
        self.articles.upsert(
            ids=[r.id for r, _ in records],
            embeddings=[[1.0]] * len(records),
            metadatas=metas,
            documents=[text for _, text in records],
        )

    def delete_article(self, article_id: str) -> None:
        self.chunks.delete(where={"article_id": article_id})
        self.articles.delete(ids=[article_id])

    def delete_chunks(self, article_ids: list[str]) -> None:
        if article_ids:
            self.chunks.delete(where={"article_id": {"$in": list(article_ids)}})

    # --- chunks ---

    def add_chunks(self, ids, embeddings, metadatas, documents) -> None:
        for at in range(0, len(ids), _PAGE):
            part = slice(at, at + _PAGE)
            self.chunks.add(ids=ids[part], embeddings=embeddings[part],
                            metadatas=metadatas[part], documents=documents[part])  # fmt: skip

    def chunk_count(self) -> int:
        return self.chunks.count()

    def chunks_of(self, article_ids: list[str], embeddings: bool = True,
                  ) -> Iterator[tuple[str, str, dict[str, Any], Any]]:  # fmt: skip
        """The stored chunks of some articles as ``(id, text, metadata, embedding)`` (the
        embedding None unless asked for)."""
        include = ["metadatas", "documents", *(["embeddings"] if embeddings else [])]
        for at in range(0, len(article_ids), 200):
            got = self.chunks.get(where={"article_id": {"$in": article_ids[at : at + 200]}},
                                  include=include)  # fmt: skip
            vectors = got["embeddings"] if embeddings else [None] * len(got["ids"])
            yield from zip(got["ids"], got["documents"], got["metadatas"], vectors, strict=True)

    def iter_chunks(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """Every stored chunk as ``(id, text, metadata)``."""
        for ids, metas, docs in self._pages(self.chunks, ["metadatas", "documents"]):
            yield from zip(ids, docs, metas, strict=True)

    @staticmethod
    def _pages(collection, include: list[str]):
        offset = 0
        while True:
            got = collection.get(include=include, limit=_PAGE, offset=offset)
            if not got["ids"]:
                return
            yield (
                got["ids"],
                got.get("metadatas") or [],
                got.get("documents") or [None] * len(got["ids"]),
            )
            offset += len(got["ids"])


def _record(article_id: str, meta: dict[str, Any]) -> ArticleRecord:
    return ArticleRecord(
        id=article_id,
        title=meta.get("title", ""),
        source=meta.get("source", ""),
        published_at=meta.get("published_at", ""),
        url=meta.get("url", ""),
        origin=meta.get("origin", ""),
        content_hash=meta.get("content_hash", ""),
        text_hash=meta.get("text_hash", ""),
        n_chunks=int(meta.get("n_chunks", 0)),
    )
