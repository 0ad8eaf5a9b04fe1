"""Checks on what callers hand the assistant: questions, histories, filters, dates and paths.

Each check returns a clean value or raises an ``InvalidInput`` (``InvalidQuestion`` for the
question) whose one-line message names the field and the value and says what to send instead.
Text is always valid Unicode afterwards: lone surrogates, and undecodable bytes smuggled in by
``surrogateescape`` (command-line arguments, stdin), are replaced by U+FFFD and reported.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from assistant.conversation import Turn
from assistant.errors import InvalidInput, InvalidQuestion

REPLACEMENT = "\ufffd"
MAX_HISTORY_TURNS = 100  # only the latest turns are kept; follow-ups read the last one
MAX_TURN_CHARS = 20_000
MAX_SOURCES = 1_000

_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_DAY_IN_TEXT = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")
_TIME = re.compile(r"[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?\s*(Z|[+-]\d{2}(:?\d{2})?)?", re.I)
_ROLES = {"user", "assistant", "system"}


def shown(value: Any, limit: int = 60) -> str:
    """A value as it may appear in a one-line message: quoted, escaped and shortened."""
    text = repr(value) if not isinstance(value, str) else repr(repair_text(value)[0])
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def _kind(value: Any) -> str:
    return type(value).__name__


# --- text ---


def repair_text(text: str) -> tuple[str, int]:
    """``text`` as valid Unicode and how many characters were replaced.

    Surrogate pairs are joined; lone surrogates (``\\ud800``) and bytes that ``surrogateescape``
    kept from undecodable input (``\\udcff``) become U+FFFD.
    """
    try:
        text.encode("utf-8")
        return text, 0
    except UnicodeEncodeError:
        pass
    before = text.count(REPLACEMENT)
    fixed = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return fixed, fixed.count(REPLACEMENT) - before


def clean_text(text: str) -> str:
    """``text`` repaired, for places that only need it valid (article fields, names)."""
    return repair_text(text)[0]


def _without_controls(text: str) -> str:
    return "".join(
        " " if unicodedata.category(ch) == "Cc" and not ch.isspace() else ch for ch in text
    )


@dataclass(frozen=True)
class Question:
    """A checked question and, when it had to be repaired, a note saying so."""

    text: str
    notice: str = ""


def check_question(question: Any, max_chars: int) -> Question:
    """The question as clean one-line text, or ``InvalidQuestion`` saying what is wrong."""
    if question is None:
        raise InvalidQuestion("No question was given (None): pass the question as text.")
    if isinstance(question, (bytes, bytearray, memoryview)):
        raise InvalidQuestion(
            "The question is bytes, not text: decode it first, e.g. question.decode('utf-8')."
        )
    if isinstance(question, (bool, int, float, complex)):
        raise InvalidQuestion(
            f"The question is a number ({shown(question)}), not text: ask it in words."
        )
    if not isinstance(question, str):
        raise InvalidQuestion(
            f"The question must be text (str), not {_kind(question)}: ask it in words."
        )
    text, replaced = repair_text(question)
    text = " ".join(_without_controls(text).split())
    if not text.replace(REPLACEMENT, "").strip():
        if replaced:
            raise InvalidQuestion(
                f"The question held only invalid text ({replaced} undecodable byte(s) or "
                "lone surrogate(s)), so it was refused: type it again as UTF-8 text."
            )
        raise InvalidQuestion("The question is empty: type a question about the articles.")
    if len(text) > max_chars:
        raise InvalidQuestion(
            f"The question is {len(text):,} characters long; the limit is {max_chars:,}. "
            "Ask something shorter."
        )
    notice = ""
    if replaced:
        notice = (
            f"The question held {replaced} invalid character(s) (undecodable bytes or lone "
            "surrogates); they were replaced with U+FFFD and the rest was answered."
        )
    return Question(text, notice)


# --- conversation history ---


def _turn_text(value: Any, where: str, part: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(
            f"{where}: the {part} must be text, not {_kind(value)} ({shown(value, 30)})."
        )
    return repair_text(value)[0][:MAX_TURN_CHARS]


def _message_text(content: Any, where: str) -> str:
    """The text of a chat message's content: a string or a list of parts (Gradio, OpenAI)."""
    if content is None or isinstance(content, str):
        return _turn_text(content, where, "content")
    if isinstance(content, (list, tuple)):
        texts = []
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict):
                if part.get("type", "text") == "text" and "text" in part:
                    texts.append(_turn_text(part["text"], where, "content text"))
                # files, images and other components carry no text to follow up on
            elif part is None:
                continue
            else:
                raise InvalidInput(
                    f"{where}: a content part must be text or a {{'type', 'text'}} dict, "
                    f"not {_kind(part)}."
                )
        return _turn_text(" ".join(texts), where, "content")
    raise InvalidInput(
        f"{where}: the content must be text or a list of parts, not {_kind(content)} "
        f"({shown(content, 30)})."
    )


