"""Ingest: load, chunk, embed and store articles, incrementally and safely.

An article's record in the manifest is written only after all its chunks are stored, so an
interrupted ingest leaves, at worst, chunks without a record; the next ingest deletes those and
embeds the article again. Chunk ids are ``<article_id>:<n>``, so nothing is ever stored twice.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from assistant.chunking import chunk_article
from assistant.errors import AssistantError, InvalidInput
from assistant.loading import content_hash, load_file, load_path, path_text, text_hash
from assistant.settings import Settings
from assistant.store import ArticleRecord, Store, date_key
from assistant.types import Article, Chunk, IngestSummary, Removal

# Called with (articles done, articles to embed, chunks embedded so far).
Progress = Callable[[int, int, int], None]

_EMBED_KEYS_EXCLUDED = [
    "article_id", "chunk", "start", "end", "source", "published_at", "published_ts", "url",
]  # fmt: skip


def chunk_nodes(article: Article, chunks: list[Chunk]):
    """llama-index TextNodes for an article's chunks; only the title is embedded with the text."""
    from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode

    nodes = []
    for chunk in chunks:
        node = TextNode(
            id_=chunk.id,
            text=chunk.text,
            start_char_idx=chunk.start,
            end_char_idx=chunk.end,
            metadata={
                "title": article.title,
                "article_id": article.id,
                "chunk": chunk.number,
                "start": chunk.start,
                "end": chunk.end,
                "source": article.source,
                "published_at": article.published_at,
                "published_ts": date_key(article.published_at),
                "url": article.url,
            },
            excluded_embed_metadata_keys=list(_EMBED_KEYS_EXCLUDED),
            excluded_llm_metadata_keys=list(_EMBED_KEYS_EXCLUDED),
        )
        node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=article.id)
        nodes.append(node)
    return nodes


def _under(origin: str, root: Path) -> bool:
    path = origin.split("#", 1)[0]
    root_str = str(root.resolve())
    return path == root_str or path.startswith(root_str.rstrip("/") + "/")


def ingest(
    store: Store,
    embed_model,
    settings: Settings,
    path: str | Path,
    sync: bool = False,
    progress: Progress | bool = True,
) -> IngestSummary:
    """Bring the index in line with the articles under ``path``; see the module docstring."""
    from llama_index.core.schema import MetadataMode

    started = time.perf_counter()
    root = Path(path)
    if not root.exists():
        raise AssistantError(f"Nothing to ingest: {root} does not exist.")
    summary = IngestSummary()
    articles, rejected = load_path(root)
    summary.rejected.extend(rejected)

    existing = store.article_records()
    by_origin = {r.origin: r.id for r in existing.values()}
    by_text = {r.text_hash: r for r in existing.values()}
    seen_ids: set[str] = set()
    live_origins = {a.origin for a in articles}
    to_embed: list[tuple[Article, str | None]] = []  # (article, id of the version it replaces)
    for article in articles:
        label = _label(article)
        ahash, thash = content_hash(article), text_hash(article.title, article.text)
        if article.id in seen_ids:
            summary.rejected.append((label, f"duplicate article id '{article.id}' in this ingest"))
            continue
        twin = by_text.get(thash)
        if twin and twin.id != article.id and twin.origin != article.origin:
            summary.rejected.append(
                (label, f"duplicate of already indexed '{_short(twin.origin)}'")
            )
            continue
        old = existing.get(article.id)
        if old and old.content_hash == ahash:
            if old.origin != article.origin and old.origin in live_origins:
                summary.rejected.append((label, f"duplicate of '{_short(old.origin)}'"))
            else:
                seen_ids.add(article.id)
                summary.unchanged.append(article.id)
            continue
        seen_ids.add(article.id)
        replaced = by_origin.get(article.origin)
        if old:
            replaced = old.id
        to_embed.append((article, replaced if replaced in existing else None))
        by_text[thash] = ArticleRecord(article.id, "", "", "", "", article.origin, ahash, thash, 0)

    # Chunks whose article has no record: left by an interrupted ingest.
    for orphan in store.chunk_article_ids() - set(existing):
        store.delete_article(orphan)

    if sync:
        loaded = {a.origin.split("#", 1)[0] for a in articles}
        for record in existing.values():
            if record.id not in seen_ids and _under(record.origin, root):
                file = record.origin.split("#", 1)[0]
                if file not in loaded and os.path.lexists(file):
                    continue  # the file is still there but refused now: keep what was indexed
                replaced_by_update = any(r == record.id for _, r in to_embed)
                if not replaced_by_update:
                    store.delete_article(record.id)
                    summary.removed.append(record.id)

    report = _progress_bar(progress, len(to_embed))
    vector_store = store.vector_store() if to_embed else None
    batch: list[tuple[Article, str | None, list]] = []
    done = 0
    batch_chunks = 0

    def flush() -> None:
        nonlocal done, batch_chunks
        nodes = [n for _, _, ns in batch for n in ns]
        texts = [n.get_content(metadata_mode=MetadataMode.EMBED) for n in nodes]
        vectors = embed_model.get_text_embedding_batch(texts) if texts else []
        for node, vector in zip(nodes, vectors, strict=True):
            node.embedding = vector
        for article, replaced, article_nodes in batch:
            if replaced:
                store.delete_article(replaced)
            store.chunks.delete(where={"article_id": article.id})
            if article_nodes:
                vector_store.add(article_nodes)
            store.put_article(_record_of(article, len(article_nodes)), article.text)
            (summary.updated if replaced else summary.added).append(article.id)
            summary.chunks_added += len(article_nodes)
            done += 1
        report(done, len(to_embed), summary.chunks_added)
        batch.clear()
        batch_chunks = 0

    for article, replaced in to_embed:
        chunks = chunk_article(
            article, settings.chunking.max_words, settings.chunking.overlap_sentences
        )
        batch.append((article, replaced, chunk_nodes(article, chunks)))
        batch_chunks += len(chunks)
        if batch_chunks >= settings.embedding.batch_size * 4:
            flush()
    if batch:
        flush()
    report(done, len(to_embed), summary.chunks_added, final=True)
    summary.seconds = time.perf_counter() - started
    return summary


