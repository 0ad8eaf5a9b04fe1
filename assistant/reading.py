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
from assistant.questions import (
    MEASURE_NOUNS,
    SHARE_NOUNS,
    SIZE_WORDS,
    THING,
    Frame,
    analyze,
    noun_kind,
    qualified_as,
    verb_and_role,
)
from assistant.settings import ReaderSettings
from assistant.text import FUNCTION_WORDS, is_statement, stem, words
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
    headline: float = 0.0
    score: float = 0.0
    features: dict[str, float] = field(default_factory=dict, repr=False)

    @property
    def key(self) -> str:
        return normal(self.text)


# What a phrase's score weighs: each name has a ``w_<name>`` reader setting.
PHRASE_FEATURES = (
    "support", "binding", "fit", "votes", "headline", "modifier", "subject", "overlap", "first",
    "names_head", "names_place", "common_noun", "proper_noun", "quoted", "bare_number", "slot",
    "verb",
)  # fmt: skip


def phrase_score(features: dict[str, float], cfg: ReaderSettings) -> float:
    """The weighted sum of a phrase's features (weights fitted by ``python -m eval fit``)."""
    return sum(getattr(cfg, f"w_{name}") * features.get(name, 0.0) for name in PHRASE_FEATURES)


_MODIFYING = ("amod", "compound", "nmod")
_NAMED_KINDS = ("place", "entity", "organization")  # a name may qualify the asked noun
_FINITE = frozenset({"VBZ", "VBD", "VBP"})  # a headline's name holds no finite verb
_WHO_OR_WHERE = frozenset({"PERSON", "NORP", "ORG", "GPE", "LOC", "FAC"})


def _span_features(span, label: str, question_words: set[str]) -> dict[str, float]:
    """What the parse says about a phrase, apart from its sentence and binding."""
    root = span.root
    inside = range(span.start, span.end)
    content = [w for w in words(span.text) if w not in FUNCTION_WORDS]
    return {
        # "Iraqi" in "an Iraqi politician", "Jordan" in "a Jordan drone attack": a word that
        # qualifies the noun after it, rarely an answer by itself
        "modifier": float(
            root.dep_ in _MODIFYING
            and root.head.i not in inside
            and root.head.pos_ in ("NOUN", "PROPN")
        ),  # fmt: skip
        "subject": float(_is_subject(span)),
        "overlap": sum(w in question_words for w in content) / max(len(content), 1),
        "common_noun": float(label in ("NP", "MOD")),
        "proper_noun": float(label == "PROPN"),
        "quoted": float(label == "QUOTE"),
        "bare_number": float(label == "NUM"),
    }


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
    """A phrase for comparing: lower case, no leading article, possessive or punctuation."""
    text = re.sub(r"^(the|a|an)\s+", "", text.strip(), flags=re.IGNORECASE)
    text = re.sub(r"['’]s\b", "", text.lower())
    text = re.sub(r"(?<=\d)[,.](?=\d{3}\b)", "", text)  # 11,000 -> 11000
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


def warm_up() -> None:
    """Load the parser now rather than on the first question."""
    from assistant.nlp import pipeline

    pipeline()


def read(resolved, passages: list[Passage], query_vector: np.ndarray, local, embedder,
         settings: ReaderSettings) -> Reading:  # fmt: skip
    """Read ``passages`` for the answer to the resolved question."""
    frame = analyze(resolved.question)

    def idf(term: str) -> float:
        return local.idf(term, settings.idf_prior_docs)

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
    best = ranked[: cfg.parse_top]
    if (
        max(s.context for s in best) < cfg.min_context
        and max(s.dense for s in best) < cfg.cover_dense
    ):
        return Reading(frame, True, evidence=ranked[:1], confidence=ranked[0].context,
                       reason="the articles do not cover what the question is about")  # fmt: skip
    if frame.kind == "yesno":
        from assistant.clauses import yes_no

        return yes_no(frame, ranked[: cfg.phrase_top], matcher, cfg)
    from assistant.nlp import parse

    top = ranked[: cfg.parse_top]
    docs = parse([s.text for s in top], [(s.passage.article_id, s.start, s.end) for s in top])
    things = not_people(docs)  # names tagged as people that the evidence calls "it"
    if frame.wants_phrase:
        _rerank(frame, top, docs, resolved, cfg, things)
        order = sorted(range(len(top)), key=lambda i: -top[i].score)
        top, docs = [top[i] for i in order], [docs[i] for i in order]
        ranked[: len(top)] = top
    top, docs = top[: cfg.phrase_top], docs[: cfg.phrase_top]
    if frame.kind in ("reason", "manner", "clause"):
        from assistant.clauses import clause

        return clause(frame, top, docs, matcher, cfg)
    phrases = sorted(_phrases(frame, top, docs, matcher, cfg, resolved, ranked, things),
                     key=lambda p: -p.score)  # fmt: skip
    unbound = f"no {frame.kind} bound to the question in the evidence"
    bound = [p for p in phrases if p.binding >= cfg.min_binding]
    if cfg.date_needs_verb and frame.kind in ("date", "duration"):
        # "When did they resume attacks?": no date of another event will do
        bound = [p for p in bound if p.features["verb"]]
        unbound = "no sentence with a date says what the question's verb says"
    if not bound:
        return Reading(frame, True, evidence=top[:1], confidence=top[0].score, reason=unbound,
                       phrases=phrases)  # fmt: skip
    chosen = _fuller(bound[0], phrases, cfg)
    if chosen.score < cfg.min_answer:
        return Reading(frame, True, evidence=[chosen.sentence], confidence=chosen.score,
                       reason=unbound, phrases=phrases)  # fmt: skip
    evidence = [chosen.sentence] + [s for s in ranked if s is not chosen.sentence]
    return Reading(frame, False, answer=_answer_phrase(chosen, frame), short_answer=chosen.text,
                   evidence=evidence[: cfg.evidence_sentences], confidence=chosen.score,
                   phrases=phrases)  # fmt: skip


