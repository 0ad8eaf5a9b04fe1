"""The logic behind the web UI as plain functions: sources, highlighting, uploads, examples.

``app.py`` only wires these to Gradio components, so everything here is tested directly.
"""

from __future__ import annotations

import hashlib
import html
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

from assistant.errors import AssistantError, UploadRefused
from assistant.loading import SUPPORTED_SUFFIXES, parse_bytes, path_text, read_file
from assistant.types import Answer, Citation, IngestSummary
from assistant.validation import clean_text

UPLOAD_DIR = "uploads"
MAX_UPLOAD_FILES = 50
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
# What Markdown could turn into links, emphasis or code; a colon only before "//" (autolinks)
# and "@" only inside a word (e-mail autolinks). Gradio's LaTeX is switched off in app.py.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~]|(?<=\w)@|:(?=//))")
_MD_LINE_START = re.compile(r"^(?:([-+=#>])|(\d+)([.)]))")
_MD_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")
_MARKER = re.compile(r"(\[\d+\])")
_HOST = re.compile(
    r"(?:[A-Za-z0-9-]+\.)*[A-Za-z0-9-]+(?::\d{1,5})?|\[[0-9A-Fa-f:.]+\](?::\d{1,5})?"
)
_URL_SAFE_CHARS = "/?#@!$&*+,;=%~-._:"
_EXAMPLE_NAME = re.compile(r"[\w .,'’&-]+")


# --- rendering: only http(s) links, every article field escaped ---


def one_line(text: str) -> str:
    """Article text for display: valid Unicode, whitespace collapsed to single spaces."""
    return " ".join(clean_text(str(text)).split())


