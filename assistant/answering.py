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
from assistant.entities import THING, entities, expected_labels
from assistant.retrieval import Vocabulary
from assistant.settings import AnswerSettings
from assistant.types import Answer, Citation, Passage

ABSTENTION = "The articles don't say: nothing in the indexed articles answers this question."

_REASON = re.compile(
    r"\b(because|due to|in order to|so that|to prevent|to avoid|to stop|aimed|amid|reason|"
    r"as a result|following|after|since|request|decision|in response|to protest|blamed|"
    r"caused|led to|intended|designed to|to ensure|fear|concern)\b",
    re.IGNORECASE,
)
_WORDS = re.compile(r"[\w'’-]+")

_STRONG_KINDS = {"money", "percent", "number", "date", "place", "organization", "name"}


def question_type(question: str) -> str:
    """The kind of answer a question asks for, from its wording (see ``entities``)."""
    return expected_labels(question)[0]


def _question_words(question: str) -> set[str]:
    return {w.lower() for w in _WORDS.findall(question)}


def matches_type(
    kind: str, labels: frozenset[str], sentence: str, ents: list[tuple[str, str]], q_words: set[str]
) -> bool:
    """Does the sentence hold something of the asked kind that the question does not name?"""

    def novel(text: str) -> bool:
        return any(w.lower() not in q_words for w in _WORDS.findall(text))

    if kind == "reason":
        return bool(_REASON.search(sentence))
    if labels:
        return any(label in labels and novel(text) for text, label in ents)
    if kind == "entity":
        quoted = re.findall(r"[\"“]([^\"”]{2,60})[\"”]", sentence)
        return any(label in THING and novel(text) for text, label in ents) or any(
            novel(q) for q in quoted
        )
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
    answers: list[str] = field(default_factory=list)  # normalized names of the asked kind
    has_top_name: bool = False  # carries the name most sentences agree on
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


_WIRES = {"cnn", "ap", "associated press", "reuters", "afp", "usa today", "bloomberg"}


def _source_names(passages: list[Passage]) -> set[str]:
    """Bylines are not answers: 'cnn' from 'cnn.com', 'usa today' from 'usatoday.com'."""
    names = set(_WIRES)
    for p in passages:
        stem = p.source.lower().rsplit(".", 1)[0] if "." in p.source else p.source.lower()
        names.add(stem)
    return names


def _weights(resolved: ResolvedQuestion, vocab: Vocabulary) -> dict[str, float]:
    weights: dict[str, float] = {}
    names = vocab.names(resolved.question)
    for term in vocab.terms(resolved.question):
        weights[term] = vocab.idf(term) * (1.5 if term in names else 1.0)
    for term in vocab.terms(resolved.context):
        weights.setdefault(term, 0.4 * vocab.idf(term))
    return weights


class SentenceEmbeddings:
    """Sentence vectors and entities, cached by (article id, span): passages recur."""

    def __init__(self, embed_model, capacity: int = 50_000) -> None:
        self.embed_model = embed_model
        self.capacity = capacity
        self._cache: OrderedDict[tuple[str, int, int], Any] = OrderedDict()
        self._entities: OrderedDict[tuple[str, int, int], list] = OrderedDict()
        self._lock = threading.Lock()

    def title_entities(self, passage: Passage) -> list[tuple[str, str]]:
        key = (passage.article_id, -1, -1)
        with self._lock:
            if key in self._entities:
                return self._entities[key]
        found = entities([passage.title])[0]
        with self._lock:
            self._entities[key] = found
        return found

    def entities(self, candidates: list[Candidate]) -> list[list[tuple[str, str]]]:
        keys = [(c.passage.article_id, c.start, c.end) for c in candidates]
        with self._lock:
            missing = [i for i, k in enumerate(keys) if k not in self._entities]
        if missing:
            found = entities([candidates[i].text for i in missing])
            with self._lock:
                for i, ents in zip(missing, found, strict=True):
                    self._entities[keys[i]] = ents
                while len(self._entities) > self.capacity:
                    self._entities.popitem(last=False)
        with self._lock:
            return [self._entities[k] for k in keys]

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
    kind, labels = expected_labels(resolved.question)
    q_words = _question_words(resolved.question + " " + resolved.context)
    best_passage = max((p.score for p in passages), default=0.0) or 1.0
    sources = _source_names(passages)
    cosines = embeddings.cosines(query_embedding, candidates)
    ents = embeddings.entities(candidates)
    title_terms_of = {p.chunk_id: set(vocab.terms(p.title)) for p in passages}
    for cand, cosine, found in zip(candidates, cosines, ents, strict=True):
        title_terms = title_terms_of[cand.passage.chunk_id]
        hit = sum(w for t, w in weights.items() if t in cand.terms)
        hit += 0.5 * sum(w for t, w in weights.items() if t in title_terms - cand.terms)
        cand.dense = float(cosine)
        cand.coverage = min(hit / total, 1.0)
        cand.type_match = matches_type(kind, labels, cand.text, found, q_words)
        novel_terms = cand.terms - set(weights)
        if kind in _STRONG_KINDS:
            type_score = 0.20 if cand.type_match else -0.20
        elif kind in ("reason", "entity"):
            type_score = 0.08 if cand.type_match else 0.0
        else:
            type_score = 0.0
        cand.score = (
            0.40 * cand.dense
            + 0.20 * cand.coverage
            + type_score
            + 0.20 * cand.passage.score / best_passage
            + (0.03 if cand.start < 300 else 0.0)
            - (0.05 if len(novel_terms) < 2 else 0.0)
        )
        cand.support = 0.5 * cand.dense + 0.5 * cand.coverage
        cand.answers = answer_names(kind, labels, found, q_words, sources)
    candidates.sort(key=lambda c: c.score, reverse=True)
    if kind in _STRONG_KINDS or kind == "entity":
        _vote(candidates, kind, labels, q_words, sources, embeddings)
    return candidates


