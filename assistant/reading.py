"""Reading: from retrieved passages to the answer phrase and the sentences that support it.

1. Every sentence of the retrieved passages is scored cheaply: its meaning against the
   question (the sentence vectors stored at ingest), the question's focus words it contains
   (exactly or by meaning), the focus its passage and headline cover, the passage's rank and
   whether it holds anything of the asked kind (a number, a name, a date).
2. The best few full sentences (never headings, captions or bylines) are parsed. Phrases of
   the asked kind are taken from them (names, numbers with their unit, dates, noun phrases,
   clauses) and scored by how tightly they bind to the question's focus words in the parse,
   by their sentence's score, by how well their type fits and by how many articles agree.
3. The best phrase is the answer, unless the evidence does not cover what the question is
   about or nothing of the asked kind is bound to it: then the reader abstains.
Yes/no questions take the polarity of the sentence that settles them; why/how questions the
reason or manner clause.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from assistant.matching import Focus, Matcher, WordVectors, focus_of
from assistant.questions import THING, Frame, analyze
from assistant.settings import ReaderSettings
from assistant.text import FUNCTION_WORDS, is_statement, words
from assistant.types import Passage

_NUMBER_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozen|dozens|twenty|"
    "thirty|forty|fifty|hundred|hundreds|thousand|thousands|million|millions|billion|trillion"
)
_KIND_CUES = {
    "number": re.compile(rf"\d|\b({_NUMBER_WORDS})\b", re.IGNORECASE),
    "money": re.compile(r"[$€£¥]|\b(dollars?|euros?|pounds?|cents?|million|billion)\b", re.I),
    "percent": re.compile(r"%|\bper ?cent\b", re.IGNORECASE),
    "date": re.compile(r"\b(\d{4}|january|february|march|april|may|june|july|august|september|"
                       r"october|november|december|monday|tuesday|wednesday|thursday|friday|"
                       r"saturday|sunday|week|month|year|today|tomorrow|soon)\b", re.I),
}  # fmt: skip
_KIND_CUES["age"] = _KIND_CUES["number"]
_KIND_CUES["duration"] = _KIND_CUES["date"]
_CAPITALIZED = re.compile(r"(?<!^)(?<![.!?]\s)\b[A-Z][\w'’&.-]*")
_REASON_MARKERS = {"because", "since", "as", "due", "amid", "after", "following", "over",
                   "so", "to", "for"}  # fmt: skip
_NEGATION_WORDS = {"not", "n't", "never", "no", "neither", "nor", "without"}
_PRIMARY = {
    "agent": {"PERSON", "ORG"},
    "person": {"PERSON"},
    "organization": {"ORG"},
    "place": {"GPE", "LOC", "FAC"},
    "date": {"DATE"},
    "number": {"CARDINAL", "QUANTITY"},
    "money": {"MONEY"},
    "percent": {"PERCENT"},
    "age": {"DATE", "CARDINAL"},
    "duration": {"DATE", "TIME"},
}


@dataclass
class Sentence:
    """One sentence of a retrieved passage, with what the reader found out about it."""

    passage: Passage
    rank: int
    start: int  # offsets in the article
    end: int
    text: str
    vector: np.ndarray | None = None
    words: list[str] = field(default_factory=list)
    statement: bool = True
    dense: float = 0.0
    lexical: float = 0.0
    context: float = 0.0
    score: float = 0.0


@dataclass
class Phrase:
    """A possible answer inside a sentence."""

    text: str
    label: str
    sentence: Sentence
    binding: float = 0.0
    fit: float = 0.0
    votes: float = 0.0
    score: float = 0.0

    @property
    def key(self) -> str:
        return normal(self.text)


@dataclass
class Reading:
    """What the reader concluded: the answer (or an abstention) and its evidence."""

    frame: Frame
    abstained: bool
    answer: str = ""  # the answer without markers: "The Islamic Resistance in Iraq"
    short_answer: str | None = None
    evidence: list[Sentence] = field(default_factory=list)  # best first; [0] supports answer
    reason: str = ""  # why the reader abstained
    confidence: float = 0.0
    sentences: list[Sentence] = field(default_factory=list, repr=False)  # all, ranked
    phrases: list[Phrase] = field(default_factory=list, repr=False)  # all, ranked


def normal(text: str) -> str:
    text = re.sub(r"^(the|a|an)\s+", "", text.strip(), flags=re.IGNORECASE)
    return " ".join(re.sub(r"['’]s$", "", text).lower().split())


def warm_up() -> None:
    """Load the parser now rather than on the first question."""
    from assistant.nlp import pipeline

    pipeline()


def read(resolved, passages: list[Passage], query_vector: np.ndarray, keywords, embedder,
         settings: ReaderSettings) -> Reading:  # fmt: skip
    """Read ``passages`` for the answer to the resolved question."""
    frame = analyze(resolved.question)

    def idf(term: str) -> float:
        return keywords.idf(term, settings.idf_prior_docs)

    focus = focus_of(resolved.question, idf, resolved.referents, settings.referent_weight,
                     frame.head)  # fmt: skip
    matcher = Matcher(focus, _word_vectors(embedder), settings.soft_match_min,
                      settings.soft_match_weight)  # fmt: skip
    sentences = _sentences(passages, resolved.previous_quotes)
    if not sentences or not focus.stems:
        return Reading(frame, True, reason="nothing retrieved")
    _score_sentences(sentences, frame, focus, matcher, query_vector, settings)
    ranked = sorted((s for s in sentences if s.statement), key=lambda s: -s.score)
    reading = _conclude(frame, ranked, matcher, settings, resolved)
    reading.sentences = ranked
    return reading


def _conclude(frame: Frame, ranked: list[Sentence], matcher: Matcher, cfg: ReaderSettings,
              resolved) -> Reading:  # fmt: skip
    if not ranked:
        return Reading(frame, True, reason="no full sentence in the evidence")
    best = ranked[0]
    if best.context < cfg.min_context:
        return Reading(frame, True, evidence=ranked[:1], confidence=best.context,
                       reason="the articles do not cover what the question is about")  # fmt: skip
    top = ranked[: cfg.parse_top]
    if frame.kind == "yesno":
        return _yes_no(frame, top, matcher, cfg)
    from assistant.nlp import parse

    docs = parse([s.text for s in top], [(s.passage.article_id, s.start, s.end) for s in top])
    if frame.kind in ("reason", "manner", "clause"):
        return _clause(frame, top, docs, matcher, cfg)
    phrases = sorted(_phrases(frame, top, docs, matcher, cfg, resolved), key=lambda p: -p.score)
    unbound = f"no {frame.kind} bound to the question in the evidence"
    if not phrases:
        return Reading(frame, True, evidence=top[:1], confidence=best.score, reason=unbound)
    chosen = phrases[0]
    if chosen.binding < cfg.min_binding or chosen.score < cfg.min_answer:
        return Reading(frame, True, evidence=[chosen.sentence], confidence=chosen.score,
                       reason=unbound, phrases=phrases)  # fmt: skip
    evidence = [chosen.sentence] + [s for s in ranked if s is not chosen.sentence]
    return Reading(frame, False, answer=_answer_phrase(chosen, frame), short_answer=chosen.text,
                   evidence=evidence[: cfg.evidence_sentences], confidence=chosen.score,
                   phrases=phrases)  # fmt: skip


_VECTORS: dict[int, WordVectors | None] = {}


def _word_vectors(embedder) -> WordVectors | None:
    """One word-vector cache per embedder (the cache is what makes soft matching cheap)."""
    if id(embedder) not in _VECTORS:
        _VECTORS[id(embedder)] = WordVectors(embedder) if embedder.word_vectors is not None \
            else None  # fmt: skip
    return _VECTORS[id(embedder)]


def _sentences(passages: list[Passage], previous: tuple[str, ...]) -> list[Sentence]:
    seen: set[tuple[str, int]] = set()
    out: list[Sentence] = []
    said = {" ".join(q.split()) for q in previous}
    for rank, passage in enumerate(passages):
        vectors = passage.sentence_vectors
        for i, (start, end) in enumerate(passage.sentence_spans):
            key = (passage.article_id, start)
            text = passage.text[start - passage.start : end - passage.start]
            if key in seen or not text.strip():
                continue
            seen.add(key)
            vector = vectors[i] if vectors is not None and i < len(vectors) else None
            out.append(
                Sentence(
                    passage,
                    rank,
                    start,
                    end,
                    text,
                    vector,
                    words(text),
                    is_statement(text) and " ".join(text.split()) not in said,
                )
            )
    return out


def _score_sentences(sentences: list[Sentence], frame: Frame, focus: Focus, matcher: Matcher,
                     query_vector: np.ndarray, cfg: ReaderSettings) -> None:  # fmt: skip
    best_by_passage: dict[str, np.ndarray] = {}
    for s in sentences:
        s.lexical, per_word = matcher.coverage(s.words)
        key = s.passage.chunk_id
        if key not in best_by_passage:
            _, title_best = matcher.coverage(words(s.passage.title))
            _, text_best = matcher.coverage(words(s.passage.text))
            best_by_passage[key] = np.maximum(title_best, text_best)
        s.context = focus.share(np.maximum(best_by_passage[key], per_word), own_only=True)
        if s.vector is not None and query_vector is not None:
            s.dense = float(np.dot(s.vector, query_vector))
    top_rank = max((s.passage.score for s in sentences), default=0.0) or 1.0
    cue = _KIND_CUES.get(frame.kind)
    question_words = set(frame.focus)
    for s in sentences:
        if cue is not None:
            has_kind = bool(cue.search(s.text))
        elif frame.labels:
            has_kind = any(w.lower() not in question_words for w in _CAPITALIZED.findall(s.text))
        else:
            has_kind = True
        s.score = (cfg.w_dense * s.dense + cfg.w_lexical * s.lexical + cfg.w_context * s.context
                   + cfg.w_passage * s.passage.score / top_rank
                   + (cfg.w_kind if has_kind else 0.0))  # fmt: skip


# --- phrases of the asked kind ---


def _phrases(frame: Frame, top: list[Sentence], docs, matcher: Matcher, cfg: ReaderSettings,
             resolved) -> list[Phrase]:  # fmt: skip
    question_words = set(words(resolved.question))
    bylines = {normal(s.passage.source.rsplit(".", 1)[0]) for s in top if s.passage.source}
    best_score = top[0].score or 1.0
    phrases: list[Phrase] = []
    for sentence, doc in zip(top, docs, strict=True):
        scores = matcher.word_scores([t.lower_ for t in doc])
        for span, label, fit in _candidates(frame, doc, cfg):
            text = span.text.strip(" ,.;:'\"“”‘’")
            key = normal(text)
            content = [w for w in words(text) if w not in FUNCTION_WORDS]
            if not key or key in bylines or not content:
                continue
            if all(w in question_words for w in content):
                continue  # the question already names it
            if frame.modifiers and _clashes(span, frame, matcher):
                continue  # "three US soldiers" does not answer "how many Iranian soldiers"
            phrase = Phrase(_with_unit(span, frame) if frame.kind in ("number", "age")
                            else text, label, sentence)  # fmt: skip
            phrase.binding = _binding(span, doc, scores, matcher.focus, frame, cfg)
            phrase.fit = fit
            phrases.append(phrase)
    _vote(phrases)
    for p in phrases:
        p.score = (cfg.w_support * p.sentence.score / best_score + cfg.w_binding * p.binding
                   + cfg.w_fit * p.fit + cfg.w_votes * p.votes)  # fmt: skip
    return phrases


def _candidates(frame: Frame, doc, cfg: ReaderSettings):
    """``(span, label, type fit)`` of the phrases in ``doc`` that could answer ``frame``.

    Names of another type than preferred stay candidates at a lower fit: the small model
    often calls an organisation a person ("Kataib Hezbollah") or a place an organisation."""
    primary = _PRIMARY.get(frame.kind, THING)
    labels = (frame.labels or THING) | (THING if primary <= THING else frozenset())
    taken: set[int] = set()
    named = {i for ent in doc.ents for i in range(ent.start, ent.end)}
    for ent in doc.ents:
        if ent.label_ in primary:
            yield ent, ent.label_, 1.0
        elif ent.label_ in labels:
            yield ent, ent.label_, cfg.secondary_fit
        else:
            continue
        taken.update(range(ent.start, ent.end))
    if frame.kind in ("number", "age"):
        for token in doc:
            if token.like_num and token.i not in taken:
                yield doc[token.i : token.i + 1], "NUM", cfg.secondary_fit
    if frame.variety and frame.head:  # "what kind of attack": the words qualifying "attack"
        for token in doc:
            if token.lemma_.lower() == frame.head:
                mods = [c for c in token.lefts if c.dep_ in ("compound", "amod", "nmod")]
                if mods:
                    yield doc[mods[0].i : mods[-1].i + 1], "MOD", 1.0
    if frame.kind in ("agent", "person", "organization", "place", "entity"):
        for chunk in doc.noun_chunks:  # names spaCy did not tag ("the Co-ordination Framework")
            if chunk.root.pos_ == "PROPN" and not set(range(chunk.start, chunk.end)) & named:
                start = chunk.start + (1 if chunk[0].pos_ == "DET" else 0)
                taken.update(range(chunk.start, chunk.end))
                yield doc[start : chunk.end], "PROPN", cfg.noun_phrase_fit
    if frame.subject and frame.kind in ("agent", "person", "organization"):
        for chunk in doc.noun_chunks:  # "Shiite lawmakers told ...", "confirmed by a politician"
            start = chunk.start + (1 if chunk[0].pos_ == "DET" else 0)
            described = chunk.end - start >= 2  # "Shiite lawmakers", not "the network"
            if chunk.root.pos_ == "NOUN" and described and _is_subject(chunk) and not (
                    set(range(chunk.start, chunk.end)) & taken):  # fmt: skip
                yield doc[start : chunk.end], "NP", cfg.common_noun_fit
    if frame.kind == "entity":
        for chunk in doc.noun_chunks:
            if chunk.root.pos_ == "PRON" or set(range(chunk.start, chunk.end)) & taken:
                continue
            start = chunk.start + (1 if chunk[0].pos_ == "DET" else 0)
            if start < chunk.end:
                yield doc[start : chunk.end], "NP", cfg.noun_phrase_fit
        for match in re.finditer(r"[\"“]([^\"”]{2,80})[\"”]", doc.text):
            span = doc.char_span(match.start(1), match.end(1), alignment_mode="expand")
            if span is not None:
                yield span, "QUOTE", cfg.noun_phrase_fit


def _binding(span, doc, scores: np.ndarray, focus: Focus, frame: Frame,
             cfg: ReaderSettings) -> float:  # fmt: skip
    """Focus words near the phrase in the parse, weighted by rarity and closeness; plus a
    bonus when the phrase names the noun the question asks for ("the port of Haifa")."""
    distances = _tree_distances(doc, span.root.i)
    inside = set(range(span.start, span.end))
    total = weight_sum = 0.0
    for i, weight in enumerate(focus.weights):
        if focus.category[i]:
            continue  # the category noun: handled below
        weight_sum += weight
        best = 0.0
        for j in np.flatnonzero(scores[i]):
            if j in inside:
                continue
            best = max(best, scores[i, j] * cfg.binding_decay ** max(distances[j] - 1, 0))
        total += weight * best
    bound = total / (weight_sum or 1.0)
    if frame.head:
        heads = [t for t in doc if t.lemma_.lower() == frame.head and t.i not in inside]
        head_close = max((_naming(span, t, distances, cfg) for t in heads), default=0.0)
        bound = min(1.0, bound + cfg.head_share * head_close)
    if frame.subject and not _is_subject(span):
        bound *= cfg.role_mismatch
    return bound


def _naming(span, head, distances: list[int], cfg: ReaderSettings) -> float:
    """How surely the phrase names the head noun: "the port of Haifa", "JetBlue, the airline"
    and "the Haifa port" name it; "the Mediterranean port" describes it; "Israel's port"
    owns it."""
    root = span.root
    if root.head.i == head.i:
        return {"poss": 0.0, "amod": cfg.describing_fit}.get(root.dep_, 1.0)
    if root.dep_ == "pobj" and root.head.lower_ == "of" and root.head.head.i == head.i:
        # "the port of Haifa" names a place; "a commander of the IRGC" is an affiliation
        return 1.0 if root.ent_type_ in ("GPE", "LOC", "FAC") else cfg.describing_fit
    return cfg.binding_decay ** max(distances[head.i] - 1, 0)


def _is_subject(span) -> bool:
    """The phrase does what its clause says: an active subject, or "by X" in a passive."""
    root = span.root
    if root.dep_ in ("nsubj", "csubj"):
        return True
    if root.dep_ == "pobj" and root.head.dep_ == "agent":
        return True
    if root.dep_ in ("appos", "conj") and root.head.dep_ in ("nsubj", "csubj"):
        return True
    return False


def _tree_distances(doc, origin: int) -> list[int]:
    """Edges between ``origin`` and every token of ``doc`` in its dependency tree."""
    far = len(doc) + 1
    distance = [far] * len(doc)
    distance[origin] = 0
    queue = [origin]
    while queue:
        i = queue.pop(0)
        token = doc[i]
        for other in [token.head, *token.children]:
            if distance[other.i] == far:
                distance[other.i] = distance[i] + 1
                queue.append(other.i)
    return distance


def _vote(phrases: list[Phrase]) -> None:
    """Agreement: a phrase named by several articles' sentences is likelier the answer."""
    support: dict[str, dict[str, float]] = {}
    for p in phrases:
        per_article = support.setdefault(p.key, {})
        article = p.sentence.passage.article_id
        per_article[article] = max(per_article.get(article, 0.0), p.sentence.score)
    totals = {k: sum(v.values()) for k, v in support.items()}
    best = max(totals.values(), default=0.0) or 1.0
    for p in phrases:
        p.votes = totals[p.key] / best


