"""Check what a language model wrote against the numbered evidence it was shown.

Pure functions. A model answer is split into sentences; each must end with ``[n]`` markers that
point at evidence it was given (1..len(evidence)), and every name, number and date it states must
occur, after normalisation, in the evidence it cites (the quoted sentence plus that article's
title and date, which the prompt showed). Sentences that fail are kept with ``supported=False``
and a reason, so the caller can drop them; "I don't know" is an abstention, not an answer.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from assistant.types import AnswerSentence, Citation

# "[1]", "[1, 2]", "[1][3]", "[1-2]"; one group of markers
_MARKERS = re.compile(r"\s*\[\s*(\d+(?:\s*[,;–-]\s*\d+)*)\s*\]")
_MARKER_RUN = re.compile(r"(?:\s*\[\s*\d+(?:\s*[,;–-]\s*\d+)*\s*\])+")
_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "st", "jr", "sr", "gen", "col", "lt", "sgt", "rep", "sen", "gov",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "no",
    "vs", "inc", "corp", "co", "ltd", "u.s", "u.k", "u.n", "e.g", "i.e", "approx", "est",
}  # fmt: skip
MIN_OVERLAP = 0.5  # share of a sentence's content words that its evidence must contain
_REFUSAL = re.compile(
    r"\b(i\s+(?:do\s*n[o']?t|don['’]t|cannot|can['’]t)\s+(?:know|tell|say|answer|determine)|"
    r"(?:evidence|articles?|sentences?|context|passages?)\s+(?:does|do)\s*(?:n['’]t|not)\s+"
    r"(?:say|mention|contain|provide|include|answer|specify|state)|"
    r"not\s+(?:mentioned|stated|specified|provided|given|included|found)\s+in\s+the\s+"
    r"(?:given\s+|provided\s+)?(?:evidence|articles?|text|sentences?|context)|"
    r"no\s+information\s+(?:about|on|regarding))",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*|\d+(?:[.,]\d+)*")
_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*(?:st|nd|rd|th|s)?(?![\w])")
_NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "dozen": 12,
}  # fmt: skip
_SCALES = {"thousand", "million", "billion", "trillion", "percent"}
_MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december"]  # fmt: skip
_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
# capitalised words that are not names: sentence openers, pronouns, question words
_NOT_NAMES = {
    "the", "a", "an", "in", "on", "at", "of", "for", "to", "by", "with", "from", "and", "but",
    "or", "as", "after", "before", "during", "it", "its", "this", "that", "these", "those",
    "they", "their", "he", "his", "she", "her", "we", "our", "i", "you", "there", "according",
    "yes", "no", "also", "however", "while", "when", "who", "what", "which", "where", "why",
    "how", "both", "some", "many", "most", "all", "one", "two", "three", "so", "then", "if",
    "officials", "authorities", "police", "experts", "analysts", "researchers", "scientists",
    "critics", "residents", "people", "protesters", "lawmakers", "investigators", "witnesses",
    "prosecutors", "sources", "reports", "several", "each", "every", "despite", "although",
    "since", "because", "following", "amid", "under", "over", "about", "around", "nearly",
    "more", "less", "only", "just", "not", "none", "other", "another", "them", "yet",
}  # fmt: skip


@dataclass(frozen=True)
class SentenceCheck:
    """One sentence of a model answer and the verdict on it."""

    body: str  # the claim without its markers or final punctuation
    markers: tuple[int, ...]  # evidence numbers as written by the model
    end: str  # final punctuation ("." when the model wrote none)
    supported: bool
    reason: str = ""  # why not supported: "no markers", "marker [7] out of range", ...

    def render(self, numbers: dict[int, int] | None = None) -> str:
        """``body [n][m].``, markers renumbered through ``numbers`` when given."""
        shown = [numbers.get(m, m) if numbers else m for m in self.markers]
        marks = "".join(f"[{n}]" for n in dict.fromkeys(shown))
        return f"{self.body} {marks}{self.end}" if marks else f"{self.body}{self.end}"

    def to_answer_sentence(self, numbers: dict[int, int] | None = None) -> AnswerSentence:
        shown = [numbers.get(m, m) if numbers else m for m in self.markers]
        return AnswerSentence(
            text=self.render(numbers),
            markers=tuple(dict.fromkeys(shown)),
            supported=self.supported,
        )


# --- normalisation -------------------------------------------------------------------------


def normalize(text: str) -> str:
    """Lower case, accents and curly quotes folded, for comparing words."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return text.replace("’", "'").replace("‘", "'").lower()


