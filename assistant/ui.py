"""What the web UI shows, as plain functions: answers whose ``[n]`` markers lead to their
sources, the sources panel, the whole-article view, the article list and the status lines.

Every article field is escaped wherever it is shown and only http(s) URLs become links
(``safe_url``). ``app.py`` wires these to Gradio components; everything here is tested directly.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from urllib.parse import quote, urlsplit

from assistant.types import Answer, Citation
from assistant.validation import clean_text

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
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")
EMPTY_PANEL = "<div class='nd-sources nd-empty'>Sources of the latest answer appear here.</div>"


# --- escaping: only http(s) links, every article field escaped ---


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


def _html(text: str) -> str:
    return html.escape(clean_text(str(text)), quote=True)


def _escape_answer(text: str, marker: Callable[[int], str | None] | None = None) -> str:
    """The answer escaped; its ``[n]`` markers kept readable, or replaced by ``marker(n)``."""
    parts = _MARKER.split(one_line(text))
    out = []
    for i, part in enumerate(parts):
        if not _MARKER.fullmatch(part):
            out.append(_escape_inline(part))
            continue
        shown = marker(int(part[1:-1])) if marker else None
        if shown is None and parts[i + 1][:1] in ("(", "[", ":"):
            shown = _escape_inline(part)  # "[2](http://…)" in quoted text would be a link
        out.append(shown or part)
    return _escape_line_start("".join(out))


# --- chat messages ---


def user_message(question: str) -> str:
    """A question as the chat shows it back: text, never markup."""
    return escape_markdown(question)


def marker_button(turn: int, n: int) -> str:
    """A citation marker the page script (``web/newsdesk.js``) turns into a jump to source
    ``n`` of answer ``turn``. Gradio's sanitizer keeps ``class``, ``role`` and ``tabindex``
    (not ``data-`` attributes), so the numbers travel in the class names."""
    return (
        f'<span class="nd-cite nd-t{int(turn)} nd-n{int(n)}" role="button" tabindex="0" '
        f'title="Show source {int(n)}">[{int(n)}]</span>'
    )


def answer_message(answer: Answer, turn: int = 0) -> str:
    """The chat message: the answer first, each ``[n]`` marker with a source clickable, then
    its notice. The sources themselves are listed once, in the panel (``sources_panel``)."""
    known = {int(c.n) for c in answer.citations}
    text = _escape_answer(answer.answer, lambda n: marker_button(turn, n) if n in known else None)
    return text + (f"\n\n_{escape_markdown(answer.notice)}_" if answer.notice else "")


def partial_message(text: str) -> str:
    """An answer while it is being written (markers not yet clickable)."""
    return _escape_answer(text) if text.strip() else "_Searching the articles…_"


def error_message(text: str) -> str:
    return f"⚠️ {escape_markdown(text)}"


def answer_markdown(answer: Answer) -> str:
    """The answer as one Markdown text with its numbered sources and quotes: the ``/chat`` API's
    reply, for clients without the sources panel.

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


def chat_messages(turns, pending: tuple[str, str] | None = None) -> list[dict[str, str]]:
    """The chat as Gradio's messages: each turn's question and its reply (answer or error),
    then ``pending`` = (question, text so far) while an answer is being written. Each turn is
    two messages, so message ``i`` belongs to turn ``i // 2``."""
    messages = []
    for number, turn in enumerate(turns):
        reply = (
            answer_message(turn.answer, number)
            if turn.answer is not None
            else error_message(turn.error)
        )
        messages.append({"role": "user", "content": user_message(turn.question)})
        messages.append({"role": "assistant", "content": reply})
    if pending is not None:
        messages.append({"role": "user", "content": user_message(pending[0])})
        messages.append({"role": "assistant", "content": partial_message(pending[1])})
    return messages


# --- sources: one entry per passage, cited sentences highlighted ---


@dataclass(frozen=True)
class SourceEntry:
    """One cited passage and every citation that quotes it (an answer may cite it twice)."""

    citations: tuple[Citation, ...]

    @property
    def numbers(self) -> tuple[int, ...]:
        return tuple(int(c.n) for c in self.citations)

    @property
    def first(self) -> Citation:
        return self.citations[0]


def source_entries(citations: Iterable[Citation]) -> list[SourceEntry]:
    """Citations grouped by the passage they quote, in the order of their first number."""
    groups: dict[tuple[str, str], list[Citation]] = {}
    for c in sorted(citations, key=lambda c: int(c.n)):
        groups.setdefault((c.article_id, c.chunk_id or str(c.passage_start)), []).append(c)
    return [SourceEntry(tuple(group)) for group in groups.values()]


Span = tuple[int, int, tuple[int, ...]]  # start, end, citation numbers