def _clashes(span, frame: Frame, matcher: Matcher) -> bool:
    """The phrase's noun carries names other than those the question's head carries."""
    noun = span.root.head if span.root.dep_ in ("nummod", "quantmod") else span.root
    named = [t.lower_ for t in noun.lefts if t.text[:1].isupper() and t.i != noun.i]
    if not named:
        return False
    scores = Matcher(focus_of(" ".join(frame.modifiers), lambda _: 1.0), matcher.vectors,
                     matcher.soft_min, 1.0).word_scores(named)  # fmt: skip
    return bool(scores.size) and not (scores.max(axis=1) > 0).all()


def _with_unit(span, frame: Frame) -> str:
    """A number with the noun it counts: "three American soldiers", "63 hot dogs"."""
    head = span.root.head
    if span.root.dep_ in ("nummod", "quantmod") and head.pos_ == "NOUN":
        start = min([span.start, *(t.i for t in head.lefts if t.dep_ in ("amod", "compound"))])
        return span.doc[start : head.i + 1].text
    return span.text


def _answer_phrase(phrase: Phrase, frame: Frame) -> str:
    text = phrase.text
    if phrase.label in ("ORG", "NORP", "FAC", "EVENT", "WORK_OF_ART", "LAW", "PRODUCT") and \
            re.match(r"(?i)the\s", phrase.sentence.text[_offset(phrase):] or ""):  # fmt: skip
        text = "the " + text
    return text[:1].upper() + text[1:]


