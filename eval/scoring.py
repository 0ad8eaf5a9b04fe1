"""Scoring functions: pure, small, and tested on hand-made cases."""

from __future__ import annotations

import re
import statistics
import unicodedata
from collections.abc import Iterable, Sequence

_PUNCT = re.compile(r"[^\w\s]")
_MARKER = re.compile(r"\[\d+\]")


def normalize(text: str) -> str:
    """Lower case, no accents, punctuation or repeated spaces, "&" read as "and": for lenient
    matching."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = _PUNCT.sub(" ", text.lower().replace("&", " and "))  # "New Jersey & Oregon"
    return " ".join(text.split())


def mentions(text: str, phrase: str) -> bool:
    """Does ``text`` contain ``phrase`` as whole words, ignoring case and punctuation?"""
    needle = normalize(phrase)
    return bool(needle) and f" {needle} " in f" {normalize(text)} "


def gold_choices(gold_answers: Sequence[str], choices: Sequence[str]) -> list[str]:
    """The choices that are gold answers (all gold answers when there are no choices)."""
    if not choices:
        return list(gold_answers)
    return [c for c in choices if any(normalize(c) == normalize(g) for g in gold_answers)]


def answer_correct(
    answer: str, abstained: bool, gold_answers: Sequence[str], choices: Sequence[str] = ()
) -> bool:
    """Correct: abstained when nothing is gold; else names a gold answer (and no other choice)."""
    if not gold_answers:
        return abstained
    if abstained:
        return False
    answer = _MARKER.sub(" ", answer)  # "Artemis [1]." does not name "Artemis 1"
    if choices:
        gold = gold_choices(gold_answers, choices)
        others = [c for c in choices if c not in gold]
        return any(mentions(answer, g) for g in gold) and not any(
            mentions(answer, o) for o in others
        )
    return any(mentions(answer, g) for g in gold_answers)


def abstention_scores(should: Sequence[bool], did: Sequence[bool]) -> dict[str, float | None]:
    """Precision and recall of abstaining, over paired flags."""
    both = sum(1 for s, d in zip(should, did, strict=True) if s and d)
    n_did, n_should = sum(did), sum(should)
    return {
        "abstention_precision": both / n_did if n_did else None,
        "abstention_recall": both / n_should if n_should else None,
    }


def article_ranking(article_ids: Iterable[str]) -> list[str]:
    """Distinct article ids in order of first appearance."""
    return list(dict.fromkeys(article_ids))


def first_gold_rank(ranked: Sequence[str], gold: Iterable[str]) -> int | None:
    """1-based rank of the first gold article, None when absent."""
    gold = set(gold)
    for rank, article_id in enumerate(ranked, start=1):
        if article_id in gold:
            return rank
    return None


def retrieval_scores(ranks: Sequence[int | None]) -> dict[str, float | None]:
    """hit@1/5/10 and MRR from first-gold ranks (one per question with gold evidence)."""
    if not ranks:
        return {"hit@1": None, "hit@5": None, "hit@10": None, "mrr": None}
    n = len(ranks)
    out: dict[str, float | None] = {
        f"hit@{k}": sum(1 for r in ranks if r is not None and r <= k) / n for k in (1, 5, 10)
    }
    out["mrr"] = sum(1 / r for r in ranks if r) / n
    return out


def quote_is_verbatim(article_text: str | None, quote: str, start: int, end: int) -> bool:
    return article_text is not None and article_text[start:end] == quote and bool(quote)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) by linear interpolation."""
    if not values:
        return None
    if len(values) == 1:
        return float(values[0])
    return (
        float(statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1])
        if q < 100
        else max(values)
    )


def word_count(text: str) -> int:
    return len(re.sub(r"\[\d+\]", "", text).split())
