"""A local mirror of what retrieval searches: chunk vectors and BM25 term counts, with the
date and source of every chunk, kept on disk and updated incrementally.

Chroma is the source of truth and holds everything; this mirror answers the two searches of a
question in milliseconds whatever the date and source filters (Chroma's own metadata filter
scans, and grows with the index). Each ingest adds a segment (the chunks' unit vectors and a
sparse docs x terms matrix of term counts) instead of rebuilding everything; removed articles
are masked out until segments are merged. BM25 uses the global document frequencies and
lengths, so a segment's scores compare with any other's. The mirror records the store's
generation; ``sync_local_index`` repairs a stale or missing mirror from the stored chunks.

On disk each segment keeps its own files, named once and never rewritten: a save writes the
segments that are new since the last one, the live-document masks and ``meta.json``, which
names the files of the copy (replaced atomically). So an upload into a large index writes
kilobytes, not the whole mirror. When segments exceed ``MAX_SEGMENTS`` the smallest are
merged, so an upload does not merge the whole index either.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
import uuid
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from assistant.text import index_terms

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

if TYPE_CHECKING:
    from assistant.settings import Settings

FORMAT = 3  # 2: chunk vectors; 3: segment files named in meta.json, saved once (2 loads)
MAX_SEGMENTS = 12  # merge beyond this many segments: each costs a little per query
MAX_DEAD_SHARE = 0.25  # merge when this share of documents was removed
STALE_FILE_S = 60.0  # delete files no saved copy names once this old (a save may be writing)
LOAD_ATTEMPTS = 3  # a save can replace the copy mid-load: read meta.json again, this often
REPLACE_ATTEMPTS, REPLACE_WAIT_S = 5, 0.05  # Windows: meta.json open in a reader, wait a bit


@dataclass(frozen=True)
class IndexedChunk:
    chunk_id: str
    article_id: str
    text: str  # what keywords are searched in: the article title and the chunk text
    published_ts: int
    source: str
    vector: np.ndarray  # the chunk's unit embedding (as stored in Chroma)


@dataclass
class _Segment:
    ids: np.ndarray  # chunk ids (str)
    articles: np.ndarray  # article id of each document (str)
    lengths: np.ndarray  # terms per document
    ts: np.ndarray  # published_ts per document (0 = unknown)
    sources: np.ndarray  # source per document (str)
    matrix: object  # scipy.sparse.csc_matrix, documents x terms, term counts
    vectors: np.ndarray  # documents x dimensions, float32 unit vectors
    alive: np.ndarray  # False once the document's article is removed
    name: str = ""  # its files' name stem once saved (format 3), "" before
    rows: dict = field(default_factory=dict, repr=False)  # chunk id -> row

    def __post_init__(self) -> None:
        if not self.rows:
            self.rows = {cid: row for row, cid in enumerate(self.ids)}


@dataclass(frozen=True)
class _Stats:
    segments: tuple[_Segment, ...]
    df: np.ndarray  # live documents per term
    docs: int
    mean_length: float


class LocalIndex:
    """Vector and BM25 (``k1``, ``b``) search over chunks; thread-safe for one writer and many
    readers."""

    def __init__(self, k1: float = 1.5, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.vocab: dict[str, int] = {}
        self.generation = ""  # the store generation this index reflects
        self.hashes: dict[str, str] = {}  # content hash of each indexed article
        self._stats = _Stats((), np.zeros(0, np.int64), 0, 0.0)
        self._lock = threading.Lock()

    # --- reading ---

    @property
    def docs(self) -> int:
        return self._stats.docs

    def article_ids(self) -> set[str]:
        found: set[str] = set()
        for seg in self._stats.segments:
            found.update(seg.articles[seg.alive].tolist())
        return found

    def idf(self, term: str, prior_docs: int = 0) -> float:
        """Inverse document frequency of a stemmed term (unknown terms count as rare);
        ``prior_docs`` pseudo-documents without the term keep a small corpus's weights sane."""
        stats = self._stats
        i = self.vocab.get(term)
        df = int(stats.df[i]) if i is not None and i < len(stats.df) else 0
        return float(np.log(1 + (stats.docs + prior_docs - df + 0.5) / (df + 0.5)))

    def search(
        self,
        query: str,
        k: int,
        as_of_ts: int | None = None,
        from_ts: int | None = None,
        sources: Iterable[str] = (),
    ) -> list[tuple[str, float]]:
        """The ``k`` best ``(chunk_id, score)`` for ``query`` among documents passing filters."""
        stats = self._stats
        term_ids = sorted({self.vocab[t] for t in index_terms(query) if t in self.vocab})
        if not term_ids or not stats.docs:
            return []
        df = stats.df[term_ids].astype(np.float64)
        idf = np.log(1 + (stats.docs - df + 0.5) / (df + 0.5))
        best: list[tuple[float, str]] = []
        for seg in stats.segments:
            scores = self._score(seg, term_ids, idf, stats.mean_length)
            if scores is None:
                continue
            scores[~_allowed(seg, as_of_ts, from_ts, sources)] = 0.0
            hits = np.flatnonzero(scores)
            if len(hits) > k:
                hits = hits[np.argpartition(-scores[hits], k - 1)[:k]]
            best.extend((float(scores[i]), str(seg.ids[i])) for i in hits)
        best.sort(reverse=True)
        return [(chunk_id, score) for score, chunk_id in best[:k]]

    def nearest(
        self,
        vector: np.ndarray,
        k: int,
        as_of_ts: int | None = None,
        from_ts: int | None = None,
        sources: Iterable[str] = (),
    ) -> list[tuple[str, float]]:
        """The ``k`` chunks most similar to ``vector`` (cosine) among those passing filters.

        Exact, not approximate: one matrix product per segment; at 220,000 chunks a few
        tens of milliseconds, and a filter costs nothing extra."""
        query = np.asarray(vector, dtype=np.float32)
        best: list[tuple[float, str]] = []
        for seg in self._stats.segments:
            if not len(seg.ids):
                continue
            scores = seg.vectors @ query
            keep = np.flatnonzero(_allowed(seg, as_of_ts, from_ts, sources))
            if len(keep) > k:
                keep = keep[np.argpartition(-scores[keep], k - 1)[:k]]
            best.extend((float(scores[i]), str(seg.ids[i])) for i in keep)
        best.sort(reverse=True)
        return [(chunk_id, score) for score, chunk_id in best[:k]]

    def chunk_meta(self, chunk_id: str) -> tuple[int, str] | None:
        """(published_ts, source) of a live chunk, or None."""
        for seg in self._stats.segments:
            row = seg.rows.get(chunk_id)
            if row is not None and seg.alive[row]:
                return int(seg.ts[row]), str(seg.sources[row])
        return None

    def _score(self, seg: _Segment, term_ids, idf, mean_length: float) -> np.ndarray | None:
        matrix = seg.matrix
        scores = None
        norm = self.k1 * (1 - self.b + self.b * seg.lengths / max(mean_length, 1e-9))
        for term, weight in zip(term_ids, idf, strict=True):
            if term >= matrix.shape[1]:
                continue
            lo, hi = matrix.indptr[term], matrix.indptr[term + 1]
            if lo == hi:
                continue
            rows = matrix.indices[lo:hi]
            tf = matrix.data[lo:hi]
            if scores is None:
                scores = np.zeros(matrix.shape[0], dtype=np.float64)
            scores[rows] += weight * tf * (self.k1 + 1) / (tf + norm[rows])
        return scores

    # --- writing ---

    def add(self, docs: list[IndexedChunk], hashes: dict[str, str] | None = None) -> None:
        """Index ``docs`` as a new segment (their articles' old documents are removed first);
        ``hashes`` records the content hash of each article they belong to."""
        from scipy import sparse

        with self._lock:
            self._remove_locked({d.article_id for d in docs} | set(hashes or ()))
            self.hashes.update(hashes or {})
            if not docs:
                return
            rows, cols, counts, lengths = [], [], [], []
            for row, doc in enumerate(docs):
                terms = index_terms(doc.text)
                lengths.append(len(terms))
                ids, tf = np.unique([self._term_id(t) for t in terms], return_counts=True)
                rows.extend([row] * len(ids))
                cols.extend(ids.tolist())
                counts.extend(tf.tolist())
            matrix = sparse.csc_matrix(
                (np.asarray(counts, np.float32), (rows, cols)),
                shape=(len(docs), len(self.vocab)),
            )
            seg = _Segment(
                ids=np.asarray([d.chunk_id for d in docs], dtype=object),
                articles=np.asarray([d.article_id for d in docs], dtype=object),
                lengths=np.asarray(lengths, np.float32),
                ts=np.asarray([d.published_ts for d in docs], np.int64),
                sources=np.asarray([d.source for d in docs], dtype=object),
                matrix=matrix,
                vectors=np.stack([np.asarray(d.vector, np.float32) for d in docs]),
                alive=np.ones(len(docs), dtype=bool),
            )
            self._publish([*self._stats.segments, seg])

    def remove_articles(self, article_ids: Iterable[str]) -> None:
        with self._lock:
            self._remove_locked(set(article_ids))

    def _remove_locked(self, article_ids: set[str]) -> None:
        if not article_ids:
            return
        for article_id in article_ids:
            self.hashes.pop(article_id, None)
        changed = False
        segments = []
        for seg in self._stats.segments:
            hit = np.isin(seg.articles, list(article_ids)) & seg.alive
            if hit.any():
                seg = _Segment(**{**seg.__dict__, "alive": seg.alive & ~hit})
                changed = True
            segments.append(seg)
        if changed:
            self._publish(segments)

    def _term_id(self, term: str) -> int:
        i = self.vocab.get(term)
        if i is None:
            i = self.vocab[term] = len(self.vocab)
        return i

    def _publish(self, segments: list[_Segment]) -> None:
        """Swap in new segments and statistics at once (readers see old or new, never a mix)."""
        total = sum(int(s.alive.sum()) for s in segments)
        dead = sum(len(s.alive) for s in segments) - total
        if segments and dead > MAX_DEAD_SHARE * (total + dead):
            segments = [_merge(segments, len(self.vocab))]
        elif len(segments) > MAX_SEGMENTS:  # the smallest together: the fewest rows rewritten
            order = sorted(range(len(segments)), key=lambda i: int(segments[i].alive.sum()))
            small = set(order[: len(segments) - MAX_SEGMENTS + 1])
            merged = _merge([segments[i] for i in sorted(small)], len(self.vocab))
            segments = [s for i, s in enumerate(segments) if i not in small] + [merged]
        df = np.zeros(len(self.vocab), np.int64)
        length = 0.0
        for seg in segments:
            live = seg.matrix[seg.alive] if not seg.alive.all() else seg.matrix
            counts = np.diff(live.tocsc().indptr)
            df[: len(counts)] += counts
            length += float(seg.lengths[seg.alive].sum())
        self._stats = _Stats(tuple(segments), df, total, length / total if total else 0.0)

    # --- persistence ---

    def save(self, folder: Path) -> None:
        """Write the index to ``folder``: the files of segments it does not hold yet, the
        live-document masks, then ``meta.json`` naming them (replaced atomically). Saves of
        one folder take turns (``_saving``): the last one stands, and files no copy names any
        more go."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        with _saving(folder):
            with self._lock:  # the newest state once it is our turn (the last save stands)
                stats, vocab = self._stats, list(self.vocab)
                hashes, generation = dict(self.hashes), self.generation
            names = []
            for seg in stats.segments:
                name = seg.name
                if not name or not all((folder / f).exists() for f in _segment_files(name)):
                    # a new name even when some of its files remain: never write over a file
                    # another process may have mapped
                    name = f"s{uuid.uuid4().hex[:16]}"
                    _write_segment(folder, seg, name)
                    seg.name = name  # (saves in this process take turns too)
                names.append(name)
            alive = f"alive-{uuid.uuid4().hex[:16]}.npz"
            np.savez(folder / alive, **dict(zip(names, (seg.alive for seg in stats.segments),
                                                strict=True)))  # fmt: skip
            meta = {"format": FORMAT, "generation": generation, "k1": self.k1, "b": self.b,
                    "segments": names, "alive": alive, "terms": vocab,
                    "hashes": hashes}  # fmt: skip
            tmp = folder / f".meta-{uuid.uuid4().hex[:8]}.json"
            tmp.write_text(json.dumps(meta))
            try:
                _replace(tmp, folder / "meta.json")
            except OSError:
                tmp.unlink(missing_ok=True)
                raise
            _drop_unnamed(folder, meta)

    @classmethod
    def load(cls, folder: Path, k1: float = 1.5, b: float = 0.75) -> LocalIndex | None:
        """The index saved in ``folder``; None when missing, unreadable or of another format."""
        for _ in range(LOAD_ATTEMPTS):
            try:
                return cls._load(Path(folder), k1, b)
            except FileNotFoundError:  # a save replaced the copy meanwhile: read it again
                continue
            except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile):
                return None  # (a file cut short: the mirror is rebuilt from the store)
        return None

    @classmethod
    def _load(cls, folder: Path, k1: float, b: float) -> LocalIndex | None:
        from scipy import sparse

        meta = json.loads((folder / "meta.json").read_text())
        if meta.get("format") not in (2, FORMAT):
            return None
        index = cls(k1, b)
        index.vocab = {t: i for i, t in enumerate(meta["terms"])}
        index.generation = meta.get("generation", "")
        index.hashes = dict(meta.get("hashes", {}))
        if meta["format"] == 2:  # positional names, masks in the documents' files
            names, masks = [f"seg{n}" for n in range(int(meta["segments"]))], None
        else:
            names = list(meta["segments"])
            with np.load(folder / meta["alive"]) as saved:
                masks = {name: saved[name] for name in names}
        segments = []
        for name in names:
            with np.load(folder / f"{name}-docs.npz") as docs:
                segments.append(_Segment(
                    ids=docs["ids"].astype(object), articles=docs["articles"].astype(object),
                    lengths=docs["lengths"], ts=docs["ts"],
                    sources=docs["sources"].astype(object),
                    matrix=sparse.load_npz(folder / f"{name}.npz").tocsc(),
                    vectors=np.load(folder / f"{name}-vectors.npy", mmap_mode="r"),
                    alive=(docs["alive"] if masks is None else masks[name]).copy(),
                    name=name if masks is not None else "",  # format 2's are saved again
                ))  # fmt: skip
        index._publish(segments)
        return index


def _segment_files(name: str) -> tuple[str, str, str]:
    return f"{name}.npz", f"{name}-docs.npz", f"{name}-vectors.npy"


def _write_segment(folder: Path, seg: _Segment, name: str) -> None:
    """A segment's files under ``name``, each written aside and renamed into place."""
    from scipy import sparse

    matrix, docs, vectors = (folder / f for f in _segment_files(name))
    tag = uuid.uuid4().hex[:8]
    parts = [(matrix, lambda f: sparse.save_npz(f, seg.matrix, compressed=False)),
             (vectors, lambda f: np.save(f, seg.vectors)),
             (docs, lambda f: np.savez(f, ids=seg.ids.astype(str),
                                       articles=seg.articles.astype(str), lengths=seg.lengths,
                                       ts=seg.ts, sources=seg.sources.astype(str)))]  # fmt: skip
    for final, write in parts:
        tmp = final.with_name(f".{tag}-{final.name}")
        with open(tmp, "wb") as f:  # (a file object: NumPy would add its own suffix to a name)
            write(f)
        os.replace(tmp, final)