def _offset(phrase: Phrase) -> int:
    at = phrase.sentence.text.find(phrase.text)
    return max(at - 4, 0)


# --- yes/no, why and how ---


def _yes_no(frame: Frame, top: list[Sentence], matcher: Matcher, cfg: ReaderSettings) -> Reading:
    """The sentence that settles it carries the question's verb (exactly or by meaning) and
    most of its focus; its negation, against the question's, says yes or no."""
    verb = Matcher(focus_of(frame.verb, lambda _: 1.0), matcher.vectors, matcher.soft_min,
                   1.0) if frame.verb else None  # fmt: skip

    def settles(s: Sentence) -> float:
        has_verb = verb is None or verb.coverage(s.words)[0] > 0
        return s.lexical + s.dense if has_verb else -1.0

    best = max(top, key=settles)
    if settles(best) < 0:
        return Reading(frame, True, evidence=[best], confidence=best.lexical,
                       reason="no sentence settles it")  # fmt: skip
    if best.lexical < cfg.yesno_min_lexical:
        return Reading(frame, True, evidence=[best], confidence=best.lexical,
                       reason="no sentence settles it")  # fmt: skip
    from assistant.nlp import parse

    doc = parse([best.text], [(best.passage.article_id, best.start, best.end)])[0]
    negated = any(t.lower_ in _NEGATION_WORDS or t.dep_ == "neg" for t in doc)
    verdict = "No" if negated != frame.negated else "Yes"
    return Reading(frame, False, answer=verdict, short_answer=verdict, evidence=[best],
                   confidence=best.lexical)  # fmt: skip