def remove(store: Store, article_id: str, corpus_dir: str | Path | None = None) -> Removal:
    """Take one article out of the index (its chunks, then its record).

    Its file is deleted too when it lies inside ``corpus_dir`` and holds this article alone,
    so that a later ``ingest --sync`` of the corpus does not bring it back; otherwise the file
    stays and the result says why. The file goes first: should the process stop in between,
    the next ``--sync`` finishes the removal.
    """
    record = store.article_records().get(article_id)
    if record is None:
        raise InvalidInput(
            f"No indexed article has the id {article_id!r}; it may have been removed already."
        )
    file, kept = _removable_file(store, record, corpus_dir)
    if file is not None:
        try:
            file.unlink()
        except OSError as exc:
            raise AssistantError(
                f"Cannot delete {file.name} ({exc.strerror or exc}); nothing was removed."
            ) from None
    store.delete_article(article_id)
    return Removal(article_id, record.title, path_text(file) if file else "", kept)


def _removable_file(
    store: Store, record: ArticleRecord, corpus_dir: str | Path | None
) -> tuple[Path | None, str]:
    """The file to delete with ``record``'s article, or None and why it is kept."""
    if corpus_dir is None:
        return None, ""
    origin = record.origin.split("#", 1)[0]
    if not origin:
        return None, "it came from no file."
    path = Path(origin)
    if not os.path.lexists(path):
        return None, "its file is already gone."
    name = path.name
    if not path.parent.resolve().is_relative_to(Path(corpus_dir).resolve()):
        return None, f"its file {name} lies outside the corpus folder and stays there."
    others = [
        r.id
        for r in store.article_records().values()
        if r.id != record.id and r.origin.split("#", 1)[0] == origin
    ]
    found, _ = load_file(path)
    if others or {a.id for a in found} - {record.id}:
        return None, (
            f"its file {name} holds other articles too and stays: remove the article from it "
            "by hand, or the next sync of the corpus adds it again."
        )
    return path, ""


def _record_of(article: Article, n_chunks: int) -> ArticleRecord:
    return ArticleRecord(
        id=article.id,
        title=article.title,
        source=article.source,
        published_at=article.published_at,
        url=article.url,
        origin=article.origin,
        content_hash=content_hash(article),
        text_hash=text_hash(article.title, article.text),
        n_chunks=n_chunks,
    )


def _short(origin: str) -> str:
    path, _, key = origin.partition("#")
    return Path(path).name + (f"#{key}" if key else "")


def _label(article: Article) -> str:
    return _short(article.origin) or article.id


def _progress_bar(progress: Progress | bool, total: int):
    """A tqdm bar on stderr (articles, with chunks as postfix), a callback, or nothing."""
    if callable(progress):

        def call(done: int, total: int, chunks: int, final: bool = False) -> None:
            progress(done, total, chunks)

        return call
    if not progress or total == 0:
        return lambda *a, **k: None
    from tqdm import tqdm

    bar = tqdm(total=total, unit="article", desc="Embedding", file=sys.stderr, dynamic_ncols=True)

    def update(done: int, total: int, chunks: int, final: bool = False) -> None:
        if final:
            bar.close()
            return
        bar.n = done
        bar.set_postfix(chunks=chunks, refresh=False)
        bar.refresh()

    return update