_SAVING = threading.Lock()  # saves in this process take turns (see ``_saving``)


@contextlib.contextmanager
def _saving(folder: Path):
    """Saves of ``folder`` take turns, across processes too (an advisory lock on a file beside
    it): a save's check of which files exist, its writes, its ``meta.json`` and the files it
    drops then see no other save's. Without ``fcntl`` (Windows), or where the file system
    refuses the lock, only this process's do."""
    with _SAVING, contextlib.ExitStack() as stack:
        if fcntl is not None:
            try:
                lock = stack.enter_context(open(folder.with_name(f".{folder.name}.lock"), "a+b"))
                fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            except OSError:  # (a network file system without locks, say)
                pass
        yield


def _replace(src: Path, dst: Path) -> None:
    """``os.replace``, tried again briefly while Windows refuses it (a reader has ``dst``
    open); elsewhere it succeeds or fails at once."""
    for attempt in range(REPLACE_ATTEMPTS):
        try:
            os.replace(src, dst)
            return
        except PermissionError:
            if os.name != "nt" or attempt == REPLACE_ATTEMPTS - 1:
                raise
            time.sleep(REPLACE_WAIT_S)


def _drop_unnamed(folder: Path, meta: dict) -> None:
    """Delete the files of ``folder`` that the copy ``meta`` does not name, once they are
    ``STALE_FILE_S`` old (younger ones may belong to a save that does not take turns)."""
    keep = {"meta.json", meta["alive"]}
    for name in meta["segments"]:
        keep.update(_segment_files(name))
    now = time.time()
    for path in folder.iterdir():
        with contextlib.suppress(OSError):
            if path.name not in keep and now - path.stat().st_mtime > STALE_FILE_S:
                path.unlink()


