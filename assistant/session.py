"""A conversation as the web UI keeps it: its turns with their answers, the history the engine
hears, the filter row's values, answering (streamed) and the export as Markdown.

The history comes from these turns, never from the rendered chat, so "New conversation"
(an empty list of turns) really starts afresh.
"""

from __future__ import annotations

import logging
import queue
import re
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from assistant.errors import AssistantError, InvalidInput
from assistant.types import Answer
from assistant.ui import _escape_answer, escape_markdown, safe_url
from assistant.validation import check_date, check_sources

log = logging.getLogger("newsdesk.session")
ANSWER_FAILED = "Something went wrong while answering; the error was logged."
EXPORT_NAME = "newsdesk-conversation.md"
_MARKER = re.compile(r"\[\d*\]?")  # also a marker still being written: "[", "[1"


@dataclass(frozen=True)
class Turn:
    """One question and what came back: an answer, or a one-line error instead."""

    question: str
    answer: Answer | None = None
    error: str = ""


def history(turns: Sequence[Turn]) -> list[tuple[str, str]]:
    """What the engine hears of the conversation: each answered turn's question and answer
    text; turns that ended in an error are left out."""
    return [(t.question, t.answer.answer) for t in turns if t.answer is not None]


@dataclass(frozen=True)
class Filters:
    """The filter row: published from / until (days), and sources (none: all)."""

    date_from: str | None = None
    until: str | None = None
    sources: tuple[str, ...] = ()

    def ask_kwargs(self) -> dict[str, Any]:
        return {
            "date_from": self.date_from,
            "as_of": self.until,
            "sources": list(self.sources) or None,
        }


def read_filters(date_from: Any, until: Any, sources: Any) -> Filters:
    """The filter row's values checked, with messages naming its fields ("From", "Until")."""
    start, end = check_date(date_from or None, "From"), check_date(until or None, "Until")
    if start and end and start > end:
        raise InvalidInput(
            f"From {start} is after Until {end}, so no article can match: swap them."
        )
    return Filters(
        start.isoformat() if start else None,
        end.isoformat() if end else None,
        check_sources(sources or None),
    )


def ask(assistant, question: str, turns: Sequence[Turn], filters: Filters,
        on_token=None) -> Turn:  # fmt: skip
    """Ask ``question`` in the conversation of ``turns``; an error becomes the turn's message.
    ``on_token`` receives an LLM backend's text as it is generated."""
    extra = {"on_token": on_token} if on_token else {}
    try:
        answer = assistant.ask(question, history=history(turns), **filters.ask_kwargs(), **extra)
    except AssistantError as exc:
        return Turn(question, error=str(exc))
    except Exception:  # keep serving; the details go to the server log
        log.exception("answering failed")
        return Turn(question, error=ANSWER_FAILED)
    return Turn(question, answer)


def stream_chunks(text: str, words_per_step: int = 4) -> Iterator[str]:
    """Prefixes of ``text`` growing a few words at a time, for a streamed reply."""
    words = text.split(" ")
    for i in range(words_per_step, len(words), words_per_step):
        yield " ".join(words[:i])
    yield text


def answer_stream(
    assistant, question: str, turns: Sequence[Turn], filters: Filters
) -> Iterator[str | Turn]:
    """The answer as it is written (partial texts), then the finished ``Turn``.

    With an LLM backend the model's draft is shown token by token while it is written (its
    markers left out: they are renumbered once verified), then replaced by the verified answer.
    An extractive answer, written at once, is revealed a few words at a time.
    """
    drafts: queue.Queue[str | None] = queue.Queue()
    result: list[Turn] = []

    def work() -> None:
        try:
            result.append(ask(assistant, question, turns, filters, on_token=drafts.put))
        finally:
            drafts.put(None)

    threading.Thread(target=work, name="newsdesk-answer", daemon=True).start()
    draft = ""
    while (delta := drafts.get()) is not None:
        draft += delta
        shown = " ".join(_MARKER.sub("", draft).split())
        if shown:
            yield "… " + shown
    turn = result[0]
    if turn.answer is not None:
        if draft:
            yield turn.answer.answer
        else:
            yield from stream_chunks(turn.answer.answer)
    yield turn


def question_dates(turns: Sequence[Turn], filters: Filters | None) -> tuple[str, str] | None:
    """The date range the engine read from the last question's words, when the user set no
    From date (the chip that can remove it is shown only then)."""
    answer = turns[-1].answer if turns else None
    if answer is None or not answer.date_range or (filters and filters.date_from):
        return None
    return answer.date_range


def without_question_dates(
    turns: Sequence[Turn], earliest: str | None
) -> tuple[str, list[Turn], str] | None:
    """The chip's ✕: (the From date to set, the turns without the last one, its question to
    ask again), so the question is answered over all dates. The engine reads dates from a
    question's words only when no From date is given, so From is set explicitly to the
    earliest indexed day. None when there is nothing to ask again."""
    if not turns or not earliest:
        return None
    return earliest, list(turns[:-1]), turns[-1].question


def turn_of_message(index: Any) -> int | None:
    """The turn a chat message belongs to (each turn shows as a question and a reply)."""
    if isinstance(index, (list, tuple)):
        index = index[0] if index else None
    return index // 2 if isinstance(index, int) and index >= 0 else None


# --- export ---


def export_markdown(turns: Sequence[Turn], now: datetime | None = None) -> str:
    """The conversation as a Markdown document: each question, its answer and the sources it
    cites (title, source, date, link when http(s), the quoted sentence). Article fields are
    escaped as in the app, so the document shows them as text."""
    stamp = (now or datetime.now()).strftime("%Y-%m-%d %H:%M")
    lines = ["# Newsdesk conversation", "", f"Exported {stamp}.", ""]
    for number, turn in enumerate(turns, 1):
        lines += [f"## {number}. {escape_markdown(turn.question)}", ""]
        answer = turn.answer
        if answer is None:
            lines += [f"⚠️ {escape_markdown(turn.error)}", ""]
            continue
        lines += [_escape_answer(answer.answer), ""]
        if answer.notice:
            lines += [f"_{escape_markdown(answer.notice)}_", ""]
        if not answer.citations:
            continue
        lines += ["Sources:", ""]
        for c in answer.citations:
            title = escape_markdown(c.title or c.article_id)
            href = safe_url(c.url)
            if href:
                title = f"[{title}]({href.replace('(', '%28').replace(')', '%29')})"
            meta = escape_markdown(", ".join(x for x in (c.source, c.published_at) if x))
            lines.append(f"- \\[{int(c.n)}\\] {title}" + (f" ({meta})" if meta else ""))
            lines.append(f"  > {escape_markdown(c.quote)}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def write_export(turns: Sequence[Turn], folder: Path) -> Path:
    """``export_markdown`` written to a fresh sub-folder of ``folder`` (one per export, so
    concurrent sessions never share a file)."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="export-", dir=folder)) / EXPORT_NAME
    path.write_text(export_markdown(turns), encoding="utf-8")
    return path
