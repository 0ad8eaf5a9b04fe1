"""Follow-up questions: resolve "Why did it do that?" against the earlier turns."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_REFERRING = {
    "it", "its", "itself", "they", "them", "their", "theirs", "he", "him", "his", "she", "her",
    "hers", "this", "that", "these", "those", "there", "then", "such", "the same", "the group",
    "the attack", "the company", "the country", "the person", "the man", "the woman",
}  # fmt: skip
_OPENERS = ("and ", "but ", "also ", "what about", "how about", "what else", "why", "so ")
_CAPITALIZED = re.compile(r"(?:[A-Z][\w'’-]+|[A-Z]{2,})(?:\s+(?:of|the|al|Al|de|[A-Z][\w'’-]+))*")
_MARKER = re.compile(r"\s*\[\d+\]")
_SENTENCE_START_WORDS = {
    "The", "A", "An", "In", "On", "At", "But", "And", "It", "This", "That", "Who", "What",
    "When", "Where", "Which", "Why", "How", "Did", "Does", "Do", "Is", "Are", "Was", "Were",
}  # fmt: skip


_CALENDAR = {
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january",
    "february", "march", "april", "may", "june", "july", "august", "september", "october",
    "november", "december",
}  # fmt: skip


@dataclass(frozen=True)
class Turn:
    question: str
    answer: str


@dataclass(frozen=True)
class ResolvedQuestion:
    question: str  # as asked
    search_query: str  # question plus the context it refers to
    context: str  # what was added ("" when the question stands alone)
    previous_answers: tuple[str, ...] = ()


def normalize_history(history: Any) -> list[Turn]:
    """Turns from ``[(q, a), ...]``, ``[{"role", "content"}, ...]`` or ``[Answer, ...]``.

    A bad shape raises ``InvalidInput``; the checks live in ``assistant.validation``.
    """
    from assistant.validation import check_history

    return check_history(history)


def is_follow_up(question: str, content_terms: int) -> bool:
    """Does the question lean on earlier turns (pronouns, openers, too few words of its own)?"""
    lowered = " " + re.sub(r"[^\w\s]", " ", question.lower()) + " "
    if any(f" {word} " in lowered for word in _REFERRING):
        return True
    if question.lower().lstrip().startswith(_OPENERS):
        return True
    return content_terms < 2


def key_phrases(text: str, limit: int = 6) -> list[str]:
    """Names and capitalised phrases in ``text``, in order of appearance, without repeats."""
    text = _MARKER.sub("", text)
    found: list[str] = []
    for match in _CAPITALIZED.finditer(text):
        phrase = match.group().strip()
        words = phrase.split()
        if words and words[0] in _SENTENCE_START_WORDS:
            phrase = " ".join(words[1:])
        if len(phrase) > 2 and phrase not in found and phrase.lower() not in _CALENDAR:
            found.append(phrase)
        if len(found) >= limit:
            break
    return found


def resolve(question: str, history: list[Turn], content_terms: int) -> ResolvedQuestion:
    """The question with the topic of the last answered turn attached when it is a follow-up."""
    if not history or not is_follow_up(question, content_terms):
        return ResolvedQuestion(question, question, "")
    answered = [t for t in history if t.answer and not t.answer.startswith("The articles don")]
    last = answered[-1] if answered else history[-1]
    answer_text = _MARKER.sub("", last.answer).split("\n", 1)[0]
    named = key_phrases(answer_text, limit=8)
    # the answer's subject: the name it repeats most (earliest on a tie)
    subject = sorted(named, key=lambda p: -answer_text.count(p))[:1]
    phrases = subject + key_phrases(last.question, limit=2)
    context = " ".join(dict.fromkeys([last.question, *phrases]))
    return ResolvedQuestion(
        question=question,
        search_query=f"{question} {context}",
        context=context,
        previous_answers=tuple(_MARKER.sub("", t.answer) for t in history),
    )
