"""Questions to offer: examples drawn from the indexed articles, and follow-ups to an answer.

Both come from the names an article is about (spaCy's entities, counted and cleaned), turned
into questions by the kind of name and what the text says of it: "What did Kataib Hezbollah
announce?" when the article has it announcing something, "What happened at Tower 22?" for a
place, "What do the articles say about …?" otherwise.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from assistant.types import Answer

log = logging.getLogger("newsdesk.suggestions")

_LABELS = {"PERSON", "ORG", "GPE", "LOC", "FAC", "EVENT", "PRODUCT", "LAW", "WORK_OF_ART"}
_PLACES = {"GPE", "LOC"}
_SITES = {"FAC"}
# Names are capitalised words joined by a few small words ("Islamic Resistance in Iraq");
# any other lower-case word means spaCy took in too much ("The National on Thursday").
_JOINERS = {"of", "the", "in", "and", "for", "de", "al", "bin", "von", "van", "&"}
_WORD = re.compile(r"[^\W\d_][\w.'’&-]*|\d+[\w-]*")
_NAME_CHARS = re.compile(r"[\w .,'’&-]+")
_MARKERS = re.compile(r"\s*\[\d+\]")
# What a name may be said to do in news text, as "What did X <base>?" asks it.
_SAYING = {
    "said": "say", "says": "say", "announced": "announce", "announces": "announce",
    "claimed": "claim", "claims": "claim", "warned": "warn", "warns": "warn",
    "vowed": "vow", "vows": "vow", "confirmed": "confirm", "denied": "deny",
    "urged": "urge", "promised": "promise", "demanded": "demand", "stated": "state",
}  # fmt: skip
_SAYING_WORDS = "|".join(sorted(_SAYING, key=len, reverse=True))


@dataclass
class Topic:
    """A name an article (or answer) mentions, with how often and under which labels."""

    name: str  # without a leading "the"
    the: bool  # written with "the" in the text ("the Islamic Resistance in Iraq")
    labels: dict[str, int]
    count: int
    first: int  # order of first mention

    @property
    def label(self) -> str:
        return max(self.labels, key=lambda k: (self.labels[k], k))

    @property
    def shown(self) -> str:
        return f"the {self.name}" if self.the else self.name

    @property
    def key(self) -> str:
        return self.name.casefold()


def _clean(name: str) -> tuple[str, bool] | None:
    """A usable name without its leading "the" (and whether it had one), or None."""
    name = re.sub(r"['’]s$", "", " ".join(name.split())).strip(" .,-")
    the = bool(re.match(r"(?i)the\s", name))
    if the:
        name = name[4:].strip()
    words = name.split()
    if len(name) < 2 or not _NAME_CHARS.fullmatch(name) or not words:
        return None
    if not words[0][:1].isupper() and not words[0][:1].isdigit():
        return None
    if any(w[:1].islower() and w.lower() not in _JOINERS for w in words):
        return None
    return name, the


def topics(found: Iterable[tuple[str, str]]) -> list[Topic]:
    """The names among spaCy's ``(text, label)`` entities, merged by name, in order of first
    mention."""
    merged: dict[str, Topic] = {}
    for position, (text, label) in enumerate(found):
        if label not in _LABELS:
            continue
        cleaned = _clean(text)
        if cleaned is None:
            continue
        name, the = cleaned
        topic = merged.get(name.casefold())
        if topic is None:
            topic = merged[name.casefold()] = Topic(name, the, {}, 0, position)
        topic.the = topic.the or the
        topic.labels[label] = topic.labels.get(label, 0) + 1
        topic.count += 1
    return list(merged.values())


def ranked(found: list[Topic], first: Iterable[Topic] = ()) -> list[Topic]:
    """Most telling first: names of several words (specific) before single words, those in
    ``first`` (e.g. the answer's) before the rest, then the most mentioned; a lone place
    name ("US") comes last."""
    first = list(first)
    preferred = {t.key for t in first}
    by_key = {t.key: t for t in found}
    by_key.update({t.key: t for t in first if t.key not in by_key})

    def order(t: Topic):
        lone_place = t.label in _PLACES and len(t.name.split()) == 1
        return (lone_place, len(t.name.split()) < 2, t.key not in preferred, -t.count, t.first)

    return sorted(by_key.values(), key=order)


def question_about(topic: Topic, text: str = "") -> str:
    """A question about ``topic`` that ``text`` (its article) can answer."""
    name = re.escape(topic.name)
    after = re.search(rf"\b{name}(?:['’]s)?\s+(?:[a-z]+\s+)?({_SAYING_WORDS})\b", text)
    before = re.search(rf"\b({_SAYING_WORDS})\s+(?:[\w'’-]+\s+){{0,4}}(?:the\s+)?{name}\b", text)
    verb = (after or before).group(1) if (after or before) else ""
    if verb and topic.label not in _PLACES | _SITES:
        return f"What did {topic.shown} {_SAYING[verb]}?"
    if topic.label in _PLACES:
        shown = topic.shown
        if topic.name.isupper() and len(topic.name) <= 3 and not topic.the:
            shown = f"the {topic.name}"  # initialisms of countries: "the US"
        return f"What happened in {shown}?"
    if topic.label in _SITES:
        return f"What happened at {topic.shown}?"
    return f"What do the articles say about {topic.shown}?"


def _mentioned(topic: Topic, text: str) -> bool:
    """Does ``text`` already name ``topic`` (most of its words)?"""
    asked = {w.casefold() for w in _WORD.findall(text)}
    words = [w.casefold() for w in _WORD.findall(topic.name) if w.lower() not in _JOINERS]
    return bool(words) and sum(w in asked for w in words) * 2 > len(words)


def _overlaps(topic: Topic, chosen: list[Topic]) -> bool:
    return any(topic.key in c.key or c.key in topic.key for c in chosen)


def _entities(texts: list[str], keys: list[tuple] | None = None) -> list[list[tuple[str, str]]]:
    from assistant.nlp import entities

    return entities(texts, keys)


def example_questions(
    records, text_of: Callable[[str], str | None] | None = None, limit: int = 4
) -> list[str]:
    """Questions about what the newest articles are about, taken in turn from each article
    (its most telling names first) until ``limit``.

    ``text_of(article_id)`` gives an article's text; without it only titles are read.
    """
    records = list(records)
    if not records or limit <= 0:
        return []
    texts = [(text_of(r.id) or "") if text_of else "" for r in records]
    # parsed once per article version: the page refreshes its examples after every upload
    found = _entities([f"{r.title}. {t[:4000]}" for r, t in zip(records, texts, strict=True)],
                      keys=[("example", r.id) for r in records])  # fmt: skip
    queues = [
        (ranked(topics(ents)), f"{r.title}. {t}")
        for r, ents, t in zip(records, found, texts, strict=True)
    ]
    questions: list[str] = []
    chosen: list[Topic] = []
    depth = max((len(q) for q, _ in queues), default=0)
    for level in range(depth):
        for queue, text in queues:
            if level >= len(queue) or _overlaps(queue[level], chosen):
                continue
            question = question_about(queue[level], text)
            if question not in questions:
                questions.append(question)
                chosen.append(queue[level])
            if len(questions) >= limit:
                return questions
    return questions


def follow_up_questions(
    answer: Answer, article_text: str | None = None, limit: int = 3
) -> list[str]:
    """Two or three questions to ask next: about the names in the answer, then about the
    other names its article is most about; none already in the question, none twice.
    No suggestions for a refusal or a question back."""
    if answer.abstained or not answer.citations or limit <= 0:
        return []
    said = _MARKERS.sub("", answer.short_answer or answer.answer)
    quotes = " ".join(c.quote for c in answer.citations)
    article = article_text or " ".join(
        dict.fromkeys(c.passage or c.quote for c in answer.citations)
    )
    in_answer, in_quotes, in_article = _entities([said, quotes, article[:6000]])
    candidates = ranked(topics(in_quotes + in_article), first=topics(in_answer))
    asked = answer.question
    questions: list[str] = []
    chosen: list[Topic] = []
    for topic in candidates:
        if _mentioned(topic, asked) or _overlaps(topic, chosen):
            continue
        question = question_about(topic, f"{quotes} {article}")
        if question in questions:
            continue
        questions.append(question)
        chosen.append(topic)
        if len(questions) >= limit:
            break
    return questions


def written_follow_ups(assistant, answer: Answer, limit: int = 3) -> list[str]:
    """Follow-up questions written by the LLM that wrote ``answer`` (none for an extractive
    answer, a refusal, or when the model fails or suggests nothing usable)."""
    if answer.abstained or not answer.citations or answer.backend == "extractive":
        return []
    try:
        writer = assistant.answer_backend(answer.backend)
        return writer.suggest(answer.question, answer.answer, answer.citations, limit)
    except Exception:  # suggestions are a nicety: the spaCy ones stay
        log.warning("the %s LLM wrote no follow-up questions", answer.backend, exc_info=True)
        return []