def safe_url(url: str) -> str | None:
    """``url`` when it may become a link (http or https, with a host), percent-encoded so it
    is safe inside HTML attributes and Markdown; None for anything else (javascript:, data:,
    relative or malformed URLs)."""
    if not isinstance(url, str):
        return None
    url = url.strip()
    if not url or len(url) > 2048 or any(ch.isspace() or ord(ch) < 32 for ch in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not _HOST.fullmatch(parts.netloc or ""):
        return None
    rest = url[len(parts.scheme) + 3 + len(parts.netloc) :]
    return f"{parts.scheme.lower()}://{parts.netloc}{quote(clean_text(rest), safe=_URL_SAFE_CHARS)}"


def escape_markdown(text: str) -> str:
    """Text that Markdown (and the HTML inside it) shows literally: one line, ``& < >`` as
    entities, link, emphasis and code punctuation backslash-escaped."""
    return _escape_line_start(_escape_inline(one_line(text)))


def _escape_inline(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def _escape_line_start(text: str) -> str:
    """No list, heading or quote can start the line."""
    return _MD_LINE_START.sub(lambda m: f"\\{m[1]}" if m[1] else f"{m[2]}\\{m[3]}", text)


def unescape_markdown(text: str) -> str:
    """The plain text behind ``escape_markdown`` output (for follow-ups read from the chat)."""
    return html.unescape(_MD_ESCAPED.sub(r"\1", text))


def _escape_answer(text: str) -> str:
    """The answer escaped, its ``[n]`` citation markers kept readable."""
    parts = _MARKER.split(one_line(text))
    return _escape_line_start(
        "".join(p if _MARKER.fullmatch(p) else _escape_inline(p) for p in parts)
    )


def plain_history(history):
    """The chat history as Gradio hands it back, with our Markdown escaping of the assistant's
    messages undone, so follow-ups read the answers' plain text. Other shapes pass unchanged
    (the assistant checks them)."""
    if not isinstance(history, list):
        return history
    plain = []
    for message in history:
        if isinstance(message, dict) and message.get("role") == "assistant":
            content = message.get("content")
            if isinstance(content, str):
                message = {**message, "content": unescape_markdown(content)}
            elif isinstance(content, list):
                parts = [
                    {**part, "text": unescape_markdown(part["text"])}
                    if isinstance(part, dict) and isinstance(part.get("text"), str)
                    else part
                    for part in content
                ]
                message = {**message, "content": parts}
        plain.append(message)
    return plain


def highlight_passage(citation: Citation) -> str:
    """The passage around a citation as HTML, the quoted sentence inside ``<mark>``."""
    passage, offset = citation.passage, citation.passage_start
    start, end = citation.start - offset, citation.end - offset
    if (
        not passage
        or not (0 <= start <= end <= len(passage))
        or passage[start:end] != citation.quote
    ):
        return f"<mark>{_html(citation.quote)}</mark>"
    return (
        _html(passage[:start]) + f"<mark>{_html(passage[start:end])}</mark>" + _html(passage[end:])
    )


def _html(text: str) -> str:
    return html.escape(clean_text(str(text)), quote=True)


def _meta_line(c: Citation) -> str:
    parts = [_html(one_line(x)) for x in (c.source, c.published_at) if x]
    return " · ".join(parts)


def sources_html(answer: Answer | None) -> str:
    """The side panel: numbered sources with the cited sentence highlighted in its passage."""
    if answer is None:
        return "<div class='nd-sources nd-empty'>Sources of the latest answer appear here.</div>"
    if answer.abstained or not answer.citations:
        return "<div class='nd-sources nd-empty'>No sources: the articles don't answer this.</div>"
    items = []
    for c in answer.citations:
        title = _html(one_line(c.title or c.article_id))
        href = safe_url(c.url)
        if href:
            title = (
                f"<a href='{html.escape(href, quote=True)}' target='_blank' "
                f"rel='noopener noreferrer'>{title}</a>"
            )
        n = int(c.n)
        items.append(
            f"<div class='nd-source' id='source-{n}'>"
            f"<div class='nd-head'><b>[{n}]</b> {title}</div>"
            f"<div class='nd-meta'>{_meta_line(c)}</div>"
            f"<blockquote class='nd-passage'>{highlight_passage(c)}</blockquote></div>"
        )
    return "<div class='nd-sources'>" + "".join(items) + "</div>"


def answer_markdown(answer: Answer) -> str:
    """The chat message: the answer, then its numbered sources with their quotes.

    The first line is the answer alone, which is what follow-up resolution reads back.
    Every article field is escaped and only http(s) URLs become links, so nothing in an
    article can add markup, scripts or other links to the chat.
    """
    notice = f"\n\n_{escape_markdown(answer.notice)}_" if answer.notice else ""
    if answer.abstained or not answer.citations:
        return _escape_answer(answer.answer) + notice
    lines = [_escape_answer(answer.answer), ""]
    for c in answer.citations:
        title = escape_markdown(c.title or c.article_id)
        href = safe_url(c.url)
        link = f"[{title}]({href.replace('(', '%28').replace(')', '%29')})" if href else title
        meta = escape_markdown(", ".join(x for x in (c.source, c.published_at) if x))
        lines.append(f"[{int(c.n)}] {link}" + (f" ({meta})" if meta else ""))
        lines.append(f"> {escape_markdown(c.quote)}")
        lines.append("")
    return "\n".join(lines).rstrip() + notice


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
        usable = [n for n, _ in counts.most_common() if _EXAMPLE_NAME.fullmatch(n)]
        named = [n for n in usable if len(n.split()) >= 2] or usable
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
    q = one_line(query).lower() if isinstance(query, str) else ""
    rows = []
    for r in records:
        if q and q not in r.title.lower() and q not in r.source.lower():
            continue
        rows.append([one_line(r.published_at) or "–", one_line(r.title), one_line(r.source)])
    return rows


def safe_name(name: str) -> str:
    """A file name with no path and only harmless characters; the suffix kept, lower-cased."""
    base = Path(clean_text(str(name)).replace("\\", "/")).name
    stem, suffix = Path(base).stem, Path(base).suffix.lower()
    stem = _SAFE.sub("-", stem).strip(".-_")[:80] or "article"
    return f"{stem}{_SAFE.sub('', suffix)[:12]}"


@dataclass
class UploadReport:
    stored: list[Path] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    summaries: list[IngestSummary] = field(default_factory=list)

    def markdown(self) -> str:
        return "\n".join(f"- {m}" for m in self.messages) or "Nothing uploaded."


def read_upload(upload, upload_root: Path | None) -> bytes:
    """The bytes of an uploaded file, refused (``UploadRefused``) unless it lies inside
    ``upload_root`` once every link is resolved, is a regular file, and is within size."""
    if not isinstance(upload, (str, os.PathLike)):
        raise UploadRefused(f"not a file path ({type(upload).__name__}).")
    path = Path(upload)
    if upload_root is not None:
        try:
            real = path.resolve(strict=True)
        except (OSError, RuntimeError):
            raise UploadRefused("no such uploaded file.") from None
        if not real.is_relative_to(Path(upload_root).resolve()):
            raise UploadRefused(
                "it did not arrive with this upload (it lies outside the upload folder); "
                "only files sent with the request are read."
            )
        path = real
    try:
        return read_file(path, follow_symlinks=upload_root is None)
    except OSError as exc:
        raise UploadRefused(f"cannot read it ({exc.strerror or exc}).") from None
    except ValueError as exc:
        raise UploadRefused(f"{exc}.") from None


def _foreign_ids(assistant, articles, origin: str) -> list[str]:
    """Ids among ``articles`` that already belong to an article of another file."""
    try:
        records = assistant.store.article_records()
    except AssistantError:  # no index yet
        return []
    return [
        a.id
        for a in articles
        if a.id in records and records[a.id].origin.split("#", 1)[0] != origin
    ]


def _target(target_dir: Path, name: str, data: bytes) -> tuple[Path, bool]:
    """Where an upload is stored: its safe name, or a numbered variant when another file
    already has that name; and whether the same bytes are already there."""
    digest = hashlib.sha256(data).hexdigest()
    target, n = target_dir / name, 1
    while target.exists():
        try:
            if hashlib.sha256(read_file(target, follow_symlinks=False)).hexdigest() == digest:
                return target, True
        except (OSError, ValueError):
            pass
        target = target_dir / f"{Path(name).stem}-{n}{Path(name).suffix}"
        n += 1
    return target, False


def ingest_uploads(
    assistant,
    files: list[str | Path],
    corpus_dir: Path,
    upload_root: Path | None = None,
) -> UploadReport:
    """Store uploads in ``corpus_dir/uploads`` under safe names and ingest each one.

    With ``upload_root`` (the app's upload folder), a file that does not lie inside it is
    refused before anything is read. A file is parsed before it is stored: one that yields no
    article, or whose article ids belong to another file's articles, is never written, so a
    bad upload changes nothing that is indexed.
    """
    report = UploadReport()
    if not isinstance(files, (list, tuple)):
        files = [files]
    if len(files) > MAX_UPLOAD_FILES:
        report.messages.append(
            f"Refused: {len(files):,} files at once; upload at most {MAX_UPLOAD_FILES} at a time."
        )
        return report
    target_dir = Path(corpus_dir) / UPLOAD_DIR
    for upload in files:
        raw_name = path_text(upload) if isinstance(upload, (str, os.PathLike)) else "?"
        shown = escape_markdown(Path(raw_name).name or raw_name)
        name = safe_name(Path(raw_name).name)
        if Path(name).suffix not in SUPPORTED_SUFFIXES:
            accepted = ", ".join(sorted(SUPPORTED_SUFFIXES))
            report.messages.append(f"**{shown}** rejected: not an article file ({accepted}).")
            continue
        try:
            data = read_upload(upload, upload_root)
        except UploadRefused as exc:
            report.messages.append(f"**{shown}** refused: {escape_markdown(str(exc))}")
            continue
        target, same = _target(target_dir, name, data)
        origin = path_text(target.resolve())
        articles, rejected = parse_bytes(data, name, origin)
        if not articles:
            reasons = "; ".join(reason for _, reason in rejected) or "no article in the file"
            report.messages.append(f"**{shown}** rejected: {escape_markdown(reasons)}")
            continue
        foreign = _foreign_ids(assistant, articles, origin)
        if foreign:
            report.messages.append(
                f"**{shown}** rejected: article id {escape_markdown(repr(foreign[0]))} belongs "
                "to an article of another file; an upload never replaces other files' articles."
            )
            continue
        if not same:
            target_dir.mkdir(parents=True, exist_ok=True)
            try:
                with open(target, "xb") as handle:
                    handle.write(data)
            except FileExistsError:
                report.messages.append(f"**{shown}** not stored: a file of that name appeared "
                                       "meanwhile; upload it again.")  # fmt: skip
                continue
        summary = assistant.ingest(target, progress=False)
        report.summaries.append(summary)
        took = len(summary.added) + len(summary.updated)
        if summary.rejected and not took and not summary.unchanged:
            if not same:
                target.unlink(missing_ok=True)
            reasons = "; ".join(reason for _, reason in summary.rejected)
            report.messages.append(f"**{shown}** rejected: {escape_markdown(reasons)}")
            continue
        report.stored.append(target)
        note = f"**{shown}**: {took} article(s) added"
        if summary.unchanged:
            note += f", {len(summary.unchanged)} already indexed"
        if summary.rejected:
            first_reason = escape_markdown(summary.rejected[0][1])
            note += f", {len(summary.rejected)} part(s) rejected ({first_reason})"
        report.messages.append(note + ".")
    return report
