"""Answers that are no phrase: yes or no with the sentence that settles it, and the reason,
manner or reported clause for why/how/what-did-they-say questions (``reading.py`` hands the
ranked, parsed evidence over)."""

from __future__ import annotations

import re

import numpy as np

from assistant.matching import Matcher
from assistant.questions import Frame, subject_of
from assistant.reading import Reading, Sentence
from assistant.settings import ReaderSettings
from assistant.text import stem

_NEGATION_WORDS = {"not", "n't", "never", "no", "neither", "nor", "without"}


def yes_no(frame: Frame, top: list[Sentence], matcher: Matcher, cfg: ReaderSettings) -> Reading:
    """The sentence that settles it carries the question's verb (exactly or by meaning) and
    most of its focus; its negation, against the question's, says yes or no."""
    verb = matcher.words_like(frame.verb) if frame.verb else None

    def settles(s: Sentence) -> float:
        has_verb = verb is None or verb.coverage(s.words)[0] > 0
        return s.lexical + s.dense if has_verb else -1.0

    def core(s: Sentence) -> bool:
        """The sentence has the question's own verb, its whole subject and its object noun
        ("Israel has not confirmed the attack" for a question that goes on about which
        attack)."""
        stems = {stem(w.lower()) for w in s.words}
        core_words = [*frame.doer, frame.verb, frame.done_to]
        return all(core_words) and all(stem(w) in stems for w in core_words)

    best = max(top, key=settles)
    if settles(best) < 0:
        return Reading(frame, True, evidence=[best], confidence=best.lexical,
                       reason="no sentence settles it")  # fmt: skip
    if best.lexical < cfg.yesno_min_lexical:
        cored = [s for s in top if core(s) and s.lexical >= cfg.yesno_core_lexical]
        if not cored:
            return Reading(frame, True, evidence=[best], confidence=best.lexical,
                           reason="no sentence settles it")  # fmt: skip
        best = max(cored, key=settles)
    from assistant.nlp import parse

    doc = parse([best.text], [(best.passage.article_id, best.start, best.end)])[0]
    negated = any(t.lower_ in _NEGATION_WORDS or t.dep_ == "neg" for t in doc)
    verdict = "No" if negated != frame.negated else "Yes"
    clause = _settling_clause(doc, frame, cfg)
    answer = f"{verdict}: {clause}" if clause else verdict
    return Reading(frame, False, answer=answer, short_answer=verdict, evidence=[best],
                   confidence=best.lexical)  # fmt: skip


def _settling_clause(doc, frame: Frame, cfg: ReaderSettings) -> str:
    """The clause of the question's verb, its long subject shortened to a pronoun:
    "they have not announced any suspension of operations against the US"."""
    verb = next((t for t in doc if t.lemma_.lower() == frame.verb), None)
    if verb is None:
        verb = next((t for t in doc if t.dep_ == "ROOT"), None)
    if verb is None:
        return ""
    while verb.dep_ in ("xcomp", "ccomp", "conj") and verb.head.pos_ in ("VERB", "AUX") \
            and not any(c.dep_.startswith("nsubj") for c in verb.children):  # fmt: skip
        verb = verb.head
    tokens = list(verb.subtree)
    while tokens and (
        tokens[0].is_punct
        or tokens[0].is_quote
        or (tokens[0].dep_ in ("cc", "mark", "advmod", "prep") and tokens[0].i < verb.i)
    ):
        drop = {t.i for t in tokens[0].subtree}
        tokens = [t for t in tokens if t.i not in drop]
    while tokens and (tokens[-1].is_punct or tokens[-1].is_quote):
        tokens.pop()
    subject = subject_of(verb)
    short = subject is not None and len(list(subject.subtree)) > 4
    span = {t.i for t in subject.subtree} if short else set()
    plural = short and (subject.tag_ in ("NNS", "NNPS")
                        or any(c.dep_ == "conj" for c in subject.children))  # fmt: skip
    parts, placed = [], False
    for t in tokens:
        if t.i in span:
            if not placed:
                parts.append("they " if plural else "it ")
                placed = True
            continue
        parts.append(t.text_with_ws)
    text = "".join(parts).strip()
    if len(text.split()) > cfg.max_clause_words:
        return ""
    return text


