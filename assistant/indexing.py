"""Ingest: load, chunk, embed and store articles, incrementally and safely.

Crash safety: before a group of articles is written, their ids are recorded as pending; their
manifest records are written only after all their chunks, and the pending list is cleared last.
An interrupted ingest leaves at worst chunks of pending articles without a record; the next
ingest deletes those and embeds the articles again. Chunk ids are ``<article_id>:<n>``, so
nothing is ever stored twice. The store's generation changes before anything is written, so a
local index saved earlier is known to be stale and is repaired from Chroma.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from assistant.chunking import chunk_article
from assistant.errors import AssistantError, InvalidInput
from assistant.loading import (
    content_hash,
    load_file,
    load_path,
    origin_file,
    path_text,
    text_hash,
)
from assistant.localindex import IndexedChunk, LocalIndex
from assistant.settings import Settings
from assistant.store import ArticleRecord, Store, date_key
from assistant.text import split_sentences
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


def embed_text(node) -> str:
    """What the model reads for a chunk: llama-index's embedding view (title, then text)."""
    from llama_index.core.schema import MetadataMode

    return node.get_content(metadata_mode=MetadataMode.EMBED)


def format_spans(spans: list[tuple[int, int]]) -> str:
    return ",".join(f"{s}:{e}" for s, e in spans)


def parse_spans(value: str) -> list[tuple[int, int]]:
    if not value:
        return []
    return [(int(s), int(e)) for s, e in (part.split(":") for part in value.split(","))]


@dataclass
class _Prepared:
    article: Article
    replaced: str | None  # id of the version it replaces
    nodes: list


def _gone(path: str) -> bool:
    """Whether ``path`` is known not to exist (a folder that cannot be searched says nothing:
    its files are not gone)."""
    try:
        os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return True
    except OSError:
        return False
    return False


def _under(origin: str, root: Path) -> bool:
    path = origin_file(origin)
    root_str = str(root.resolve())
    return path == root_str or path.startswith(root_str.rstrip("/") + "/")


def ingest(
    store: Store,
    embedder,
    local: LocalIndex,
    settings: Settings,
    path: str | Path | None,
    sync: bool = False,
    progress: Progress | bool = True,
) -> IngestSummary:
    """Bring the index in line with the articles under ``path``; see the module docstring.

    ``path=None`` only repairs and upgrades what is stored. ``local`` is updated in memory;
    the caller saves it.
    """
    started = time.perf_counter()
    summary = IngestSummary()
    root = Path(path) if path is not None else None
    if root is not None and not root.exists():
        raise AssistantError(f"Nothing to ingest: {root} does not exist.")
    articles, rejected = load_path(root) if root is not None else ([], [])
    summary.rejected.extend(rejected)

    existing = store.article_records()
    generation_changed = False

    def touch() -> None:  # before the first write: earlier keyword snapshots become stale
        nonlocal generation_changed
        if not generation_changed:
            local.generation = ""
            store.new_generation()
            generation_changed = True

    # An interrupted ingest: chunks of new articles without a record are deleted; articles that
    # have a record may have partial chunks and are embedded again (from their stored text
    # unless a new version is being ingested). An older index format is upgraded the same way.
    pending = store.pending()
    leftovers = [a for a in pending if a not in existing]
    owed = set(existing) if store.outdated else {a for a in pending if a in existing}
    if pending:
        touch()
        store.delete_chunks(leftovers)
        local.remove_articles(leftovers)

    to_embed, seen_ids = _plan(articles, existing, summary)
    planned = {p.article.id for p in to_embed}
    repairs = []
    for article_id in sorted(owed - planned):
        record = existing[article_id]
        text = store.article_text(article_id) or ""
        repairs.append(_Prepared(_article_of(record, text), article_id, []))
    to_embed = repairs + to_embed  # owed articles first: the debt is paid early

    if sync and root is not None:
        replaced_ids = {p.replaced for p in to_embed}
        loaded = {origin_file(a.origin) for a in articles}
        for record in existing.values():
            if record.id in seen_ids or record.id in replaced_ids:
                continue
            file = origin_file(record.origin)
            if file not in loaded and not _gone(file):
                continue  # the file is still there but refused now: keep what was indexed
            if _under(record.origin, root):
                touch()
                store.delete_article(record.id)
                local.remove_articles([record.id])
                summary.removed.append(record.id)

    report = _progress_bar(progress, len(to_embed))
    group: list[_Prepared] = []
    group_chunks = 0
    done = 0
    limit = settings.embedding.ingest_group

    def flush() -> None:
        nonlocal done, group_chunks
        touch()
        ids = [p.article.id for p in group]
        owed.difference_update(ids)
        store.set_pending(ids + sorted(owed))  # still owed ones stay pending until written
        _write_group(store, embedder, local, group, existing, summary,
                     settings.embedding.numpy_ingest_chunks)  # fmt: skip
        done += len(group)
        report(done, len(to_embed), summary.chunks_added)
        group.clear()
        group_chunks = 0

    for prepared in to_embed:
        article = prepared.article
        chunks = chunk_article(
            article, settings.chunking.max_words, settings.chunking.overlap_sentences
        )
        prepared.nodes = chunk_nodes(article, chunks)
        group.append(prepared)
        group_chunks += len(chunks)
        if group_chunks >= limit:
            flush()
    if group:
        flush()
    if generation_changed:
        store.set_pending([])
    if store.outdated:
        store.mark_current()
    report(done, len(to_embed), summary.chunks_added, final=True)
    summary.seconds = time.perf_counter() - started
    return summary


