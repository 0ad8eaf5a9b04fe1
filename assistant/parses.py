"""Parsed sentences stored with the index, so that answering loads a parse instead of parsing.

Parsing a sentence (spaCy: tags, dependencies, names) is the costliest step of reading: ~2.6 ms
a sentence, about half of a question's time; loading a stored parse takes ~0.06 ms. The parses
live in a SQLite file beside the local index (``local-<collection>.parses.sqlite``), keyed by
a hash of the sentence's text (a sentence repeated in several articles or index copies is parsed
once), under the versions of the model, spaCy and our own steps: other parses are dropped.

Parsing the whole index costs about half as much CPU as embedding it, so ingest does not wait
for it: ``assistant ingest`` parses after embedding, on every core, as a second step with its
own progress bar (``--no-parse`` skips it), and the app parses in one low-priority process
(``python -m assistant.parses DB GENERATION PARENT NICENESS``, texts on stdin) after start and
after every upload. A sentence not stored yet is parsed when a question needs it, with the same
result. A damaged file is only a cache: it is replaced, and nothing ingested depends on it.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import logging
import os
import sqlite3
import struct
import sys
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

log = logging.getLogger(__name__)

SCHEMA = 2  # bump when what is stored changes (2: JSON head and raw array, not msgpack)
FILENAME = "parses.sqlite"
BATCH = 64  # sentences per spaCy batch: 2.6 ms a sentence in batches of 64, 3.3 in batches of 8
COMMIT_EVERY = 1024  # parses written per transaction: progress survives an interruption
WORKER_NICENESS = 10  # the background parser yields the CPU to questions and uploads
MAX_PROCESSES = 4  # ingest parses on up to this many cores (one spaCy pipeline each, ~0.3 GB;
# 16,000 sentences on 2 cores: 1.7 ms a sentence against 3.0 in one process)
MIN_SHARE = 2000  # sentences worth another process (~5 s of parsing against ~1.5 s to start)
_EXCLUDE = ["tensor", "user_data"]  # what reading never looks at (the tensor is 3/4 of a Doc)
_DAMAGED = (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT)  # the errors of a broken file


def text_key(text: str) -> bytes:
    """The store's key of a sentence: a hash of its exact text."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def pipeline_id(nlp) -> str:
    """What a stored parse depends on: the model, spaCy, our own steps (``nlp.STEPS``), the
    format. Parses stored under another id are dropped."""
    import spacy

    from assistant.nlp import STEPS

    meta = nlp.meta
    return (f"{meta.get('lang')}_{meta.get('name')}-{meta.get('version')} spacy-"
            f"{spacy.__version__} steps-{STEPS} format-{SCHEMA}")  # fmt: skip


def encode(doc) -> bytes:
    """A parse as bytes: spaCy's own dict of the Doc, its token array raw and the rest as JSON
    (spaCy's ``to_bytes`` packs it with msgpack, 4x slower to load), compressed."""
    msg = doc.to_dict(exclude=_EXCLUDE)
    body = msg.pop("array_body")
    msg["spans"] = msg["spans"].decode("latin-1")  # span groups: spaCy's own bytes
    msg["shape"] = body.shape
    head = json.dumps(msg).encode()
    return zlib.compress(struct.pack("<I", len(head)) + head + body.astype("<u8").tobytes(), 6)


def decode(data: bytes, vocab):
    """The Doc of ``encode``'s bytes, its strings added to ``vocab``."""
    import numpy as np
    from spacy.tokens import Doc

    raw = zlib.decompress(data)
    size = struct.unpack_from("<I", raw)[0]
    msg = json.loads(raw[4 : 4 + size])
    msg["array_body"] = np.frombuffer(raw, dtype="<u8", offset=4 + size).reshape(msg.pop("shape"))
    msg["array_head"] = tuple(msg["array_head"])
    msg["spans"] = msg["spans"].encode("latin-1")
    return Doc(vocab).from_dict(msg, exclude=_EXCLUDE)