def answer_names(kind, labels, found, q_words: set[str], sources: set[str]) -> list[str]:
    """Names in a sentence that could answer the question: of the asked kind, not in it."""
    wanted = labels or (THING if kind == "entity" else frozenset())
    names = []
    for text, label in found:
        name = _normal_name(text)
        if label not in wanted or not name or name in sources or name in names:
            continue
        if any(w.lower() not in q_words for w in _WORDS.findall(text)):
            names.append(name)
    return names


def _normal_name(text: str) -> str:
    text = re.sub(r"^(the|a|an)\s+", "", text.strip(), flags=re.IGNORECASE)
    return re.sub(r"['’]s$", "", text).lower()


REPEAT_WEIGHT = 0.5


def _vote(candidates, kind, labels, q_words, sources, embeddings, pool: int = 25) -> None:
    """Redundancy: a name that many well-scored sentences (and headlines) carry is likelier
    the answer; each sentence gains in proportion to the votes of its best name."""
    top = candidates[:pool]
    if not top:
        return
    floor = top[0].score - 0.3
    # within one article, repeats count for less than agreement across articles
    per_article: dict[tuple[str, str], list[float]] = {}
    for cand in top:
        for name in cand.answers:
            per_article.setdefault((cand.passage.article_id, name), []).append(
                max(0.0, cand.score - floor)
            )
    votes: dict[str, float] = {}
    for (_, name), weights in per_article.items():
        best = max(weights)
        votes[name] = votes.get(name, 0.0) + best + REPEAT_WEIGHT * (sum(weights) - best)
    seen: set[str] = set()
    for cand in top:
        if cand.passage.article_id in seen:
            continue
        seen.add(cand.passage.article_id)
        headline = embeddings.title_entities(cand.passage)
        for name in answer_names(kind, labels, headline, q_words, sources):
            votes[name] = votes.get(name, 0.0) + 0.1
    best = max(votes.values(), default=0.0)
    if best <= 0:
        return
    top_name = max(votes, key=votes.get)
    for cand in candidates:
        cand.has_top_name = top_name in cand.answers
        strength = max((votes.get(n, 0.0) for n in cand.answers), default=0.0)
        cand.score += 0.1 * strength / best
        cand.answers.sort(key=lambda n: votes.get(n, 0.0), reverse=True)
    candidates.sort(key=lambda c: c.score, reverse=True)


def missing_share(resolved: ResolvedQuestion, passages: list[Passage], vocab: Vocabulary) -> float:
    """Share of the question's own word weight found nowhere in the retrieved passages.

    When the articles never mention what the question is about, no sentence can answer it.
    """
    weights = {t: vocab.idf(t) for t in vocab.terms(resolved.question)}
    if not weights:
        return 0.0
    present: set[str] = set()
    for p in passages:
        present.update(vocab.terms(p.title + " " + p.text))
    return sum(w for t, w in weights.items() if t not in present) / sum(weights.values())


def compose(
    resolved: ResolvedQuestion,
    candidates: list[Candidate],
    settings: AnswerSettings,
    passages: list[Passage],
    missing: float = 0.0,
) -> Answer:
    """The answer object from scored candidates: one or two cited sentences, or an abstention."""
    weak = not candidates or candidates[0].support < settings.min_support
    if weak or missing >= settings.max_missing:
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
        agrees = cand.score >= settings.second_ratio * chosen[0].score and len(adds) >= 3
        # the name most sentences agree on, missing from the first sentence
        names_it = cand.has_top_name and not chosen[0].has_top_name
        if (agrees or (names_it and cand.score >= 0.8 * chosen[0].score)) and (
            words + n <= settings.max_words
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