def _merge(spans: Iterable[Span]) -> list[Span]:
    merged: list[Span] = []
    for start, end, numbers in sorted(spans):
        if merged and start < merged[-1][1]:
            last = merged[-1]
            merged[-1] = (last[0], max(last[1], end), tuple(sorted({*last[2], *numbers})))
        else:
            merged.append((start, end, numbers))
    return merged


def marked_html(text: str, spans: Iterable[Span]) -> str:
    """``text`` escaped, each span inside ``<mark>`` (spans are offsets into ``text``)."""
    out, pos = [], 0
    for start, end, numbers in _merge(s for s in spans if 0 <= s[0] <= s[1] <= len(text)):
        cites = " ".join(str(n) for n in numbers)
        out.append(_html(text[pos:start]))
        out.append(f"<mark class='nd-mark' data-n='{cites}'>{_html(text[start:end])}</mark>")
        pos = end
    out.append(_html(text[pos:]))
    return "".join(out)


def _spans_in(text: str, offset: int, citations: Iterable[Citation]) -> list[Span]:
    """Where each citation's quote sits in ``text`` (which starts at article offset
    ``offset``): by its offsets when they hold the quote, else by searching the quote."""
    spans = []
    for c in citations:
        start, end = c.start - offset, c.end - offset
        if not (0 <= start <= end <= len(text) and text[start:end] == c.quote):
            start = text.find(c.quote) if c.quote else -1
            end = start + len(c.quote)
        if start >= 0 and c.quote:
            spans.append((start, end, (int(c.n),)))
    return spans


def highlight_passage(citation: Citation) -> str:
    """The passage around a citation as HTML, the quoted sentence inside ``<mark>``."""
    return highlight_entry(SourceEntry((citation,)))


def highlight_entry(entry: SourceEntry) -> str:
    """An entry's passage with every quote it holds marked; the quotes alone when the
    passage is missing or does not hold them."""
    passage = entry.first.passage
    spans = _spans_in(passage, entry.first.passage_start, entry.citations) if passage else []
    if not spans:
        return " … ".join(
            marked_html(c.quote, [(0, len(c.quote), (int(c.n),))]) for c in entry.citations
        )
    return marked_html(passage, spans)


def _meta_line(c: Citation) -> str:
    return " · ".join(_html(one_line(x)) for x in (c.source, c.published_at) if x)


def _title_html(title: str, url: str) -> str:
    title = _html(one_line(title))
    href = safe_url(url)
    if not href:
        return title
    return (
        f"<a href='{html.escape(href, quote=True)}' target='_blank' "
        f"rel='noopener noreferrer'>{title}</a>"
    )


def _entry_html(entry: SourceEntry, turn: int) -> str:
    c = entry.first
    numbers = "".join(f"<span class='nd-num'>[{n}]</span>" for n in entry.numbers)
    cites = " ".join(str(n) for n in entry.numbers)
    article = _html(c.article_id)
    return (
        f"<div class='nd-source' data-cites=' {cites} ' data-turn='{int(turn)}'>"
        f"<div class='nd-head'>{numbers} <span class='nd-title'>"
        f"{_title_html(c.title or c.article_id, c.url)}</span></div>"
        f"<div class='nd-meta'>{_meta_line(c)}</div>"
        f"<blockquote class='nd-passage'>{highlight_entry(entry)}</blockquote>"
        f"<button type='button' class='nd-open' data-article='{article}' "
        f"data-turn='{int(turn)}'>Read the whole article</button></div>"
    )


def _answer_sources(answer: Answer, turn: int) -> str:
    if answer.abstained or not answer.citations:
        return "<div class='nd-empty'>No sources: this answer quotes no article.</div>"
    return "".join(_entry_html(e, turn) for e in source_entries(answer.citations))


def sources_html(answer: Answer | None) -> str:
    """The sources of one answer: one entry per cited passage, numbered, with title, source,
    date, a link when the URL is http(s), and the cited sentences highlighted."""
    if answer is None:
        return EMPTY_PANEL
    return f"<div class='nd-sources'>{_answer_sources(answer, 0)}</div>"


def sources_panel(answers: Sequence[tuple[str, Answer | None]]) -> str:
    """The side panel for a conversation of ``(question, answer)`` turns: the sources of every
    answer, each turn in its own section; only the latest is shown until a marker of an
    earlier answer is clicked (the page script switches sections)."""
    if not answers:
        return EMPTY_PANEL
    sections = []
    last = len(answers) - 1
    for turn, (question, answer) in enumerate(answers):
        hidden = "" if turn == last else " hidden"
        body = (
            _answer_sources(answer, turn)
            if answer is not None
            else "<div class='nd-empty'>No answer, no sources.</div>"
        )
        sections.append(
            f"<section class='nd-turn' data-turn='{turn}'{hidden}>"
            f"<div class='nd-for'>Sources for “{_html(one_line(question))}”</div>{body}</section>"
        )
    return f"<div class='nd-sources'>{''.join(sections)}</div>"