def _clause(frame: Frame, top: list[Sentence], docs, matcher: Matcher,
            cfg: ReaderSettings) -> Reading:  # fmt: skip
    """Why/how/what-did-they-say: the reason, manner or reported clause of the best sentence."""
    for sentence, doc in zip(top, docs, strict=True):
        scores = matcher.word_scores([t.lower_ for t in doc])
        anchor = _anchor(doc, scores, frame)
        span = _reason_span(doc, anchor) if frame.kind == "reason" else _complement(doc, anchor)
        if span is not None and len(span.text.split()) >= 2:
            text = span.text.strip(" ,.;:")
            if len(text.split()) > cfg.max_clause_words:
                text = " ".join(text.split()[: cfg.max_clause_words]) + " …"
            return Reading(frame, False, answer=text[:1].upper() + text[1:], short_answer=None,
                           evidence=[sentence, *[s for s in top if s is not sentence]][:3],
                           confidence=sentence.score)  # fmt: skip
        if frame.kind != "reason":
            break
    if frame.kind == "reason":
        return Reading(frame, True, evidence=top[:1], reason="no reason given in the evidence")
    best = top[0]
    return Reading(frame, False, answer="", short_answer=None, evidence=top[:3],
                   confidence=best.score)  # fmt: skip


def _anchor(doc, scores: np.ndarray, frame: Frame):
    """The token the clause hangs from: the verb matching the question's verb, else the verb
    nearest the matched focus words."""
    if frame.verb:
        for t in doc:
            if t.lemma_.lower() == frame.verb and t.pos_ in ("VERB", "AUX"):
                return t
    matched = [j for j in range(scores.shape[1]) if scores[:, j].max() > 0]
    for j in matched:
        token = doc[j]
        while token.pos_ not in ("VERB", "AUX") and token.head.i != token.i:
            token = token.head
        if token.pos_ in ("VERB", "AUX"):
            return token
    return next((t for t in doc if t.dep_ == "ROOT"), doc[0])


def _reason_span(doc, anchor):
    for token in doc:
        if token.lower_ not in _REASON_MARKERS:
            continue
        if token.lower_ == "to" and token.head.pos_ != "VERB":
            continue
        head = token.head if token.dep_ in ("mark", "aux", "prep") else token
        if token.dep_ == "prep":
            head = token
        subtree = list(head.subtree)
        start = min(token.i, subtree[0].i)
        end = subtree[-1].i + 1
        if end - start >= 3:
            return doc[start:end]
    return None


_COMPLEMENTS = ["ccomp", "xcomp", "acomp", "attr", "oprd", "dobj"]  # the clause first


def _complement(doc, anchor):
    children = sorted(anchor.children, key=lambda c: _COMPLEMENTS.index(c.dep_)
                      if c.dep_ in _COMPLEMENTS else len(_COMPLEMENTS))  # fmt: skip
    for child in children:
        if child.dep_ in _COMPLEMENTS:
            subtree = list(child.subtree)
            return doc[subtree[0].i : subtree[-1].i + 1]
    quote = re.search(r"[\"“]([^\"”]{8,300})[\"”]", doc.text)
    if quote:
        return doc.char_span(quote.start(1), quote.end(1), alignment_mode="expand")
    return None