def _stem(word: str) -> str:
    word = re.sub(r"'s$", "", word)
    return word[:-1] if word.endswith("'") else word


def words(text: str) -> list[str]:
    return [_stem(w) for w in _WORD.findall(normalize(text))]


def _number_value(token: str) -> str | None:
    token = re.sub(r"(st|nd|rd|th|s)$", "", token.lower())
    if not token:
        return None
    if re.fullmatch(r"\d{1,3}(,\d{3})+", token):  # 1,200 -> 1200
        token = token.replace(",", "")
    token = token.replace(",", ".")
    try:
        value = float(token)
    except ValueError:
        return None
    return f"{value:g}"


def numbers(text: str) -> set[str]:
    """Numbers in ``text`` as canonical strings: digits and number words alike ("3" == "three")."""
    found = {v for t in _NUMBER.findall(normalize(text)) if (v := _number_value(t))}
    for word in words(text):
        for part in word.split("-"):  # "twenty-one" counts its parts
            if part in _NUMBER_WORDS:
                found.add(f"{_NUMBER_WORDS[part]:g}")
    return found


def _date_words(published_at: str) -> str:
    """The ways a model may write a YYYY-MM-DD date: "2024 february 1 thursday"."""
    try:
        day = date.fromisoformat(published_at)
    except ValueError:
        return ""
    return f"{day.year} {_MONTHS[day.month - 1]} {day.day} {_WEEKDAYS[day.weekday()]}"


def evidence_text(citation: Citation) -> str:
    """What the model was shown for one evidence item: quote, title and date."""
    return " ".join([citation.quote, citation.title, _date_words(citation.published_at)])


# --- claims ------------------------------------------------------------------------------------


def names(text: str) -> list[str]:
    """Capitalised words (names, months, weekdays, acronyms), normalised; openers left out."""
    found = []
    for token in _WORD.findall(text):
        if not token[0].isupper():
            continue
        word = _stem(normalize(token))
        if word in _NOT_NAMES or word.isdigit():
            continue
        found.append(word)
    return found


def _scales(text: str) -> set[str]:
    """Scale words ("million", "percent" or "%"): they must match the evidence too."""
    return {w for w in words(text) if w in _SCALES} | ({"percent"} if "%" in text else set())


def _word_supported(word: str, vocabulary: set[str]) -> bool:
    """A name occurs in the evidence, allowing inflections ("Iranian" ~ "Iran", "Israeli")."""
    if word in vocabulary:
        return True
    if len(word) < 4:
        return False
    for known in vocabulary:
        if len(known) >= 4 and abs(len(known) - len(word)) <= 3:
            if known.startswith(word) or word.startswith(known):
                return True
    return False


def unsupported_claims(claim: str, cited: str, given: str = "") -> list[str]:
    """Names, numbers and scale words of ``claim`` that ``cited`` does not contain.

    ``given`` (the question) may supply names and numbers too: repeating what the question
    presupposes ("Washington blamed ...") is not a claim the evidence must back.
    """
    cited = f"{cited} {given}"
    vocabulary = set(words(cited))
    for word in list(vocabulary):
        vocabulary.update(word.split("-"))
    missing = [w for w in dict.fromkeys(names(claim)) if not _word_supported(w, vocabulary)]
    have = numbers(cited)
    missing += [n for n in sorted(numbers(claim)) if n not in have]
    missing += sorted(_scales(claim) - _scales(cited))
    return missing


_STOP = {
    "that", "this", "with", "from", "have", "has", "had", "were", "was", "been", "being", "will",
    "would", "could", "should", "their", "there", "they", "them", "than", "then", "into",
    "about", "after", "before", "also", "which", "while", "when", "where", "what", "said",
    "says", "according", "over", "under", "more", "most", "some", "such", "only", "other",
    "because", "against", "during", "these", "those", "its", "it's", "his", "her", "our",
}  # fmt: skip


def content_words(text: str) -> list[str]:
    """Words of four letters or more that carry meaning (for the overlap check)."""
    return [w for w in dict.fromkeys(words(text)) if len(w) >= 4 and w not in _STOP
            and not w.isdigit()]  # fmt: skip


def overlap(claim: str, cited: str) -> float:
    """Share of the claim's content words found in ``cited`` (inflections allowed)."""
    wanted = content_words(claim)
    if not wanted:
        return 1.0
    vocabulary = set(words(cited))
    return sum(_word_supported(w, vocabulary) for w in wanted) / len(wanted)


