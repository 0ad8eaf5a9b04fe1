"""Extractive answering: pick the retrieved sentences that best answer the question.

No language model: each sentence of a retrieved passage is scored on meaning (MiniLM cosine),
on the question's words it contains (weighted by rarity), on whether it holds the kind of thing
asked for (a number for "how many", a name for "who", a cause for "why", ...) and on the rank of
its passage. The answer is the best one or two sentences, quoted verbatim, each with its marker.
When even the best sentence is weak evidence, the assistant says the articles don't say.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from assistant.chunking import split_sentences
from assistant.conversation import ResolvedQuestion
from assistant.retrieval import Vocabulary
from assistant.settings import AnswerSettings
from assistant.types import Answer, Citation, Passage

ABSTENTION = "The articles don't say: nothing in the indexed articles answers this question."

_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozens?|twenty|thirty|"
    r"forty|fifty|hundreds?|thousands?|millions?|billions?|trillions?|percent|half"
)
_MONTHS = (
    r"january|february|march|april|may|june|july|august|september|october|november|december|"
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday|yesterday|today|tomorrow"
)
_REASON = re.compile(
    r"\b(because|due to|in order to|so that|to prevent|to avoid|to stop|aimed|amid|reason|"
    r"as a result|following|after|since|request|decision|in response|to protest|blamed|"
    r"caused|led to|intended|designed to|to ensure|fear|concern)\b",
    re.IGNORECASE,
)
_NUMBER = re.compile(rf"(\d|\b({_NUMBER_WORDS})\b)", re.IGNORECASE)
_DATE = re.compile(rf"\b({_MONTHS})\b|\b(19|20)\d\d\b", re.IGNORECASE)
_NAME = re.compile(r"\b[A-Z][\w'’.-]*[A-Za-z]|[\"“][^\"”]{2,60}[\"”]")
_WORDS = re.compile(r"[\w'’-]+")

QUESTION_TYPES = ("number", "date", "reason", "place", "name", "entity", "other")


def question_type(question: str) -> str:
    """The kind of answer a question asks for, from its wording."""
    q = question.lower()
    if re.search(r"\bhow (many|much|old|long|far|tall|big|large|often)\b", q) or re.search(
        r"\bwhat (percent|percentage|number|amount|price|share|age)\b", q
    ):
        return "number"
    if re.search(r"\bwhen\b|\b(what|which) (year|day|date|month|time)\b", q):
        return "date"
    if re.search(r"\bwhy\b|\bfor what reason\b|\bwhat (caused|led|prompted)\b", q):
        return "reason"
    if re.search(
        r"\bwhere\b|\b(which|what) (country|city|state|nation|region|town|continent|island|"
        r"county|province|capital)\b",
        q,
    ):
        return "place"
    if re.search(r"\bwho\b|\bwhose\b|\bwhom\b", q):
        return "name"
    if re.search(r"\b(which|what|name)\b", q):
        return "entity"
    return "other"


def matches_type(kind: str, sentence: str, question: str) -> bool:
    """Does ``sentence`` hold something of ``kind`` that the question itself does not?"""
    q_words = {w.lower() for w in _WORDS.findall(question)}

    def novel(found: list[str]) -> bool:
        return any(any(w.lower() not in q_words for w in _WORDS.findall(item)) for item in found)

    if kind == "number":
        return novel([m.group() for m in _NUMBER.finditer(sentence)])
    if kind == "date":
        return novel([m.group() for m in _DATE.finditer(sentence)])
    if kind == "reason":
        return bool(_REASON.search(sentence))
    if kind in ("place", "name", "entity"):
        # skip the sentence's first word: it is capitalised whatever it is
        body = sentence.split(None, 1)[1] if " " in sentence else ""
        return novel(_NAME.findall(body))
    return True


@dataclass
class Candidate:
    passage: Passage
    rank: int
    start: int  # offsets in the article
    end: int
    text: str
    terms: set[str] = field(default_factory=set)
    dense: float = 0.0
    coverage: float = 0.0
    type_match: bool = False
    score: float = 0.0
    support: float = 0.0


def _candidates(passages: list[Passage], vocab: Vocabulary) -> list[Candidate]:
    seen: set[tuple[str, int]] = set()
    out: list[Candidate] = []
    for rank, passage in enumerate(passages):
        for start, end in split_sentences(passage.text, offset=passage.start):
            key = (passage.article_id, start)
            text = passage.text[start - passage.start : end - passage.start]
            if key in seen or len(text.split()) < 4:
                continue
            seen.add(key)
            out.append(Candidate(passage, rank, start, end, text, set(vocab.terms(text))))
    return out


def _weights(resolved: ResolvedQuestion, vocab: Vocabulary) -> dict[str, float]:
    weights: dict[str, float] = {}
    names = vocab.names(resolved.question)
    for term in vocab.terms(resolved.question):
        weights[term] = vocab.idf(term) * (1.5 if term in names else 1.0)
    for term in vocab.terms(resolved.context):
        weights.setdefault(term, 0.4 * vocab.idf(term))
    return weights


class SentenceEmbeddings:
    """Sentence vectors, cached by (article id, offset): passages recur across questions."""

    def __init__(self, embed_model, capacity: int = 50_000) -> None:
        self.embed_model = embed_model
        self.capacity = capacity
        self._cache: OrderedDict[tuple[str, int, int], Any] = OrderedDict()
        self._lock = threading.Lock()

    def cosines(self, query_embedding: list[float], candidates: list[Candidate]) -> list[float]:
        import numpy as np

        if not candidates:
            return []
        keys = [(c.passage.article_id, c.start, c.end) for c in candidates]
        with self._lock:
            missing = [i for i, k in enumerate(keys) if k not in self._cache]
        if missing:
            fresh = self.embed_model.get_text_embedding_batch([candidates[i].text for i in missing])
            with self._lock:
                for i, vector in zip(missing, fresh, strict=True):
                    self._cache[keys[i]] = np.asarray(vector, dtype=np.float32)
                while len(self._cache) > self.capacity:
                    self._cache.popitem(last=False)
        with self._lock:
            vectors = np.stack([self._cache[k] for k in keys])
        query = np.asarray(query_embedding, dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1) * (np.linalg.norm(query) or 1.0)
        return list((vectors @ query) / np.where(norms == 0, 1.0, norms))


def score_candidates(
    resolved: ResolvedQuestion,
    passages: list[Passage],
    vocab: Vocabulary,
    embeddings: SentenceEmbeddings,
    query_embedding: list[float],
) -> list[Candidate]:
    """Candidates from ``passages``, best first."""
    previous = {" ".join(a.split()) for a in resolved.previous_answers}
    # A follow-up asks for something new: what was already said is not an answer again.
    candidates = [c for c in _candidates(passages, vocab) if not any(c.text in p for p in previous)]
    weights = _weights(resolved, vocab)
    total = sum(weights.values()) or 1.0
    kind = question_type(resolved.question)
    for cand, cosine in zip(
        candidates, embeddings.cosines(query_embedding, candidates), strict=True
    ):
        title_terms = set(vocab.terms(cand.passage.title))
        hit = sum(w for t, w in weights.items() if t in cand.terms)
        hit += 0.5 * sum(w for t, w in weights.items() if t in title_terms - cand.terms)
        cand.dense = float(cosine)
        cand.coverage = min(hit / total, 1.0)
        cand.type_match = matches_type(kind, cand.text, resolved.question)
        novel_terms = cand.terms - set(weights)
        cand.score = (
            0.45 * cand.dense
            + 0.35 * cand.coverage
            + 0.15 * cand.type_match
            + 0.08 / (1 + cand.rank)
            + (0.03 if cand.start < 300 else 0.0)
            - (0.15 if len(novel_terms) < 2 else 0.0)
        )
        cand.support = 0.5 * cand.dense + 0.5 * cand.coverage
    candidates.sort(key=lambda c: c.score, reverse=True)
    return candidates


def compose(
    resolved: ResolvedQuestion,
    candidates: list[Candidate],
    settings: AnswerSettings,
    passages: list[Passage],
) -> Answer:
    """The answer object from scored candidates: one or two cited sentences, or an abstention."""
    if not candidates or candidates[0].support < settings.min_support:
        return Answer(
            answer=ABSTENTION,
            abstained=True,
            question=resolved.question,
            search_query=resolved.search_query,
            retrieved=passages,
            confidence=candidates[0].support if candidates else 0.0,
        )
    chosen = [candidates[0]]
    words = len(candidates[0].text.split())
    for cand in candidates[1 : 1 + settings.max_sentences * 2]:
        if len(chosen) >= settings.max_sentences:
            break
        n = len(cand.text.split())
        adds = cand.terms - set().union(*(c.terms for c in chosen))
        if (
            cand.score >= 0.92 * chosen[0].score
            and words + n <= settings.max_words
            and len(adds) >= 3
        ):
            chosen.append(cand)
            words += n
    citations = []
    parts = []
    for n, cand in enumerate(chosen, start=1):
        p = cand.passage
        citations.append(
            Citation(
                n=n,
                article_id=p.article_id,
                chunk_id=p.chunk_id,
                title=p.title,
                source=p.source,
                published_at=p.published_at,
                url=p.url,
                quote=cand.text,
                start=cand.start,
                end=cand.end,
                passage=p.text,
                passage_start=p.start,
            )
        )
        parts.append(f"{cand.text} [{n}]")
    return Answer(
        answer=" ".join(parts),
        abstained=False,
        citations=citations,
        question=resolved.question,
        search_query=resolved.search_query,
        retrieved=passages,
        confidence=chosen[0].support,
    )