def _fuller(chosen: Phrase, phrases: list[Phrase], cfg: ReaderSettings) -> Phrase:
    """The fullest form of the chosen name among the candidates: "JetBlue" -> "JetBlue
    Airways", "United" -> "United Airlines" (news gives the full name once, then shortens)."""
    needle = f" {chosen.key} "
    longer = [p for p in phrases if p is not chosen and needle in f" {p.key} "
              and p.label not in ("NP", "MOD")  # a name, not a noun phrase around it
              and len(p.key.split()) <= len(chosen.key.split()) + 3
              and p.score >= cfg.fuller_ratio * chosen.score]  # fmt: skip
    if not longer:
        return chosen
    fuller = max(longer, key=lambda p: p.score)
    if f" {fuller.key} " in f" {normal(chosen.sentence.text)} ":  # cite the chosen sentence
        return Phrase(fuller.text, fuller.label, chosen.sentence, binding=chosen.binding,
                      fit=fuller.fit, votes=max(fuller.votes, chosen.votes),
                      headline=max(fuller.headline, chosen.headline),
                      score=max(fuller.score, chosen.score))  # fmt: skip
    return fuller


def _rerank(frame: Frame, top: list[Sentence], docs, resolved, cfg: ReaderSettings,
            things: set[str] | frozenset[str] = frozenset()) -> None:  # fmt: skip
    """Second look at the parsed sentences: does each name something of the asked kind that
    the question does not (a place for "where"), and do other sentences name the same thing?"""
    question_words = set(words(resolved.question))
    primary = _PRIMARY.get(frame.kind, THING)
    allowed = frame.labels or THING
    found: list[set[str]] = []
    for doc in docs:
        names = set()
        for ent in doc.ents:
            content = [w for w in words(ent.text) if w not in FUNCTION_WORDS]
            label = _label(ent, things)
            if label in allowed and content and not all(w in question_words for w in content):
                names.add((normal(ent.text), label in primary))
        found.append(names)
    votes: dict[str, float] = {}
    for sentence, names in zip(top, found, strict=True):
        for name, _ in names:
            votes[name] = votes.get(name, 0.0) + sentence.score
    most = max(votes.values(), default=0.0) or 1.0
    for sentence, names in zip(top, found, strict=True):
        kind = 1.0 if any(p for _, p in names) else (cfg.secondary_fit if names else -1.0)
        agreement = max((votes[n] for n, _ in names), default=0.0) / most
        sentence.score += (cfg.w_type * kind + cfg.w_agreement * agreement
                           + (cfg.w_lead if sentence.start < cfg.lead_chars else 0.0))  # fmt: skip


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
             resolved, ranked: list[Sentence],
             things: set[str] | frozenset[str] = frozenset()) -> list[Phrase]:  # fmt: skip
    """Candidate answers of the asked kind, one per distinct phrase, scored.

    A phrase comes from the parsed best sentences, or from the headline of their article
    ("'Squid Game': Netflix green lights season 2" names what the sentence calls "the show").
    Its score adds its best occurrence's sentence score and binding, its type fit, the share of
    the best sentences (by score) that name it, and whether a headline does."""
    question_words = set(words(resolved.question)) | set(resolved.referents)
    bylines = {normal(s.passage.source.rsplit(".", 1)[0]) for s in top if s.passage.source}
    best_score = top[0].score or 1.0
    found: dict[str, Phrase] = {}
    named_by: dict[str, dict[str, float]] = {}  # phrase -> sentence -> its score

    def admissible(span) -> bool:
        key = normal(span.text)
        content = [w for w in words(span.text) if w not in FUNCTION_WORDS]
        if not key or key in bylines or not content or _cuts_a_word(span):
            return False
        asked = [w for w in content if w != frame.head]  # "Which university": a name that
        if (
            not asked
            or all(w in question_words for w in asked)
            or (  # holds "University"
                span.root.lower_ in question_words and span.root.lemma_.lower() != frame.head
            )
        ):
            return False  # the question already names it ("Vin Scully" -> "Vincent Scully")
        if frame.described and _presented_as(span) & set(frame.described):
            return False  # "an umbrella group called X": the question's own "umbrella group"
        if frame.kind == "number" and _counts_another(span, frame, matcher):
            return False  # "three attacks" for "how many drones"
        if frame.kind == "entity" and span[0].like_num and span[0].dep_ == "nummod":
            return False  # "three attacks", "20 projects": a count says how many, not which
        return not (
            frame.modifiers and frame.kind in ("number", "age") and _clashes(span, frame, matcher)
        )  # "three US soldiers" vs Iranian ones

    # each parsed text scored once, not per candidate: its word scores, whether it has the verb
    doc_scores: dict[int, tuple[np.ndarray, float]] = {}

    def offer(span, label, fit, sentence, doc, headline=False) -> None:
        if id(doc) not in doc_scores:
            scores = matcher.word_scores([t.lower_ for t in doc])
            doc_scores[id(doc)] = scores, _has_verb(doc, scores, matcher.focus, frame)
        scores, has_verb = doc_scores[id(doc)]
        phrase = Phrase(phrase_text(span, frame), label, sentence, fit=fit,
                        features=_span_features(span, label, question_words))  # fmt: skip
        phrase.binding, phrase.features["names_head"] = _binding(
            span, doc, scores, matcher.focus, frame, cfg
        )
        place = frame.kind == "place"  # a place noun given a name: the place is identified
        phrase.features["names_place"] = phrase.features["names_head"] if place else 0.0
        phrase.features["slot"] = _fills_slot(span, scores, matcher.focus, frame)
        phrase.features["verb"] = has_verb
        if headline:  # credit as the headline ties the phrase to the question's focus
            share = cfg.headline_bound_share
            phrase.headline = 1.0 - share + share * phrase.binding
            if phrase.features["modifier"]:
                phrase.headline *= cfg.headline_modifier_credit
        naming = named_by.setdefault(phrase.key, {})  # sentences naming it, by score
        naming[f"{sentence.passage.article_id}:{sentence.start}"] = sentence.score
        local = cfg.w_support * sentence.score / best_score + cfg.w_binding * phrase.binding
        old = found.get(phrase.key)
        if old is not None and headline and not old.headline:
            old.headline = phrase.headline  # the headline confirms a phrase a sentence names
            return
        if old is None or local > old.score or (old.headline and not headline):
            phrase.score = local
            if old is not None:
                phrase.fit = max(fit, old.fit)
                phrase.headline = max(phrase.headline, old.headline)
                _keep_best(phrase.features, old.features)
            found[phrase.key] = phrase
        else:
            old.fit = max(old.fit, fit)
            old.headline = max(old.headline, phrase.headline)
            _keep_best(old.features, phrase.features)

    capitalized = {t.lower_ for doc in docs for t in doc[1:] if t.is_title and t.is_alpha
                   and not doc[t.i - 1].is_punct}  # fmt: skip
    for sentence, doc in zip(top, docs, strict=True):
        for span, label, fit in _candidates(frame, doc, cfg, names=capitalized, things=things):
            if admissible(span):
                offer(span, label, fit, sentence, doc)
    _from_headlines(frame, top, ranked, admissible, offer, cfg, things)
    total = sum(s.score for s in top) or 1.0
    for p in found.values():
        p.votes = min(1.0, sum(named_by[p.key].values()) / total)
        p.features.update(support=p.sentence.score / best_score, binding=p.binding, fit=p.fit,
                          votes=p.votes, headline=p.headline * p.fit,
                          first=float(p.sentence is top[0]))  # fmt: skip
        p.score = phrase_score(p.features, cfg)
    return list(found.values())