def support_problem(claim: str, cited: str, given: str = "") -> str:
    """Why ``cited`` does not back ``claim`` ("" when it does); ``given``: the question."""
    missing = unsupported_claims(claim, cited, given)
    if missing:
        return "not in the cited evidence: " + ", ".join(missing[:5])
    if overlap(claim, cited) < MIN_OVERLAP:
        return "the cited evidence says something else"
    return ""


# --- sentences and markers ---------------------------------------------------------------------


def parse_markers(text: str) -> tuple[int, ...]:
    """Every number in the ``[n]`` groups of ``text``, in order; ranges expanded."""
    out: list[int] = []
    for group in _MARKERS.findall(text):
        for piece in re.split(r"\s*[,;]\s*", group):
            if re.search(r"[–-]", piece):
                lo, hi = (int(x) for x in re.split(r"\s*[–-]\s*", piece))
                out.extend(range(lo, hi + 1) if 0 <= hi - lo <= 10 else (lo, hi))
            else:
                out.append(int(piece))
    return tuple(out)


def split_sentences(text: str) -> list[str]:
    """Sentences of a model answer; a marker run after the full stop stays with its sentence."""
    text = " ".join(text.split())
    pieces: list[str] = []
    start = 0
    for match in re.finditer(r"[.!?][\"”’)]*(?:\s*\[[^\]]*\])*", text):
        end = match.end()
        rest = text[end:]
        if rest and not re.match(r"\s+[\"“(\[]?[A-Z0-9]", rest):
            continue
        before = text[start : match.start()].split()
        last = before[-1].lower().rstrip(".") if before else ""
        if match.group().startswith(".") and (last in _ABBREVIATIONS or len(last) == 1):
            continue
        pieces.append(text[start:end].strip())
        start = end
    if text[start:].strip():
        pieces.append(text[start:].strip())
    return [p for p in pieces if p]


def is_refusal(text: str) -> bool:
    """The model said it does not know (or that the evidence does not say)."""
    return bool(_REFUSAL.search(text))


def _backing(body: str, evidence: Sequence[Citation], given: str) -> int | None:
    """The one evidence item that backs ``body`` best, when the cited ones do not. Items are
    not combined: names from two sentences ("Kataib Hezbollah" + "Haifa") make a new claim."""
    texts = [evidence_text(c) for c in evidence]
    single = [i for i, t in enumerate(texts, 1) if not support_problem(body, t, given)]
    return max(single, key=lambda i: overlap(body, texts[i - 1])) if single else None


def check_sentence(
    sentence: str, evidence: Sequence[Citation], question: str = ""
) -> SentenceCheck:
    """Verify one sentence against the evidence list (numbered from 1)."""
    markers = parse_markers(sentence)
    stripped = _MARKER_RUN.sub("", sentence).strip()
    end_match = re.search(r"[.!?]+[\"”’)]*$", stripped)
    end = "." if not end_match else end_match.group()[:1]
    body = stripped[: end_match.start()].strip() if end_match else stripped
    body = re.sub(r"\s+([,;:])", r"\1", body)

    def verdict(ok: bool, reason: str = "") -> SentenceCheck:
        return SentenceCheck(body, markers, end, ok, reason)

    if not body or not re.search(r"\w", body):
        return verdict(False, "empty")
    if not markers:
        return verdict(False, "no markers")
    wrong = [m for m in markers if not 1 <= m <= len(evidence)]
    if wrong:
        return verdict(False, f"marker [{wrong[0]}] out of range 1..{len(evidence)}")
    if is_refusal(body):
        return verdict(False, "refusal")
    cited = " ".join(evidence_text(evidence[m - 1]) for m in dict.fromkeys(markers))
    problem = support_problem(body, cited, question)
    if not problem:
        return verdict(True)
    # A small model often gets the number wrong, not the claim: cite what backs it.
    best = _backing(body, evidence, question)
    if best:
        return SentenceCheck(body, (best,), end, True, f"re-cited {list(markers)} as [{best}]")
    return verdict(False, problem)


def check_answer(
    text: str, evidence: Sequence[Citation], question: str = ""
) -> tuple[list[SentenceCheck], bool]:
    """(a verdict per sentence, whether the model declined to answer)."""
    sentences = split_sentences(text)
    checks = [check_sentence(s, evidence, question) for s in sentences]
    declined = any(is_refusal(s) for s in sentences)
    abstained = not text.strip() or (declined and not any(c.supported for c in checks))
    return checks, abstained