def _as_message(item: Any) -> tuple[str, Any] | None:
    """``(role, content)`` when ``item`` is a chat message (a dict or a ChatMessage object)."""
    if isinstance(item, dict):
        if "role" in item:
            return item["role"], item.get("content")
        return None
    role, content = getattr(item, "role", None), getattr(item, "content", None)
    if isinstance(role, str) and hasattr(item, "content"):
        return role, content
    return None


def check_history(history: Any) -> list[Turn]:
    """Earlier turns from any supported shape, or ``InvalidInput`` naming the bad item.

    Accepted: None; a list (or tuple) of ``(question, answer)`` pairs, ``{"role", "content"}``
    messages (OpenAI or Gradio, content as text or a list of parts), ``{"question",
    "answer"}`` dicts, ``Turn`` or ``Answer`` objects. The latest 100 turns are kept.
    """
    if history is None:
        return []
    if isinstance(history, (str, bytes, bytearray)):
        raise InvalidInput(
            f"history must be a list of (question, answer) pairs or chat messages, not a "
            f"{_kind(history)} ({shown(history, 30)})."
        )
    if isinstance(history, dict):
        raise InvalidInput(
            "history must be a list of turns, not one dict: wrap the message in a list."
        )
    if not isinstance(history, (list, tuple)):
        raise InvalidInput(
            f"history must be a list of (question, answer) pairs or chat messages, "
            f"not {_kind(history)}."
        )
    turns: list[Turn] = []
    pending = ""
    for i, item in enumerate(history):
        where = f"history[{i}]"
        if isinstance(item, Turn):
            turns.append(
                Turn(_turn_text(item.question, where, "question"),
                     _turn_text(item.answer, where, "answer"))
            )  # fmt: skip
            continue
        message = _as_message(item)
        if message is not None:
            role, content = message
            if not isinstance(role, str) or role not in _ROLES:
                raise InvalidInput(
                    f"{where}: unknown role {shown(role, 30)}; use 'user' or 'assistant'."
                )
            text = _message_text(content, where)
            if role == "user":
                pending = text
            elif role == "assistant":
                turns.append(Turn(pending, text))
                pending = ""
            continue
        if isinstance(item, dict):
            if "question" in item or "answer" in item:
                turns.append(
                    Turn(_turn_text(item.get("question"), where, "question"),
                         _turn_text(item.get("answer"), where, "answer"))
                )  # fmt: skip
                continue
            keys = ", ".join(shown(k, 20) for k in list(item)[:4]) or "none"
            raise InvalidInput(
                f"{where}: a message needs 'role' and 'content' keys (it has {keys})."
            )
        if isinstance(item, (tuple, list)):
            if len(item) != 2:
                raise InvalidInput(
                    f"{where}: a turn is a (question, answer) pair, not {len(item)} item(s)."
                )
            turns.append(
                Turn(_turn_text(item[0], where, "question"),
                     _turn_text(item[1], where, "answer"))
            )  # fmt: skip
            continue
        question, answer = getattr(item, "question", None), getattr(item, "answer", None)
        if isinstance(question, str) and isinstance(answer, str):  # an Answer
            turns.append(
                Turn(_turn_text(question, where, "question"),
                     _turn_text(answer, where, "answer"))
            )  # fmt: skip
            continue
        hint = ""
        if len(history) == 2 and all(isinstance(x, str) for x in history):
            hint = f" For one turn, pass [({shown(history[0], 20)}, {shown(history[1], 20)})]."
        raise InvalidInput(
            f"{where} is {_kind(item)} ({shown(item, 30)}): expected a (question, answer) "
            "pair or a {'role', 'content'} message." + hint
        )
    return turns[-MAX_HISTORY_TURNS:]


# --- filters ---


