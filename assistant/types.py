"""The records that flow through the pipeline: articles, chunks, citations, answers, summaries."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Article:
    """One news article as loaded from a file, before chunking."""

    id: str
    title: str
    text: str
    source: str = ""
    published_at: str = ""  # YYYY-MM-DD, or "" when unknown
    url: str = ""
    origin: str = ""  # where it came from: "path" or "path#line-key", used by --sync

    @property
    def content_hash(self) -> str:
        from assistant.loading import content_hash

        return content_hash(self)


@dataclass(frozen=True)
class Chunk:
    """A contiguous span of an article: ``article.text[start:end] == text``."""

    article_id: str
    number: int
    start: int
    end: int
    text: str

    @property
    def id(self) -> str:
        return f"{self.article_id}:{self.number}"


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its article's metadata and the fused retrieval score."""

    chunk_id: str
    article_id: str
    text: str
    start: int
    end: int
    title: str
    source: str
    published_at: str
    url: str
    score: float = 0.0
    # the chunk's sentences: article offsets, and their unit vectors (late-chunked at ingest)
    sentence_spans: tuple[tuple[int, int], ...] = ()
    sentence_vectors: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Citation:
    """A numbered pointer to the exact quoted text of an article."""

    n: int
    article_id: str
    chunk_id: str
    title: str
    source: str
    published_at: str
    url: str
    quote: str
    start: int
    end: int
    passage: str = ""  # the surrounding chunk, for display
    passage_start: int = 0  # offset of ``passage`` in the article

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class AnswerSentence:
    """One sentence of an answer with the citation numbers it ends with."""

    text: str  # as shown, markers included: "The Islamic Resistance in Iraq [1]."
    markers: tuple[int, ...] = ()
    supported: bool = True  # its names, numbers and dates occur in the evidence it cites


@dataclass
class Answer:
    """What the assistant says, with the evidence behind it. A refusal carries no citations."""

    answer: str
    abstained: bool
    citations: list[Citation] = field(default_factory=list)
    question: str = ""
    search_query: str = ""  # the question as resolved against the conversation
    retrieved: list[Passage] = field(default_factory=list)
    confidence: float = 0.0
    short_answer: str | None = None  # the answer phrase; None for why/how and refusals
    sentences: list[AnswerSentence] = field(default_factory=list)
    backend: str = "extractive"  # which answer backend wrote ``answer``
    notice: str = ""  # e.g. the LLM could not be reached and the extractive answer is shown
    date_range: tuple[str, str] | None = None  # (from, until) read from the question's words

    def to_dict(self) -> dict[str, Any]:
        """The public JSON shape (what ``assistant ask --json`` prints)."""
        keys = (
            "n",
            "article_id",
            "title",
            "source",
            "published_at",
            "url",
            "quote",
            "start",
            "end",
        )
        return {
            "answer": self.answer,
            "short_answer": self.short_answer,
            "abstained": self.abstained,
            "backend": self.backend,
            "notice": self.notice,
            "date_range": list(self.date_range) if self.date_range else None,
            "sentences": [
                {"text": s.text, "markers": list(s.markers), "supported": s.supported}
                for s in self.sentences
            ],
            "citations": [{k: getattr(c, k) for k in keys} for c in self.citations],
        }


@dataclass(frozen=True)
class Removal:
    """What removing one article did: always out of the index; its file deleted or kept."""

    article_id: str
    title: str
    file_deleted: str = ""  # the file deleted from the corpus folder, or ""
    file_kept: str = ""  # why its file stays where it is ("" when deleted or there is none)

    def line(self) -> str:
        text = f"Removed “{self.title or self.article_id}” from the index"
        if self.file_deleted:
            return f"{text} and deleted its file {Path(self.file_deleted).name}."
        return f"{text}; {self.file_kept}" if self.file_kept else f"{text}."


@dataclass
class IngestSummary:
    """What an ingest did, article by article."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    chunks_added: int = 0
    seconds: float = 0.0

    def line(self) -> str:
        return (
            f"{len(self.added)} added, {len(self.updated)} updated, "
            f"{len(self.unchanged)} unchanged, {len(self.removed)} removed, "
            f"{len(self.rejected)} rejected ({self.chunks_added} chunks embedded "
            f"in {self.seconds:.1f} s)"
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["rejected"] = [{"file": f, "reason": r} for f, r in self.rejected]
        return data