def clause(frame: Frame, top: list[Sentence], docs, matcher: Matcher,
            cfg: ReaderSettings) -> Reading:  # fmt: skip
    """Why/how/what-did-they-say: the reason, manner or reported clause of the best sentence.

    For "why", every parsed sentence offers its reason clauses; a cause ("because", "due
    to", "to prevent" after a passive or as an adverbial clause) outweighs a mere sequence
    ("after", "following", "amid")."""
    options = []
    anchors = others = [None] * len(docs)
    if frame.kind != "reason":
        anchors = [_anchor(doc, matcher.word_scores([t.lower_ for t in doc]), frame)
                   for doc in docs]  # fmt: skip
        others = [_other_doer(doc, frame, matcher) for doc in docs]
        if any(others) and all(o for o, doc in zip(others, docs, strict=True)
                               if any(t.lemma_.lower() == frame.verb for t in doc)):  # fmt: skip
            # "What did the Israeli army say": only others are said to have said anything
            return Reading(frame, True, evidence=top[:1], reason="said by others in the evidence")
    for sentence, doc, anchor, other in zip(top, docs, anchors, others, strict=True):
        if frame.kind == "reason":
            for span, strength in _reasons(doc):
                options.append((sentence.score * strength, sentence, span))
        else:
            if other:
                continue  # "the Islamic Resistance said ..." does not say what the army said
            span = _complement(doc, anchor)
            if span is not None and "?" in span.text:
                continue  # "What do the images show?": a question in the text answers nothing
            if span is not None:
                options.append((sentence.score, sentence, span))
            break  # the best sentence's own clause, or none
    options = [o for o in options if len(o[2].text.split()) >= 2]
    if not options:
        if frame.kind == "reason":
            return Reading(frame, True, evidence=top[:1], reason="no reason given in the evidence")
        return Reading(frame, False, answer="", evidence=top[:3], confidence=top[0].score)
    score, sentence, span = max(options, key=lambda o: o[0])
    text = span.text.strip(" ,.;:")
    if len(text.split()) > cfg.max_clause_words:
        text = " ".join(text.split()[: cfg.max_clause_words]) + " …"
    return Reading(frame, False, answer=text[:1].upper() + text[1:], short_answer=None,
                   evidence=[sentence, *[s for s in top if s is not sentence]][:3],
                   confidence=score)  # fmt: skip


_CAUSES = {"because", "due", "since", "so"}  # "because ...", "due to ...", "so that ..."
_SEQUENCES = {"after", "following", "amid", "as", "over"}  # often, not always, a cause


def _reasons(doc):
    """``(span, strength)`` of the reason clauses in ``doc``."""
    for token in doc:
        word = token.lower_
        if word in _CAUSES or word in _SEQUENCES:
            strength = 1.0 if word in _CAUSES else 0.5
            head = token if token.dep_ == "prep" else token.head
        elif word == "to" and token.dep_ == "aux" and token.head.pos_ == "VERB":
            verb = token.head  # a purpose: "was made to prevent", "acted to stop"
            passive = any(c.dep_ == "auxpass" for c in verb.head.children)
            if verb.dep_ != "advcl" and not (verb.dep_ == "xcomp" and passive):
                continue
            strength, head = 1.0, verb
        else:
            continue
        subtree = list(head.subtree)
        start, end = min(token.i, subtree[0].i), subtree[-1].i + 1
        if end - start >= 3:
            yield doc[start:end], strength


def _other_doer(doc, frame: Frame, matcher: Matcher) -> bool:
    """The sentence uses the question's verb only with subjects that share no word with the
    question's subject, exactly or by meaning ("the Islamic Resistance said" for "what did the
    Israeli army say"; "the first pictures show" does answer "what did the images show"). A
    pronoun subject may be anyone. Names are not resolved: "the IDF" is someone else than
    "the Israeli army" here."""
    if not frame.doer:
        return False
    wanted = matcher.words_like(" ".join(frame.doer))
    clash = False
    for verb in (t for t in doc if t.lemma_.lower() == frame.verb):
        subject = subject_of(verb)
        if subject is None or subject.pos_ == "PRON":
            return False
        said = [t.lower_ for t in subject.subtree]
        if wanted.word_scores(said).max(initial=0.0) > 0:
            return False
        clash = True
    return clash


def _anchor(doc, scores: np.ndarray, frame: Frame):
    """The token the clause hangs from: the verb matching the question's verb, else the verb
    nearest the matched focus words."""
    if frame.verb:
        for t in doc:
            if t.lemma_.lower() == frame.verb and t.pos_ in ("VERB", "AUX"):
                return t
    matched = [j for j in range(scores.shape[1]) if scores[:, j].max(initial=0.0) > 0]
    for j in matched:
        token = doc[j]
        while token.pos_ not in ("VERB", "AUX") and token.head.i != token.i:
            token = token.head
        if token.pos_ in ("VERB", "AUX"):
            return token
    return next((t for t in doc if t.dep_ == "ROOT"), doc[0])


def _complement(doc, anchor):
    """What the anchor verb says, urges or does: the words of its subtree after it
    ("urged [the factions to de-escalate a bit]"), or what it reports ("“[We believe ...]”,
    said John Kirby"), else a quotation in the sentence."""
    reported = [c for c in anchor.children if c.dep_ == "ccomp"]
    if reported:
        words = [t for t in reported[0].subtree if not (t.is_punct or t.is_quote)]
        if len(words) >= 2:
            return doc[words[0].i : words[-1].i + 1]
    after = [t for t in anchor.subtree if t.i > anchor.i and t.dep_ not in ("nsubj", "nsubjpass")]
    while after and (after[-1].is_punct or after[-1].is_quote):
        after.pop()
    while after and (after[0].is_punct or after[0].dep_ in ("mark", "cc")):
        after.pop(0)
    if after and after[-1].i - after[0].i + 1 >= 2:
        return doc[after[0].i : after[-1].i + 1]
    quote = re.search(r"[\"“]([^\"”]{8,300})[\"”]", doc.text)
    if quote:
        return doc.char_span(quote.start(1), quote.end(1), alignment_mode="expand")
    return None