def _keep_best(features: dict[str, float], other: dict[str, float]) -> None:
    """A phrase named in several places is named as the asked noun if any place names it so;
    its slot and verb stay those of its best occurrence (merged, a name repeated across the
    evidence would collect them from sentences about other things)."""
    features["names_head"] = max(features["names_head"], other["names_head"])
    features["names_place"] = max(features["names_place"], other["names_place"])


_PUBLISHER = re.compile(r"\s+[-|–—]\s+[A-Z][\w.&' ]{0,30}$")


def headline_of(title: str) -> str:
    """A title without its publisher suffix ("... season 2 - CNN" -> "... season 2")."""
    return _PUBLISHER.sub("", title.strip())


def lists_topics(doc) -> bool:
    """A parsed headline that lists topics ("5 things to know for July 22: Jan. 6, Covid-19,
    Extreme heat ..."): three or more short items without a verb state nothing about any of
    them ("Biden, Xi, Putin meet in Bali" does)."""
    colons = [t.i for t in doc if t.text == ":"]
    start = colons[-1] + 1 if colons else 0
    end = next((t.i for t in doc[start:] if t.text == "."), len(doc))  # "Chris Evans. It's ..."
    items: list[list] = [[]]
    for token in doc[start:end]:
        if token.text == ",":
            items.append([])
        elif not token.is_punct:
            items[-1].append(token)
    return len(items) >= 3 and all(
        0 < len(item) <= 4 and not any(t.pos_ in ("VERB", "AUX") for t in item) for item in items
    )