def check_sources(sources: Any) -> tuple[str, ...]:
    """Source names to filter on: one name (a string) or a list of names; empty means all."""
    if sources is None:
        return ()
    if isinstance(sources, str):
        name = clean_text(sources).strip()
        return (name,) if name else ()
    if isinstance(sources, (bytes, bytearray)):
        raise InvalidInput(
            "sources must be text (a source name or a list of names), not bytes: decode them."
        )
    if not isinstance(sources, (list, tuple, set, frozenset)):
        raise InvalidInput(
            f"sources must be a source name or a list of names (e.g. ['cnn.com']), "
            f"not {_kind(sources)}."
        )
    items = sorted(sources, key=repr) if isinstance(sources, (set, frozenset)) else sources
    if len(items) > MAX_SOURCES:
        raise InvalidInput(f"sources names {len(items):,} sources; the limit is {MAX_SOURCES:,}.")
    names: list[str] = []
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise InvalidInput(
                f"sources[{i}] is {_kind(item)} ({shown(item, 30)}): source names are text, "
                "e.g. ['cnn.com']."
            )
        name = clean_text(item).strip()
        if name and name not in names:
            names.append(name)
    return tuple(names)


def _day(match: re.Match, field: str) -> date:
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        raise InvalidInput(f"{field}: {match.group(0)} is not a valid date (YYYY-MM-DD).") from None


def check_date(value: Any, field: str) -> date | None:
    """A day from ``YYYY-MM-DD``, an ISO timestamp (``2022-05-20T10:00:00``, with or without a
    zone) or a ``date``/``datetime``; None when empty. The day is taken as written."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise InvalidInput(
            f"{field}: {shown(value, 30)} ({_kind(value)}) is not a date: use YYYY-MM-DD."
        )
    text = clean_text(value).strip()
    if not text:
        return None
    match = _DAY.match(text)
    if not match:
        raise InvalidInput(
            f"{field}: {shown(text, 40)} is not a date: use YYYY-MM-DD (e.g. 2024-02-01)."
        )
    day = _day(match, field)
    rest = text[match.end() :]
    if rest and not _TIME.fullmatch(rest):
        raise InvalidInput(
            f"{field}: {shown(text, 40)} is not a date: use YYYY-MM-DD or an ISO timestamp "
            "such as 2024-02-01T10:00:00."
        )
    if rest:
        try:
            datetime.fromisoformat(text.replace(" ", "T", 1).replace("z", "Z"))
        except ValueError:
            raise InvalidInput(
                f"{field}: {shown(text, 40)} is not a valid timestamp "
                "(YYYY-MM-DDTHH:MM:SS, optionally with a zone)."
            ) from None
    return day


def find_date(value: Any, field: str) -> date | None:
    """Like ``check_date``, but also finds a ``YYYY-MM-DD`` inside other text
    ("Published 2022-05-20 by ..."); for article metadata, which comes in many styles."""
    try:
        return check_date(value, field)
    except InvalidInput as exc:
        if "is not a valid" in str(exc) or not isinstance(value, str):
            raise
        match = _DAY_IN_TEXT.search(value)
        if not match:
            raise
        return _day(match, field)


def check_date_range(date_from: date | None, as_of: date | None) -> None:
    if date_from and as_of and date_from > as_of:
        raise InvalidInput(
            f"date_from {date_from} is after as_of {as_of}, so no article can match: swap them."
        )


# --- paths and flags ---


def check_path(value: Any, field: str) -> Path:
    """A usable file-system path; bytes are decoded as the file system does."""
    if isinstance(value, (bytes, bytearray)):
        value = os.fsdecode(bytes(value))
    elif isinstance(value, os.PathLike):
        value = os.fspath(value)
        if isinstance(value, bytes):
            value = os.fsdecode(value)
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be a path (text), not {_kind(value)}.")
    if not value.strip():
        raise InvalidInput(f"{field} is empty: give a folder or file path.")
    if "\x00" in value:
        raise InvalidInput(f"{field}: {shown(value, 40)} contains a NUL character.")
    try:
        os.fsencode(value)
    except UnicodeEncodeError:
        raise InvalidInput(
            f"{field}: {shown(value, 40)} holds characters no file name can have."
        ) from None
    return Path(value)


def check_flag(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    raise InvalidInput(f"{field} must be True or False, not {shown(value, 30)}.")


def check_progress(value: Any) -> Any:
    if isinstance(value, bool) or callable(value):
        return value
    raise InvalidInput(
        f"progress must be True, False or a callable(done, total, chunks), not {_kind(value)}."
    )


def check_text_id(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text, not {_kind(value)}.")
    return clean_text(value)