def local_folder(settings: Settings) -> Path:
    """Where the local index of this store lives (a local cache for a Chroma server)."""
    store = settings.store
    if store.chroma_host:
        name = f"local-{store.chroma_host}-{store.chroma_port}-{store.collection}"
        return Path(store.data_dir) / name
    return Path(store.data_dir) / f"local-{store.collection}"


def _allowed(seg: _Segment, as_of_ts, from_ts, sources) -> np.ndarray:
    """Rows of ``seg`` that are live and pass the date and source filters."""
    keep = seg.alive.copy()
    if as_of_ts is not None:
        keep &= seg.ts <= as_of_ts
    if from_ts is not None:
        keep &= seg.ts >= from_ts
    wanted = list(sources)
    if wanted:
        keep &= np.isin(seg.sources, wanted)
    return keep


def _merge(segments: list[_Segment], n_terms: int) -> _Segment:
    """One segment holding the live documents of ``segments``."""
    from scipy import sparse

    parts = []
    for seg in segments:
        m = seg.matrix[seg.alive]
        if m.shape[1] < n_terms:
            m = sparse.hstack([m, sparse.csc_matrix((m.shape[0], n_terms - m.shape[1]))])
        parts.append(m.tocsr())
    matrix = sparse.vstack(parts).tocsc() if parts else sparse.csc_matrix((0, n_terms))

    def join(name: str) -> np.ndarray:
        return np.concatenate([getattr(s, name)[s.alive] for s in segments])

    return _Segment(
        ids=join("ids"), articles=join("articles"), lengths=join("lengths"), ts=join("ts"),
        sources=join("sources"), matrix=matrix, vectors=join("vectors").astype(np.float32),
        alive=np.ones(matrix.shape[0], dtype=bool),
    )  # fmt: skip


def sync_local_index(index: LocalIndex | None, store, folder: Path | None, k1: float,
                     b: float) -> LocalIndex:  # fmt: skip
    """The local index in line with ``store``: loaded from ``folder`` when current, else
    repaired (articles added, changed or removed since it was saved) and saved again."""
    from assistant.indexing import indexed_chunk

    generation = store.generation() or store.new_generation()
    if index is None and folder is not None:
        index = LocalIndex.load(folder, k1, b)
    if index is None or (index.k1, index.b) != (k1, b):
        index = LocalIndex(k1, b)
    if index.generation and index.generation == generation:
        return index
    records = store.article_records()
    stale = [a for a, h in index.hashes.items() if records.get(a) is None
             or records[a].content_hash != h]  # fmt: skip
    index.remove_articles(stale)
    missing = sorted(a for a, r in records.items() if index.hashes.get(a) != r.content_hash)
    for at in range(0, len(missing), 500):
        ids = missing[at : at + 500]
        docs = [indexed_chunk(cid, meta, text, vector)
                for cid, text, meta, vector in store.chunks_of(ids)]  # fmt: skip
        index.add(docs, {a: records[a].content_hash for a in ids})
    index.generation = generation
    if folder is not None:
        index.save(folder)
    return index