def _from_headlines(frame, top, ranked, admissible, offer, cfg, things=frozenset()) -> None:
    """Names in the headlines of the best sentences' articles (those covering the question's
    focus), bound within the headline and cited with the article's sentence that names them
    (or its best one)."""
    from assistant.nlp import parse

    if frame.kind in ("date", "duration"):
        return  # a headline's date is the page's ("January 6 hearings: live updates")
    articles: dict[str, Sentence] = {}
    for s in top:
        if s.context >= cfg.min_context:  # an article about something else lends no headline
            articles.setdefault(s.passage.article_id, s)
    titles = [headline_of(s.passage.title) for s in articles.values()]
    docs = parse(titles, [(a, -1, -1) for a in articles])
    for (article_id, best), doc in zip(articles.items(), docs, strict=True):
        if lists_topics(doc):
            continue  # a digest's headline: its topics are other articles' answers
        opening = doc.text.rstrip("…. ")
        if not opening or any(opening in s.passage.text for s in ranked if s.passage.article_id
                              == article_id):  # fmt: skip
            continue  # no headline of its own: the title is the article's first sentence
        for span, label, fit in _candidates(frame, doc, cfg, headline=True, things=things):
            if not admissible(span):
                continue
            key = normal(phrase_text(span, frame))
            naming = [s for s in ranked if s.passage.article_id == article_id
                      and f" {key} " in f" {normal(s.text)} "]  # fmt: skip
            offer(span, label, fit, naming[0] if naming else best, doc, headline=True)


def _cuts_a_word(span) -> bool:
    """The span starts or ends inside a written word ("escalate" of "de-escalate"); a number
    may ("17" of "17-year-old", "nine" of "a nine-year sentence")."""
    doc = span.doc

    def joined(token) -> bool:
        return token.is_alpha or token.is_digit or token.text == "-"

    before = (
        not span[0].like_num
        and span.start > 0
        and not doc[span.start - 1].whitespace_
        and joined(doc[span.start - 1])
    )
    after = (
        not span[-1].like_num
        and span.end < len(doc)
        and not doc[span.end - 1].whitespace_
        and joined(doc[span.end])
    )
    return before or after


def _noun_fits(noun: str, frame: Frame, named_by_compound: bool = False) -> bool:
    """Can a noun phrase headed by ``noun`` answer ``frame``? ("an Iraqi politician" answers
    who, "the IRGC commander" no organisation, "the Jordan strike" no place, "the South Korean
    show" not "which show": it describes the thing asked for without naming it)."""
    kind = frame.kind
    if noun == frame.head:  # "the Jordanian-Syrian border" is a place; "Al Tanf base" (named
        return kind == "place" or named_by_compound  # by a compound) is the base asked for
    named = noun_kind(noun)
    if kind == "entity":
        return True
    if kind == "agent":
        return named in ("person", "organization", "entity")
    return named == kind


def _with_compounds(ent):
    """The name with the capitalised compound words the tagger left out on its left
    ("Framework" -> "Co-ordination Framework")."""
    doc, start = ent.doc, ent.start
    while start > 0 and doc[start - 1].dep_ == "compound" and start <= doc[start - 1].head.i \
            < ent.end:  # fmt: skip
        word = start - 1  # the written word it belongs to ("Co-ordination": three tokens)
        while word > 0 and not doc[word - 1].whitespace_:
            word -= 1
        if not doc[word].text[:1].isupper():
            break  # "State Department spokesman Matthew Miller": a title, not the name
        start = word
    if start == ent.start:
        return ent
    span = doc[start : ent.end]
    span.label_ = ent.label_
    return span


_HE_OR_SHE = {"he", "his", "him", "himself", "she", "her", "hers", "herself"}
_TIME_ZONES = frozenset({"ET", "EST", "EDT", "CT", "CST", "CDT", "MT", "MST", "MDT", "PT", "PST",
                         "PDT", "GMT", "UTC", "BST", "CET", "CEST", "IST", "JST", "AEST",
                         "AEDT"})  # fmt: skip