class ParseStore:
    """Stored parses by sentence text. Thread-safe; the file is created on the first write."""

    def __init__(self, path: str | Path, pipeline: str) -> None:
        self.path = Path(path)
        self.pipeline = pipeline
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _connect(self, create: bool) -> sqlite3.Connection | None:
        if self._conn is not None:
            return self._conn
        if not create and not self.path.exists():
            return None
        try:
            self._conn = self._open()
        except sqlite3.DatabaseError as exc:
            if getattr(exc, "sqlite_errorcode", None) not in _DAMAGED:
                raise  # locked, read-only, disk full: the file may be fine
            log.warning("Parse store %s is damaged (%s); starting a new one.", self.path, exc)
            for path in (self.path, *(Path(f"{self.path}{x}") for x in ("-wal", "-shm"))):
                path.unlink(missing_ok=True)  # a cache only: nothing ingested depends on it
            self._conn = self._open()
        return self._conn

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        try:
            conn.execute("PRAGMA journal_mode=WAL")  # readers go on while the worker writes
            conn.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT)")
            # a rowid table keeps each ~1.4 KB parse inline; WITHOUT ROWID spilled each to a page
            conn.execute("CREATE TABLE IF NOT EXISTS parses (key BLOB PRIMARY KEY, doc BLOB)")
            row = conn.execute("SELECT value FROM meta WHERE name = 'pipeline'").fetchone()
            if row is None or row[0] != self.pipeline:  # another pipeline's: none is complete
                with conn:
                    conn.execute("DELETE FROM parses")
                    conn.execute("DELETE FROM meta")
                    conn.execute("INSERT INTO meta VALUES ('pipeline', ?)", (self.pipeline,))
            conn.execute("SELECT count(*) FROM parses LIMIT 1").fetchone()  # damaged: raises
        except sqlite3.DatabaseError:
            conn.close()
            raise
        return conn

    def get(self, texts: list[str]) -> list[bytes | None]:
        """The stored parse of each text, or None. Never raises: a lookup failure parses."""
        out: list[bytes | None] = [None] * len(texts)
        with self._lock:
            try:
                conn = self._connect(create=False)
                if conn is None:
                    return out
                keys = [text_key(t) for t in texts]
                marks = ",".join("?" * len(keys))
                found = dict(conn.execute(f"SELECT key, doc FROM parses WHERE key IN ({marks})",
                                          keys).fetchall())  # fmt: skip
            except (sqlite3.Error, OSError) as exc:
                log.warning("Parse store %s: lookup failed (%s).", self.path, exc)
                return out
        return [found.get(k) for k in keys]

    @property
    def generation(self) -> str:
        """The index generation whose every sentence is stored ('' if none is yet)."""
        with self._lock:
            try:
                conn = self._connect(create=False)
                row = conn and conn.execute("SELECT value FROM meta WHERE name = 'generation'"
                                            ).fetchone()  # fmt: skip
            except sqlite3.Error:
                return ""
            return row[0] if row else ""

    def complete(self, generation: str) -> None:
        """Record that every sentence of index generation ``generation`` is stored."""
        with self._lock, self._connect(create=True) as conn:
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('generation', ?)", (generation,))

    def keys(self) -> set[bytes]:
        with self._lock:
            conn = self._connect(create=False)
            if conn is None:
                return set()
            return {k for (k,) in conn.execute("SELECT key FROM parses")}

    def put(self, items: Iterable[tuple[bytes, bytes]]) -> None:
        with self._lock:
            conn = self._connect(create=True)
            with conn:
                conn.executemany("INSERT OR REPLACE INTO parses VALUES (?, ?)", items)

    def drop(self, keys: list[bytes]) -> None:
        """Forget the parses stored under ``keys``."""
        if keys:
            with self._lock, self._connect(create=True) as conn:
                conn.executemany("DELETE FROM parses WHERE key = ?", ((k,) for k in keys))

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def index_sentences(chunks: Iterable[tuple[str, str, dict]]) -> Iterator[str]:
    """The texts reading parses, from stored chunks ``(id, text, metadata)``: every full
    sentence (what ``reading`` splits by the stored spans) and every headline."""
    from assistant.indexing import parse_spans
    from assistant.reading import headline_of
    from assistant.text import is_statement

    for _, text, meta in chunks:
        text = text or ""
        for start, end in parse_spans(meta.get("sentences", "")):
            sentence = text[start:end]
            if sentence.strip() and is_statement(sentence):
                yield sentence
        headline = headline_of(meta.get("title", "") or "")
        if headline:
            yield headline  # once a chunk: ``missing`` keeps one of each text


def missing(store: ParseStore, texts: Iterable[str], prune: bool = False) -> list[str]:
    """The distinct ``texts`` without a stored parse; with ``prune``, the stored parses of any
    other text are dropped (``texts`` must then be the whole index)."""
    have = store.keys()
    wanted: dict[bytes, str] = {}
    for text in texts:
        wanted.setdefault(text_key(text), text)
    if prune:
        store.drop(list(have - wanted.keys()))
    return [text for key, text in wanted.items() if key not in have]


def fill(store: ParseStore, texts: list[str], progress: bool | Callable[[int, int], None] = False,
         stop: Callable[[], bool] = lambda: False) -> int:  # fmt: skip
    """Parse ``texts`` and store the parses; how many were stored. Safe to interrupt (or to
    ``stop``): what was committed stays, the rest is parsed next time or when a question needs
    it."""
    from assistant.encoder import one_blas_thread
    from assistant.nlp import parse_fresh

    bar = _bar(progress, len(texts))
    done = 0
    pending: list[tuple[bytes, bytes]] = []
    try:
        with one_blas_thread():  # spaCy's small matrices: BLAS threads only contend
            for at in range(0, len(texts), BATCH):
                if stop():
                    break
                batch = texts[at : at + BATCH]
                docs = parse_fresh(batch)
                pending += [(text_key(t), encode(d)) for t, d in zip(batch, docs, strict=True)]
                done += len(batch)
                if len(pending) >= COMMIT_EVERY:
                    store.put(pending)
                    pending = []
                bar(done)
        if pending:
            store.put(pending)
    finally:
        bar(None)
    return done