def _plan(articles: list[Article], existing: dict[str, ArticleRecord], summary: IngestSummary):
    """Which articles need embedding (and which stored version each replaces)."""
    by_origin = {r.origin: r.id for r in existing.values()}
    by_text = {r.text_hash: r for r in existing.values()}
    live_origins = {a.origin for a in articles}
    seen_ids: set[str] = set()
    to_embed: list[_Prepared] = []
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
        replaced = old.id if old else by_origin.get(article.origin)
        to_embed.append(_Prepared(article, replaced if replaced in existing else None, []))
        by_text[thash] = ArticleRecord(article.id, "", "", "", "", article.origin, ahash, thash, 0)
    return to_embed, seen_ids


def _write_group(store: Store, embedder, local: LocalIndex, group: list[_Prepared],
                 existing: dict[str, ArticleRecord], summary: IngestSummary,
                 numpy_up_to: int = 0) -> None:  # fmt: skip
    """Embed a group of articles, then store chunks, then their manifest records."""
    from llama_index.core.vector_stores.utils import node_to_metadata_dict

    from assistant.embedding import pack_vectors

    nodes = [n for p in group for n in p.nodes]
    texts = [embed_text(n) for n in nodes]
    spans, relative = [], []
    for node, text in zip(nodes, texts, strict=True):
        body = node.get_content()
        offset = len(text) - len(body)  # the chunk text ends the embedded text
        sentence_spans = split_sentences(body)
        relative.append(sentence_spans)
        spans.append([(offset + s, offset + e) for s, e in sentence_spans])
    vectors, sentence_vectors = embedder.encode_chunks(texts, spans, numpy_up_to)

    ids = [p.article.id for p in group]
    renamed = [p.replaced for p in group if p.replaced and p.replaced != p.article.id]
    for old in renamed:  # an edited file whose article id changed: the old version goes
        store.delete_article(old)
    store.delete_chunks([i for i in ids if i in existing])  # records are overwritten below
    local.remove_articles(renamed + ids)
    metadatas = []
    for node, rel, sv in zip(nodes, relative, sentence_vectors, strict=True):
        meta = node_to_metadata_dict(node, remove_text=True, flat_metadata=True)
        meta["sentences"] = format_spans(rel)
        meta["sentence_vectors"] = pack_vectors(sv)
        metadatas.append(meta)
    store.add_chunks([n.node_id for n in nodes], vectors.tolist(), metadatas,
                     [n.get_content() for n in nodes])  # fmt: skip
    records = [(_record_of(p.article, len(p.nodes)), p.article.text) for p in group]
    store.put_articles(records)
    local.add(
        [indexed_chunk(n.node_id, n.metadata, n.get_content(), v)
         for n, v in zip(nodes, vectors, strict=True)],
        {p.article.id: content_hash(p.article) for p in group},
    )  # fmt: skip
    for p in group:
        (summary.updated if p.replaced else summary.added).append(p.article.id)
        summary.chunks_added += len(p.nodes)


def indexed_chunk(chunk_id: str, meta: dict, text: str, vector) -> IndexedChunk:
    """What the local index keeps of a chunk: its vector, and for keywords its article's title
    with its text."""
    return IndexedChunk(
        chunk_id=chunk_id,
        article_id=meta.get("article_id", ""),
        text=f"{meta.get('title', '')}\n{text}",
        published_ts=int(meta.get("published_ts", 0) or 0),
        source=meta.get("source", ""),
        vector=vector,
    )


def _article_of(record: ArticleRecord, text: str) -> Article:
    return Article(
        id=record.id,
        title=record.title,
        text=text,
        source=record.source,
        published_at=record.published_at,
        url=record.url,
        origin=record.origin,
    )


def remove(store: Store, local: LocalIndex, article_id: str,
           corpus_dir: str | Path | None = None) -> Removal:  # fmt: skip
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
    local.generation = ""  # the saved mirror is stale until the caller saves it again
    store.new_generation()
    store.delete_article(article_id)
    local.remove_articles([article_id])
    return Removal(article_id, record.title, path_text(file) if file else "", kept)


def _removable_file(
    store: Store, record: ArticleRecord, corpus_dir: str | Path | None
) -> tuple[Path | None, str]:
    """The file to delete with ``record``'s article, or None and why it is kept."""
    if corpus_dir is None:
        return None, ""
    origin = origin_file(record.origin)
    if not origin:
        return None, "it came from no file."
    path = Path(origin)
    if _gone(origin):
        return None, "its file is already gone."
    name = path.name
    if not path.parent.resolve().is_relative_to(Path(corpus_dir).resolve()):
        return None, f"its file {name} lies outside the corpus folder and stays there."
    others = [
        r.id
        for r in store.article_records().values()
        if r.id != record.id and origin_file(r.origin) == origin
    ]
    found, rejected = load_file(path)  # a file that cannot be read comes back as rejected
    if others or {a.id for a in found} - {record.id}:
        return None, (
            f"its file {name} holds other articles too and stays: remove the article from it "
            "by hand, or the next sync of the corpus adds it again."
        )
    if record.id not in {a.id for a in found}:  # edited since, or no longer readable
        why = f" ({rejected[0][1]})" if rejected else ""
        return None, f"its file {name} no longer holds this article as indexed{why} and stays."
    if rejected:  # lines not read: the file holds more than this article
        return None, (
            f"its file {name} holds text that was not indexed and stays: remove the article "
            "from it by hand, or the next sync of the corpus adds it again."
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
