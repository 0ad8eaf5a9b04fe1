"""The logic behind the web UI as plain functions: sources, highlighting, uploads, examples.

``app.py`` only wires these to Gradio components, so everything here is tested directly.
"""

from __future__ import annotations

import hashlib
import html
import re
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from assistant.loading import SUPPORTED_SUFFIXES
from assistant.types import Answer, Citation, IngestSummary

UPLOAD_DIR = "uploads"
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def highlight_passage(citation: Citation) -> str:
    """The passage around a citation as HTML, the quoted sentence inside ``<mark>``."""
    passage, offset = citation.passage, citation.passage_start
    start, end = citation.start - offset, citation.end - offset
    if (
        not passage
        or not (0 <= start <= end <= len(passage))
        or passage[start:end] != citation.quote
    ):
        return f"<mark>{html.escape(citation.quote)}</mark>"
    return (
        html.escape(passage[:start])
        + f"<mark>{html.escape(passage[start:end])}</mark>"
        + html.escape(passage[end:])
    )


def _meta_line(c: Citation) -> str:
    parts = [html.escape(x) for x in (c.source, c.published_at) if x]
    return " · ".join(parts)


def sources_html(answer: Answer | None) -> str:
    """The side panel: numbered sources with the cited sentence highlighted in its passage."""
    if answer is None:
        return "<div class='nd-sources nd-empty'>Sources of the latest answer appear here.</div>"
    if answer.abstained or not answer.citations:
        return "<div class='nd-sources nd-empty'>No sources: the articles don't answer this.</div>"
    items = []
    for c in answer.citations:
        title = html.escape(c.title or c.article_id)
        if c.url:
            href = html.escape(c.url, quote=True)
            title = f"<a href='{href}' target='_blank' rel='noopener'>{title}</a>"
        items.append(
            f"<div class='nd-source' id='source-{c.n}'>"
            f"<div class='nd-head'><b>[{c.n}]</b> {title}</div>"
            f"<div class='nd-meta'>{_meta_line(c)}</div>"
            f"<blockquote class='nd-passage'>{highlight_passage(c)}</blockquote></div>"
        )
    return "<div class='nd-sources'>" + "".join(items) + "</div>"


def answer_markdown(answer: Answer) -> str:
    """The chat message: the answer, then its numbered sources with their quotes.

    The first line is the answer alone, which is what follow-up resolution reads back.
    """
    if answer.abstained or not answer.citations:
        return answer.answer
    lines = [answer.answer, ""]
    for c in answer.citations:
        title = c.title or c.article_id
        link = f"[{title}]({c.url})" if c.url else title
        meta = ", ".join(x for x in (c.source, c.published_at) if x)
        lines.append(f"[{c.n}] {link}" + (f" ({meta})" if meta else ""))
        lines.append(f"> {c.quote}")
        lines.append("")
    return "\n".join(lines).rstrip()


def stream_chunks(text: str, words_per_step: int = 4):
    """Prefixes of ``text`` growing a few words at a time, for a streamed reply."""
    words = text.split(" ")
    for i in range(words_per_step, len(words), words_per_step):
        yield " ".join(words[:i])
    yield text


_EXAMPLE_LABELS = {"PERSON", "ORG", "GPE", "NORP", "EVENT", "FAC", "LOC", "PRODUCT", "LAW"}


def example_questions(records, text_of=None, limit: int = 4) -> list[str]:
    """Questions drawn from the newest indexed articles: the names they are most about.

    ``text_of(article_id)`` gives an article's text; without it only titles are read.
    """
    from assistant.nlp import entities

    questions: list[str] = []
    for record in records:
        text = (text_of(record.id) or "") if text_of else ""
        found = entities([f"{record.title}. {text[:4000]}"])[0]
        counts = Counter(
            re.sub(r"^the\s+", "", name, flags=re.IGNORECASE)
            for name, label in found
            if label in _EXAMPLE_LABELS
        )
        named = [n for n, _ in counts.most_common() if len(n.split()) >= 2] or [
            n for n, _ in counts.most_common()
        ]
        if not named:
            continue
        question = f"What do the articles say about {named[0]}?"
        if question not in questions:
            questions.append(question)
        if len(questions) >= limit:
            break
    return questions


def article_rows(records, query: str = "") -> list[list[str]]:
    """Rows (date, title, source) of the articles matching ``query`` in title or source."""
    q = query.strip().lower()
    rows = []
    for r in records:
        if q and q not in r.title.lower() and q not in r.source.lower():
            continue
        rows.append([r.published_at or "–", r.title, r.source])
    return rows


def safe_name(name: str) -> str:
    """A file name with no path and only harmless characters; the suffix kept, lower-cased."""
    base = Path(name.replace("\\", "/")).name
    stem, suffix = Path(base).stem, Path(base).suffix.lower()
    stem = _SAFE.sub("-", stem).strip(".-_")[:80] or "article"
    return f"{stem}{suffix}"


@dataclass
class UploadReport:
    stored: list[Path] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    summaries: list[IngestSummary] = field(default_factory=list)

    def markdown(self) -> str:
        return "\n".join(f"- {m}" for m in self.messages) or "Nothing uploaded."


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def ingest_uploads(assistant, files: list[str | Path], corpus_dir: Path) -> UploadReport:
    """Copy uploads into ``corpus_dir/uploads`` under safe names and ingest each one.

    A file that is refused is removed again, so a bad upload changes nothing.
    """
    report = UploadReport()
    target_dir = Path(corpus_dir) / UPLOAD_DIR
    for upload in files:
        source = Path(upload)
        shown = html.escape(source.name)
        name = safe_name(source.name)
        if Path(name).suffix not in SUPPORTED_SUFFIXES:
            accepted = ", ".join(sorted(SUPPORTED_SUFFIXES))
            report.messages.append(f"**{shown}** rejected: not an article file ({accepted}).")
            continue
        target_dir.mkdir(parents=True, exist_ok=True)
        target = target_dir / name
        n = 1
        while target.exists() and _digest(target) != _digest(source):
            target = target_dir / f"{Path(name).stem}-{n}{Path(name).suffix}"
            n += 1
        existed = target.exists()
        shutil.copyfile(source, target)
        summary = assistant.ingest(target, progress=False)
        report.summaries.append(summary)
        took = len(summary.added) + len(summary.updated)
        if summary.rejected and not took and not summary.unchanged:
            if not existed:
                target.unlink()
            reasons = "; ".join(reason for _, reason in summary.rejected)
            report.messages.append(f"**{shown}** rejected: {html.escape(reasons)}")
            continue
        report.stored.append(target)
        note = f"**{shown}**: {took} article(s) added"
        if summary.unchanged:
            note += f", {len(summary.unchanged)} already indexed"
        if summary.rejected:
            first_reason = html.escape(summary.rejected[0][1])
            note += f", {len(summary.rejected)} part(s) rejected ({first_reason})"
        report.messages.append(note + ".")
    return report