def _bar(progress, total: int) -> Callable[[int | None], None]:
    if callable(progress):
        return lambda done: None if done is None else progress(done, total)
    if not progress or not total:
        return lambda done: None
    from tqdm import tqdm

    bar = tqdm(total=total, unit="sentence", desc="Parsing", file=sys.stderr, dynamic_ncols=True)

    def update(done: int | None) -> None:
        if done is None:
            bar.close()
        else:
            bar.n = done
            bar.refresh()

    return update


def fill_parallel(store: ParseStore, texts: list[str], progress=False) -> bool:
    """``fill`` on every core (up to ``MAX_PROCESSES``): this process parses one share, worker
    processes the others, all into the same store. Whether every share was stored: a worker
    that fails leaves its sentences to be parsed when needed (logged)."""
    processes = max(1, min(os.cpu_count() or 1, MAX_PROCESSES, len(texts) // MIN_SHARE))
    if processes == 1:
        fill(store, texts, progress)
        return True
    shares = [texts[i::processes] for i in range(processes)]
    failed: list[str] = []
    helpers = [threading.Thread(target=_helper, args=(store.path, share, failed), daemon=True)
               for share in shares[1:]]  # fmt: skip
    for helper in helpers:
        helper.start()
    bar = _bar(progress, len(texts))
    try:  # this share's progress stands for all: the shares are alike
        fill(store, shares[0], lambda done, total: bar(min(done * processes, len(texts))))
        for helper in helpers:
            helper.join()
        bar(len(texts))
    finally:
        bar(None)
    return not failed


def _helper(path: Path, texts: list[str], failed: list[str]) -> None:
    try:
        run_worker(path, texts, "", niceness=0)
    except OSError as exc:
        failed.append(str(exc))
        log.warning("A parsing process failed; its sentences are parsed when needed: %s", exc)


_workers: set = set()  # running parsing processes, stopped when this process exits
_workers_lock = threading.Lock()
_closing = False  # this process is exiting: start no more


def run_worker(path: Path, texts: list[str], generation: str,
               niceness: int = WORKER_NICENESS) -> None:  # fmt: skip
    """Parse ``texts`` into the store at ``path`` in a separate process (``niceness``: its
    priority below ours) and wait for it; it marks ``generation`` complete when done, and stops
    if this process dies. Raises OSError if it fails."""
    import subprocess

    with _workers_lock:
        if _closing:
            raise OSError("the app is closing")
        worker = subprocess.Popen(
            [sys.executable, "-m", "assistant.parses", str(path), generation, str(os.getpid()),
             str(niceness)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=Path(__file__).resolve().parent.parent,
        )  # fmt: skip
        _workers.add(worker)
    try:
        _, err = worker.communicate(json.dumps(texts).encode("utf-8", "surrogatepass"))
    finally:
        with _workers_lock:
            _workers.discard(worker)
    if worker.returncode:
        raise OSError(err.decode(errors="replace").strip()[-300:] or
                      f"the parsing process exited with status {worker.returncode}")  # fmt: skip


@atexit.register
def _stop_workers() -> None:
    global _closing
    with _workers_lock:
        _closing = True
        for worker in list(_workers):
            worker.terminate()  # what it committed stays; the rest is parsed next time


def main(argv: list[str] | None = None) -> int:
    """The worker: parse the JSON list of texts on stdin into the store, then mark the index
    generation given (if any) complete. It stops early when its parent process is gone."""
    from assistant.nlp import pipeline

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 4 or not args[2].isdigit() or not args[3].isdigit():
        print("usage: python -m assistant.parses STORE.sqlite GENERATION PARENT_PID NICENESS "
              "< texts.json", file=sys.stderr)  # fmt: skip
        return 2
    parent = int(args[2])
    try:
        os.nice(int(args[3]))
    except OSError:
        pass
    try:
        texts = json.loads(sys.stdin.buffer.read().decode("utf-8", "surrogatepass"))
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise ValueError("expected a JSON list of strings")
        store = ParseStore(args[0], pipeline_id(pipeline()))
        orphaned = lambda: os.getppid() != parent  # noqa: E731
        fill(store, missing(store, texts), stop=orphaned)
        if args[1] and not orphaned():
            store.complete(args[1])
        store.close()
    except (ValueError, OSError, sqlite3.Error) as exc:
        print(f"Parsing in the background failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
