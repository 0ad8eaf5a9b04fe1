"""Follow-up questions: resolve "Why did they do that?" against the earlier turns.

A follow-up leans on the previous turn: its pronouns (he, she, they, it) stand for the previous
answer or what the previous question was about, "there" and "then" for its place or date. The
resolved question carries those referents (added to the search and to the reader's focus) and
the sentences already quoted, so a follow-up gets something new. A question that refers to
nothing ("Why did they do that?" in a new conversation) is flagged, so the assistant can ask
what it means instead of guessing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from assistant.text import content_words

_PRONOUNS = {
    "it", "its", "itself", "they", "them", "their", "theirs", "themselves", "he", "him", "his",
    "himself", "she", "her", "hers", "herself", "there", "then", "this", "that", "these",
    "those", "such",
}  # fmt: skip
_REFERRING_PHRASES = ("the same", "the group", "the company", "the country", "the person",
                      "the man", "the woman", "the attack", "the city")  # fmt: skip
_OPENERS = ("and ", "but ", "also ", "what about", "how about", "what else", "so ")
_MARKER = re.compile(r"\s*\[\d+\]")
ABSTAINED_PREFIX = "The articles don"
_ASKED_BACK = re.compile(r"What does “(.+?)” refer to\? Nothing earlier in this conversation says")


def clarifying_question(pronoun: str) -> str:
    """The reply to a question whose pronoun refers to nothing said before."""
    return (f"What does “{pronoun}” refer to? Nothing earlier in this conversation says: ask "
            "again with the name of who or what you mean.")  # fmt: skip


@dataclass(frozen=True)
class Turn:
    question: str
    answer: str


@dataclass(frozen=True)
class ResolvedQuestion:
    question: str  # as asked
    search_query: str  # question plus what it refers to
    context: str = ""  # what was added ("" when the question stands alone)
    referents: tuple[str, ...] = ()  # words standing for its pronouns, added to the focus
    previous_quotes: tuple[str, ...] = ()  # sentences earlier answers already quoted
    date_range: tuple[date, date] | None = None  # from the question's date words
    date_phrase: str = ""
    unresolved: str = ""  # a pronoun that refers to nothing in the conversation


def normalize_history(history: Any) -> list[Turn]:
    """Turns from ``[(q, a), ...]``, ``[{"role", "content"}, ...]`` or ``[Answer, ...]``.

    A bad shape raises ``InvalidInput``; the checks live in ``assistant.validation``.
    """
    from assistant.validation import check_history

    return check_history(history)


_DETERMINERS = {"this", "that", "these", "those", "such"}
_AUX = {"is", "are", "was", "were", "do", "does", "did", "has", "have", "had", "will", "would",
        "can", "could", "should"}  # fmt: skip


def pronouns_in(question: str) -> list[str]:
    """The pronouns of ``question`` ("this" in "this week" is a determiner, not one)."""
    tokens = re.findall(r"[\w'’-]+", question.lower())
    return [w for i, w in enumerate(tokens) if w in _PRONOUNS and not (
        w in _DETERMINERS and i + 1 < len(tokens))]  # fmt: skip


def is_follow_up(question: str) -> bool:
    """Does the question lean on earlier turns: openers ("and ...", "what about ..."), too few
    words of its own, or a pronoun with no name before it in the question ("Which port did the
    Islamic Resistance say it attacked?" stands alone; "What did he say?" does not)?"""
    lowered = " " + re.sub(r"[^\w\s]", " ", question.lower()) + " "
    if question.lower().lstrip().startswith(_OPENERS) or len(content_words(question)) < 3:
        return True
    if any(f" {p} " in lowered for p in _REFERRING_PHRASES):
        return True
    tokens = re.findall(r"[\w'’-]+", question)
    lower = [t.lower() for t in tokens]
    for i, token in enumerate(lower):
        if token in _PRONOUNS and token not in _DETERMINERS:
            named = any(t[:1].isupper() for t in tokens[1:i])
            asked = any(w in ("which", "what") and lower[k + 1] not in _AUX
                        for k, w in enumerate(lower[: max(i - 1, 0)]))  # fmt: skip
            return not (named or asked)
    return bool(pronouns_in(question))


def resolve(question: str, history: list[Turn], as_of: date | None = None) -> ResolvedQuestion:
    """The question with what it refers to: the previous answer and the previous question's
    topic when it is a follow-up; plus the date range its date words name."""
    from assistant.dates import question_range

    found = question_range(question, as_of or date.today())
    date_range = (found[0], found[1]) if found else None
    phrase = found[2] if found else ""
    # a question asked back ("What does “they” refer to?") settled nothing to refer to; the
    # next question is asked back again only if it keeps the word asked about
    asked = [m.group(1) for t in history if (m := _ASKED_BACK.match(t.answer))]
    history = [t for t in history if not _ASKED_BACK.match(t.answer)]
    quotes = tuple(_MARKER.sub("", t.answer) for t in history)
    if not history or not is_follow_up(question):
        unresolved = ""
        still_open = [p for p in pronouns_in(question) if not asked or p == asked[-1]]
        if not history and len(content_words(question)) < 2 and still_open:
            unresolved = still_open[0]
        return ResolvedQuestion(question, question, date_range=date_range, date_phrase=phrase,
                                unresolved=unresolved)  # fmt: skip
    answered = [t for t in history if t.answer and not t.answer.startswith(ABSTAINED_PREFIX)]
    last = answered[-1] if answered else Turn(history[-1].question, "")
    answer = _MARKER.sub("", last.answer).split("\n", 1)[0].strip().rstrip(".")
    # a short answer is the thing referred to; a long one contributes its names
    said = answer if len(answer.split()) <= 12 else " ".join(_names(answer)[:3])
    context = " ".join(x for x in (last.question, said) if x)
    referents = tuple(dict.fromkeys(content_words(context)))
    return ResolvedQuestion(
        question=question,
        search_query=f"{question} {context}".strip(),
        context=context,
        referents=referents,
        previous_quotes=quotes,
        date_range=date_range,
        date_phrase=phrase,
    )


_NAME = re.compile(r"(?:[A-Z][\w'’-]+|[A-Z]{2,})(?:\s+(?:of|the|al|Al|de|[A-Z][\w'’-]+))*")


def _names(text: str) -> list[str]:
    """Capitalised phrases of ``text`` past its first word, in order, without repeats."""
    found = []
    for match in _NAME.finditer(text):
        if match.start() == 0:
            continue
        if match.group() not in found:
            found.append(match.group())
    return found