# --- the whole article ---


def article_html(
    article_id: str,
    text: str | None,
    title: str = "",
    source: str = "",
    published_at: str = "",
    url: str = "",
    citations: Iterable[Citation] = (),
) -> str:
    """The whole article, paragraph by paragraph, the sentences the answer cites marked."""
    if text is None:
        return "<div class='nd-article nd-empty'>This article is no longer in the index.</div>"
    cited = [c for c in citations if c.article_id == article_id]
    spans = _spans_in(text, 0, cited)
    meta = " · ".join(_html(one_line(x)) for x in (source, published_at) if x)
    href = safe_url(url)
    if href:
        link = (
            f"<a href='{html.escape(href, quote=True)}' target='_blank' "
            "rel='noopener noreferrer'>original</a>"
        )
        meta = f"{meta} · {link}" if meta else link
    note = ""
    if spans:
        numbers = " ".join(f"[{n}]" for n in sorted({n for _, _, ns in spans for n in ns}))
        note = (
            f"<div class='nd-note'>Highlighted: the sentences the answer cites ({numbers}).</div>"
        )
    paragraphs = []
    for start, end in paragraph_spans(text):
        inside = [(max(s, start) - start, min(e, end) - start, ns) for s, e, ns in spans
                  if s < end and e > start]  # fmt: skip
        paragraphs.append(f"<p>{marked_html(text[start:end], inside)}</p>")
    return (
        f"<div class='nd-article' data-article='{_html(article_id)}'>"
        f"<h2 class='nd-article-title'>{_html(one_line(title or article_id))}</h2>"
        f"<div class='nd-meta'>{meta}</div>{note}"
        f"<div class='nd-article-body'>{''.join(paragraphs)}</div></div>"
    )


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each paragraph (blank lines between them)."""
    spans, pos = [], 0
    for gap in _PARAGRAPH_BREAK.finditer(text):
        if gap.start() > pos:
            spans.append((pos, gap.start()))
        pos = gap.end()
    if pos < len(text):
        spans.append((pos, len(text)))
    return spans


# --- the article list and status lines ---


def matching_records(records, query: str = "") -> list:
    """The records whose title or source contains ``query`` (case-insensitive)."""
    q = one_line(query).lower() if isinstance(query, str) else ""
    return [r for r in records if not q or q in r.title.lower() or q in r.source.lower()]


def article_rows(records, query: str = "") -> list[list[str]]:
    """Rows (date, source, title) of the articles matching ``query``, in the given order
    (the assistant lists them newest first)."""
    return [
        [one_line(r.published_at) or "–", one_line(r.source), one_line(r.title)]
        for r in matching_records(records, query)
    ]


def article_choices(records) -> list[tuple[str, str]]:
    """``(label, article id)`` pairs for a picker: "2024-02-01 · The National · Title"."""
    choices = []
    for r in records:
        title = one_line(r.title)
        title = title if len(title) <= 90 else title[:89] + "…"
        parts = [one_line(r.published_at) or "undated", one_line(r.source), title]
        choices.append((" · ".join(p for p in parts if p), r.id))
    return choices


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def corpus_stats(articles: int, chunks: int) -> str:
    return f"**{articles:,} articles**, {chunks:,} passages indexed."


def header_text(records, error: str = "") -> str:
    """The line under the title: how many articles, from how many sources, how recent."""
    if error:
        return f"⚠️ {escape_markdown(error)}"
    if not records:
        return "No articles indexed yet: add some in the **Corpus** tab."
    sources = {r.source for r in records if r.source}
    dates = sorted(r.published_at for r in records if r.published_at)
    line = f"**{_count(len(records), 'article')}** from {_count(len(sources), 'source')}"
    return line + (f", newest {escape_markdown(dates[-1])}" if dates else "") + "."


def welcome_text(count: int) -> str:
    """The empty chat's text."""
    if not count:
        return "No articles yet: upload some in the **Corpus** tab, then ask about them."
    return (
        f"Ask about the **{_count(count, 'indexed article')}**. Every answer cites its "
        "sources: click a marker such as [1] to see the passage. Follow-up questions keep "
        "the context; when the articles don't say, you are told so."
    )


def _day(text: str) -> str:
    try:
        day = date.fromisoformat(text)
    except (TypeError, ValueError):
        return one_line(str(text))
    return f"{day.day} {day:%b %Y}"


def date_chip(date_range: Sequence[str] | None) -> str:
    """The label of the removable chip for the dates read from the question's words."""
    if not date_range or len(date_range) != 2:
        return ""
    start, end = date_range
    shown = _day(start) if start == end else f"{_day(start)} – {_day(end)}"
    return f"Dates from your question: {shown} ✕"