def _thing_cue(ent) -> tuple[bool, bool]:
    """Whether one mention of a person-tagged name is spoken of as a thing, and whether it is
    called he or she."""
    root = ent.root
    thing = any(c.dep_ == "relcl" and c.left_edge.lower_ == "which" for c in root.children)
    thing |= _named_as_group(root)
    person = False
    if root.dep_ in ("nsubj", "nsubjpass"):  # what its own clause calls it later
        verb = root.head
        for t in verb.subtree:
            if t.i < ent.end:
                continue
            person |= t.lower_ in _HE_OR_SHE
            if t.lower_ in ("its", "itself"):
                # "X said its decision was made ...", not "X praised its decision"
                thing |= any(a.dep_ == "ccomp" and verb in a.ancestors for a in t.ancestors)
            elif t.lower_ == "it" and t.dep_ == "nsubj":
                # "X announced that it was suspending", not "X said it was time"
                thing |= t.head.dep_ == "ccomp" and t.head.lemma_ != "be"
    return thing, person


def _named_as_group(root) -> bool:
    """The name stands beside a noun for an organisation: "two militia groups, X and Y" (the
    parser may take the list for a conjunct of the noun), "X, a small group within ..."."""
    anchor = root
    while anchor.dep_ == "conj" and anchor.head.pos_ == "PROPN":
        anchor = anchor.head  # "X and Y": Y stands where X does
    beside = [anchor.head] if anchor.dep_ in ("appos", "conj") else []
    beside += [c for c in root.children if c.dep_ == "appos"]
    return any(t.pos_ == "NOUN" and noun_kind(t.lemma_.lower()) == "organization" for t in beside)


def not_people(docs) -> set[str]:
    """Names tagged as people that the evidence itself treats as things ("Kataib Hezbollah
    announced that it was suspending attacks", "... said its decision was made", "X, which
    ..."): the small model calls many foreign organisations people; the text's own pronouns
    know better. One such mention is enough, and no "he" or "she" anywhere (asking for two
    lost a seed and a held-out question each; on dev it flags Twitter, Uprise Fiber, Daily
    Harvest, Gen Z), at the price of "Kirby said it would take time", which has that shape."""
    things: set[str] = set()
    people: set[str] = set()
    for doc in docs:
        for ent in doc.ents:
            if ent.label_ == "PERSON":
                thing, person = _thing_cue(ent)
                key = normal(ent.text)
                if thing:
                    things.add(key)
                if person:
                    people.add(key)
    return things - people


def _label(ent, things: set[str] | frozenset[str]) -> str:
    """The entity's label, an organisation's for a person-tagged name in ``things``."""
    return "ORG" if ent.label_ == "PERSON" and normal(ent.text) in things else ent.label_


def _time_zone(ent) -> bool:
    """A time zone right after a time of day ("7:20 a.m. ET"), which the tagger calls a place."""
    before = ent.doc[ent.start - 1] if ent.start else None
    return before is not None and before.ent_type_ == "TIME" and ent.text in _TIME_ZONES


