"""What the page shows about the index (counts, sources, examples, the article list), kept in
step with it for every open browser.

Each page polls ``LiveCorpus.signature()``, a cheap string that changes whenever the indexed
articles may have (an upload or removal in this app, or different counts), and asks for a new
``snapshot()`` only then; the snapshot is built once per change and shared by all pages, its
example questions on first use (they parse the newest articles; an upload's reply does not
wait for them).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from assistant.errors import AssistantError
from assistant.store import ArticleRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CorpusSnapshot:
    signature: str
    records: list[ArticleRecord] = field(default_factory=list)  # newest first
    chunks: int = 0
    error: str = ""  # why the index cannot be read (e.g. none built yet)
    # the example questions, worked out on first use: they parse the newest articles (about a
    # second the first time), which an upload's reply (counts, list) does not need to wait for
    make_examples: Callable[[], list[str]] | None = field(default=None, repr=False, compare=False)
    _made: dict = field(default_factory=dict, repr=False, compare=False)
    _making: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def examples(self) -> list[str]:
        with self._making:
            if "examples" not in self._made:
                self._made["examples"] = self.make_examples() if self.make_examples else []
            return self._made["examples"]

    @property
    def sources(self) -> list[str]:
        return sorted({r.source for r in self.records if r.source}, key=str.casefold)

    @property
    def earliest(self) -> str | None:
        """The earliest publication day indexed (YYYY-MM-DD), None when nothing is dated."""
        dates = [r.published_at for r in self.records if r.published_at]
        return min(dates) if dates else None

    def record(self, article_id: str) -> ArticleRecord | None:
        return next((r for r in self.records if r.id == article_id), None)


Examples = Callable[[list[ArticleRecord], Callable[[str], str | None]], list[str]]


class LiveCorpus:
    """The index as the pages see it; ``bump()`` after this app changes it."""

    def __init__(
        self,
        assistant,
        examples: Examples | None = None,
        newest: int = 8,
        ttl: float = 1.0,
    ) -> None:
        self.assistant = assistant
        self._examples = examples
        self._newest = newest
        self._ttl = ttl
        self._generation = 0
        self._signature: tuple[float, str] | None = None
        self._snapshot: CorpusSnapshot | None = None
        self._lock = threading.Lock()
        self._building = threading.Lock()  # one build at a time; the others wait and share it

    def bump(self) -> None:
        """The app changed the index (upload, removal): every page refreshes."""
        with self._lock:
            self._generation += 1
            self._signature = None

    def signature(self) -> str:
        """Changes whenever the indexed articles may have; cached for ``ttl`` seconds, so many
        polling pages cost one look at the index."""
        with self._lock:
            now = time.monotonic()
            if self._signature and now - self._signature[0] < self._ttl:
                return self._signature[1]
            try:
                stats = self.assistant.stats()
                counts = f"{stats['articles']}:{stats['chunks']}"
            except AssistantError as exc:
                counts = f"error:{exc}"
            value = f"{self._generation}:{counts}"
            self._signature = (now, value)
            return value

    def snapshot(self) -> CorpusSnapshot:
        """The current snapshot, rebuilt only when the signature moved."""
        signature = self.signature()
        with self._building:
            with self._lock:
                if self._snapshot is not None and self._snapshot.signature == signature:
                    return self._snapshot
            built = self._build(signature)
            with self._lock:
                self._snapshot = built
            return built

    def _build(self, signature: str) -> CorpusSnapshot:
        try:
            records = self.assistant.articles()
            chunks = self.assistant.stats()["chunks"]
        except AssistantError as exc:
            return CorpusSnapshot(signature, error=str(exc))
        make_examples = None
        if self._examples is not None and records:
            newest, write = records[: self._newest], self._examples

            def make_examples() -> list[str]:
                try:
                    return write(newest, self.assistant.article_text)
                except AssistantError:
                    return []
                except Exception:  # examples are a nicety: logged once, never retried
                    log.exception("example questions failed")
                    return []

        return CorpusSnapshot(signature, records, chunks, make_examples=make_examples)