def _candidates(frame: Frame, doc, cfg: ReaderSettings, headline: bool = False,
                names: frozenset[str] | set[str] = frozenset(),
                things: frozenset[str] | set[str] = frozenset()):  # fmt: skip
    """``(span, label, type fit)`` of the phrases in ``doc`` that could answer ``frame``;
    ``names`` are words the evidence capitalises mid-sentence (names the tagger may miss);
    ``things`` are names tagged as people the evidence treats as organisations (``not_people``).

    Names of another type than preferred stay candidates at a lower fit: the small model
    often calls an organisation a person ("Kataib Hezbollah") or a place an organisation."""
    primary = _PRIMARY.get(frame.kind, THING)
    labels = (frame.labels or THING) | (THING if primary <= THING else frozenset())
    taken: set[int] = set()
    named = {i for ent in doc.ents for i in range(ent.start, ent.end)}
    chunk_of = {chunk.root.i: chunk for chunk in doc.noun_chunks}
    counting = frame.kind in ("number", "age", "money")
    thing_asked = frame.kind == "entity" and bool(frame.head)
    for ent in doc.ents:
        if counting and not any(t.like_num for t in ent):
            continue  # "Wednesday" (a DATE) is no age
        if headline and any(t.tag_ in _FINITE for t in ent):
            continue  # "Biden welcomes World Series": title case misleads the tagger
        if _time_zone(ent):
            continue  # "7:20 a.m. ET": the tagger's place is the clock's zone
        label = _label(ent, things)
        if label in primary:
            fit = 1.0
        elif label in labels:
            fit = cfg.secondary_fit
        else:
            continue
        if thing_asked and ent.label_ in _WHO_OR_WHERE:
            fit = min(fit, cfg.thing_name_fit)  # "which item": not a person, firm or place
        ent = _with_compounds(ent)
        yield ent, label, fit
        taken.update(range(ent.start, ent.end))
        head = ent.root.head
        naming = ent.root.dep_ == "compound"
        if ent.root.dep_ in _MODIFYING and head.i >= ent.end and head.i in chunk_of \
                and _noun_fits(head.lemma_.lower(), frame, naming):  # fmt: skip
            # "an Iraqi politician", "the Jordanian-Syrian border": the name qualifies a noun,
            # and the noun phrase it opens may be the answer rather than the name alone
            chunk = chunk_of[head.i]
            start = max(chunk.start + (1 if chunk[0].pos_ == "DET" else 0), ent.start)
            if chunk.end - start > ent.end - ent.start:  # a thing now, if a thing is asked
                yield doc[start : chunk.end], "NP", max(fit, cfg.noun_phrase_fit) if \
                    thing_asked else fit  # fmt: skip
    if frame.head and not (frame.variety or frame.named) and frame.kind in _NAMED_KINDS:
        # "which border": "the Jordanian-Syrian border"; "which base": "the Al Tanf base"
        # ("the name of the base" is "Al Tanf" alone)
        for token in doc:
            if token.lemma_.lower() != frame.head or token.i in taken:
                continue
            mods = [c for c in token.lefts if c.dep_ in _MODIFYING]
            start = min((c.left_edge.i for c in mods), default=token.i)
            if start < token.i and _named_head(doc[start : token.i + 1], frame):
                yield doc[start : token.i + 1], "NP", cfg.named_head_fit
    if frame.kind == "age":  # "a 17-year-old", "aged 17", "Mack Rutherford, 17,"
        for match in _AGE.finditer(doc.text):
            group = next(g for g in (1, 2, 3) if match.group(g))
            span = doc.char_span(match.start(group), match.end(group), alignment_mode="expand")
            if span is not None:
                yield span, "AGE", 1.0
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
            proper = chunk.root.pos_ == "PROPN" or (chunk.root.is_title
                                                    and chunk.root.lower_ in names)  # fmt: skip
            if proper and not set(range(chunk.start, chunk.end)) & named:
                start = chunk.start + (1 if chunk[0].pos_ == "DET" else 0)
                taken.update(range(chunk.start, chunk.end))
                yield doc[start : chunk.end], "PROPN", cfg.noun_phrase_fit
    if frame.kind in ("agent", "person", "organization"):
        # "Shiite lawmakers told ...", "confirmed by an Iraqi politician", "met militants"
        for chunk in doc.noun_chunks:
            start = chunk.start + (1 if chunk[0].pos_ == "DET" else 0)
            described = chunk.end - start >= 2  # "Shiite lawmakers", not "the network"
            role = (
                _is_subject(chunk)
                if frame.subject
                else (chunk.root.dep_ == "dobj" and chunk.root.head.lemma_.lower() == frame.verb)
            )
            if chunk.root.pos_ == "NOUN" and described and role \
                    and chunk.root.i not in taken:  # fmt: skip
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


def _presented_as(span) -> set[tuple[str, str]]:
    """(modifier, kind of noun) of the nouns the text gives the phrase as: "an umbrella group
    called X", "X, an umbrella group", "the umbrella group, X"."""
    root = span.root
    nouns = [c for c in root.children if c.dep_ == "appos"]
    if root.dep_ == "appos":
        nouns.append(root.head)
    if root.dep_ == "oprd" and root.head.dep_ == "acl":
        nouns.append(root.head.head)
    return {pair for n in nouns if n.pos_ == "NOUN" for pair in qualified_as(n)}


def _named_after(noun) -> bool:
    """The noun's name follows it: "the port of Haifa", "the group, Kataib Hezbollah"."""
    for child in noun.rights:
        names = [child] if child.dep_ == "appos" else []
        if child.dep_ == "prep" and child.lower_ == "of":
            names = [g for g in child.children if g.dep_ == "pobj"]
        if any(t.pos_ == "PROPN" or t.ent_type_ for t in names):
            return True
    return False


def _named_head(span, frame: Frame) -> bool:
    """The span is the asked noun with a name qualifying it ("the Al Tanf base"; for a place
    also a nationality: "the Jordanian-Syrian border", not "the South Korean show"), and no
    name follows ("the Mediterranean port of Haifa": Haifa names it)."""
    root = span.root
    return (
        frame.kind in _NAMED_KINDS
        and root.lemma_.lower() == frame.head
        and any(
            (t.pos_ == "PROPN" and t.ent_type_ != "NORP") or (frame.kind == "place" and t.ent_type_)
            for t in span.doc[span.start : root.i]
        )
        and not _named_after(root)
    )


def _binding(span, doc, scores: np.ndarray, focus: Focus, frame: Frame,
             cfg: ReaderSettings) -> tuple[float, float]:  # fmt: skip
    """Focus words near the phrase in the parse, weighted by rarity and closeness; plus a
    bonus when the phrase names the noun the question asks for ("the port of Haifa").
    Also returns 1.0 when it surely names that noun (apposition, compound, "port of X")."""
    distances = _tree_distances(doc, span.root.i)
    inside = set(range(span.start, span.end))
    total = matched = 0.0
    for i, weight in enumerate(focus.weights):
        if focus.category[i]:
            continue  # the category noun: handled below
        best = strength = 0.0
        for j in np.flatnonzero(scores[i]):
            if j in inside:
                continue
            close = scores[i, j] * cfg.binding_decay ** max(distances[j] - 1, 0)
            if close > best:
                best, strength = close, scores[i, j]
        total += weight * best
        matched += weight * strength
    # how close the phrase sits to the focus words its sentence has (coverage is scored apart)
    bound = total / matched if matched else 0.0
    names = 0.0
    if frame.head:
        heads = [t for t in doc if t.lemma_.lower() == frame.head and t.i not in inside]
        head_close = max((_naming(span, t, distances, cfg) for t in heads), default=0.0)
        if _named_head(span, frame):
            head_close = 1.0
        names = float(head_close >= cfg.min_naming)
        if frame.named and not names:
            return 0.0, 0.0  # "the name of the commander": a name not given to a commander
        bound = min(1.0, bound + cfg.head_share * head_close)
    if frame.subject and not _is_subject(span):
        bound *= cfg.role_mismatch
    if _other_predicate(span, doc, frame):
        bound *= cfg.verb_mismatch
    return bound, names


_EMPTY_VERBS = {"be", "have", "do"}  # the small parser hangs wh-words on these by mistake
# verbs that name no event of their own ("when did the attack happen": the noun names it)
_LIGHT_VERBS = {"be", "have", "do", "say", "make", "get", "take", "go", "come", "give", "happen",
                "occur"}  # fmt: skip


def _has_verb(doc, scores: np.ndarray, focus: Focus, frame: Frame) -> float:
    """1.0 when the sentence says what the question's verb says (exactly or by meaning,
    as a verb or its noun: "resumed", "resumption"), or the question has no telling verb."""
    if not frame.verb or frame.verb in _LIGHT_VERBS:
        return 1.0
    rows = [i for i, s in enumerate(focus.stems) if s in (stem(frame.verb), stem(frame.verb_word))]
    if not rows:
        return 1.0
    return float(any(t.lemma_.lower() == frame.verb for t in doc) or scores[rows].max() > 0)


def _fills_slot(span, scores: np.ndarray, focus: Focus, frame: Frame) -> float:
    """1.0 when the phrase fills the place the question's wh-phrase holds: the same role
    under the question's verb, matched exactly or by meaning ("Who confirmed the visit?" and
    "the visit was confirmed by an Iraqi politician")."""
    if not frame.slot or frame.slot[0] in _EMPTY_VERBS:
        return 0.0
    lemma, role, written = frame.slot
    found = verb_and_role(span.root)
    if found is None or found[1] != role:
        return 0.0
    verb = found[0]
    if verb.lemma_.lower() == lemma:
        return 1.0
    row = next((i for i, s in enumerate(focus.stems) if s == stem(written)), None)
    return float(row is not None and scores[row, verb.i] > 0)  # the same verb by meaning


def _other_predicate(span, doc, frame: Frame) -> bool:
    """The sentence has the question's verb, but the phrase belongs to another verb ("killed
    three soldiers and wounded about 40": 40 is not a number killed)."""
    if not frame.verb or frame.verb in _LIGHT_VERBS:
        return False
    if not any(t.lemma_.lower() == frame.verb for t in doc):
        return False
    verb = span.root
    while verb.pos_ not in ("VERB", "AUX") and verb.head.i != verb.i:
        verb = verb.head
    if verb.pos_ not in ("VERB", "AUX") or verb.lemma_.lower() == frame.verb:
        return False
    # the question's verb may govern this one, or be governed by it ("announced that it was
    # suspending"), but not as a coordinated verb ("killed three and wounded 40")
    if any(t.lemma_.lower() == frame.verb for t in _clause_of(verb)):
        return False
    while verb.dep_ != "conj" and verb.head.i != verb.i:
        verb = verb.head
        if verb.lemma_.lower() == frame.verb:
            return False
    return True


def _clause_of(verb):
    """The tokens of a verb's clause, without the clauses coordinated with it."""
    stack, out = [verb], []
    while stack:
        token = stack.pop()
        out.append(token)
        stack.extend(c for c in token.children if c.dep_ != "conj")
    return out


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


def _counts_another(span, frame: Frame, matcher: Matcher) -> bool:
    """The number counts a noun other than the one asked about ("three attacks" for "how
    many drones"), by stem and by meaning."""
    if not frame.head or frame.head in _MEASURES:
        return False
    root = span.root
    noun = root.head if root.dep_ in ("nummod", "quantmod") else root
    if noun.pos_ != "NOUN" or (noun.i == root.i and root.like_num):
        # a bare number ("wounded about 40") or one counting a name: it counts the asked
        # noun only if the sentence names that noun, and not only as others ("three US
        # soldiers" when Iranian soldiers are asked about)
        doc = root.doc
        mentions = _mentions(doc, frame, matcher)
        return not mentions or (bool(frame.modifiers) and all(
            _clashes(doc[t.i : t.i + 1], frame, matcher) for t in mentions))  # fmt: skip
    counted = [noun]
    doc, end = root.doc, span.end
    if end + 1 < len(doc) and doc[end].text == "-":  # "a nine-year sentence" counts years
        counted.append(doc[end + 1])
    return not _mentions(counted, frame, matcher)


def _mentions(tokens, frame: Frame, matcher: Matcher) -> list:
    """The tokens naming the question's head noun, by lemma or by meaning (all of them for a
    head too common to compare)."""
    tokens = list(tokens)
    head = matcher.words_like(frame.head)
    if not head.focus.stems:
        return tokens
    scores = head.word_scores([t.lower_ for t in tokens])
    alike = scores.max(axis=0) > 0 if scores.size else [False] * len(tokens)
    return [t for t, like in zip(tokens, alike, strict=True)
            if like or t.lemma_.lower() == frame.head]  # fmt: skip


# heads that measure rather than name what is counted ("how many people" counts anyone)
_MEASURES = MEASURE_NOUNS | SIZE_WORDS | SHARE_NOUNS | {"people"}


def _clashes(span, frame: Frame, matcher: Matcher) -> bool:
    """The phrase's noun carries names other than those the question's head carries."""
    noun = span.root.head if span.root.dep_ in ("nummod", "quantmod") else span.root
    named = [t.lower_ for t in noun.lefts if t.text[:1].isupper() and t.i != noun.i]
    if not named:
        return False
    scores = matcher.words_like(" ".join(frame.modifiers)).word_scores(named)
    return bool(scores.size) and not (scores.max(axis=1) > 0).all()


_AGE = re.compile(
    r"\b(\d{1,3})[- ]years?[- ]old\b|\baged? (?:of )?(\d{1,3})\b"
    r"|, (\d{1,3}),",
    re.IGNORECASE,
)

_DIGITS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty".split())}  # fmt: skip


def phrase_text(span, frame: Frame) -> str:
    """The answer as it should read: a number with the noun it counts ("63 hot dogs") or its
    currency sign ("$4.99"), a list whole ("New Jersey and Oregon"), a city with its state
    ("San Francisco, California"), numbers in digits, without stray edges ("– Northeastern
    University’s")."""
    doc = span.doc
    start, end = span.start, span.end
    root = span.root
    if frame.kind in ("number", "age") and root.dep_ in ("nummod", "quantmod") \
            and root.head.pos_ == "NOUN" and root.head.i >= end:  # fmt: skip
        end = root.head.i + 1
    for conj in root.conjuncts:  # "New Jersey and Oregon", "deli meat and cheese"
        if conj.i <= root.i or conj.pos_ != root.pos_ or conj.ent_type_ != root.ent_type_:
            continue
        end = max(end, _ent_end(conj) if conj.ent_type_ else conj.i + 1)
    if (
        root.ent_type_ == "GPE"
        and end + 1 < len(doc)
        and doc[end].text == ","
        and doc[end + 1].ent_type_ == "GPE"
    ):  # "San Francisco, California"
        end = _ent_end(doc[end + 1])
    if start and doc[start].like_num and doc[start - 1].is_currency:
        start -= 1  # the small model's MONEY leaves out the sign: "4.99" of "$4.99"
    tokens = list(doc[start:end])
    while tokens and (tokens[0].is_punct or tokens[0].pos_ in ("INTJ", "CCONJ")
                      or tokens[0].lower_ in ("no", "not")):  # fmt: skip
        tokens.pop(0)
    while tokens and (tokens[-1].is_punct or tokens[-1].tag_ == "POS"):
        tokens.pop()
    if not tokens:
        return span.text
    text = "".join(t.text_with_ws for t in tokens[:-1]) + tokens[-1].text
    if frame.kind in ("number", "age", "money", "duration"):
        text = re.sub(r"\b[A-Za-z]+\b", lambda m: _DIGITS.get(m.group().lower(), m.group()), text)
    if frame.kind == "age" and (years := re.search(r"\b\d{1,3}\b", text)):
        return years.group()  # "17-year-old" -> "17"
    return text


def _ent_end(token) -> int:
    doc = token.doc
    for ent in doc.ents:
        if ent.start <= token.i < ent.end:
            return ent.end
    return token.i + 1


def _answer_phrase(phrase: Phrase, frame: Frame) -> str:
    text = phrase.text
    return text[:1].upper() + text[1:]
