"""Shared text analysis: sentences, words, stems, headings.

Ingest, keyword search, reading and conversation all read text through these functions, so a
word means the same thing at every stage.
"""

from __future__ import annotations

import re
import threading

TOKEN = re.compile(r"(?u)\b\w\w+\b")
WORD = re.compile(r"[\w'’-]+")

# Dropped from the keyword index: too frequent to tell passages apart.
INDEX_STOPWORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it",
    "no", "not", "of", "on", "or", "such", "that", "the", "their", "then", "there", "these",
    "they", "this", "to", "was", "will", "with",
})  # fmt: skip
# Words that shape a question (or any sentence) but say nothing about its topic.
FUNCTION_WORDS = INDEX_STOPWORDS | frozenset({
    "who", "whom", "whose", "what", "when", "where", "which", "why", "how", "many", "much",
    "were", "been", "being", "did", "does", "do", "done", "has", "have", "had", "having",
    "recently", "recent", "reportedly", "according", "said", "says", "say", "tell", "told",
    "name", "named", "called", "one", "new", "week", "last", "those", "its", "itself", "them",
    "he", "she", "his", "her", "him", "hers", "we", "our", "us", "you", "your", "i", "me", "my",
    "about", "also", "would", "could", "can", "may", "might", "should", "shall", "must",
    "just", "some", "any", "all", "from", "up", "out", "over", "than", "so", "very", "more",
    "most", "other", "after", "before", "during", "while", "since", "because", "between",
    "against", "through", "under", "off", "again", "only", "own", "same", "too", "now",
    "here", "each", "few", "both", "nor", "yet", "ever", "even", "still", "year", "years",
    "day", "days", "time", "today", "yesterday", "tomorrow", "currently",
    "approximately", "around", "nearly", "almost", "kind", "type", "sort", "way",
})  # fmt: skip

_local = threading.local()


def _stemmer():
    """PyStemmer's English stemmer; one per thread, as its objects are not thread-safe."""
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        import Stemmer

        stemmer = _local.stemmer = Stemmer.Stemmer("english")
    return stemmer


def words(text: str) -> list[str]:
    """Lower-cased words of two or more characters, in order."""
    return TOKEN.findall(text.lower())


def stem(word: str) -> str:
    return _stemmer().stemWord(word)


def stems(tokens: list[str]) -> list[str]:
    return _stemmer().stemWords(tokens)


def index_terms(text: str) -> list[str]:
    """What the keyword index stores for ``text``: stems of all but the commonest words."""
    return stems([w for w in words(text) if w not in INDEX_STOPWORDS])


def content_words(text: str) -> list[str]:
    """Lower-cased words of ``text`` that carry its topic, in order. Acronyms always do
    ("US" is the country, not the pronoun)."""
    return [w.lower() for w in TOKEN.findall(text)
            if w.lower() not in FUNCTION_WORDS or (w.isupper() and len(w) > 1)]  # fmt: skip


def content_terms(text: str) -> list[str]:
    """Stems of the words of ``text`` that carry its topic, in order."""
    return stems(content_words(text))


# --- sentences ---

# Words after which a period does not end a sentence.
_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "gen", "lt", "col", "sgt", "capt", "cmdr",
    "adm", "gov", "sen", "rep", "rev", "pres", "no", "vs", "etc", "inc", "corp", "co", "ltd",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    "u.s", "u.k", "u.n", "e.g", "i.e", "a.m", "p.m", "mt", "ft", "ave", "approx", "dept",
}  # fmt: skip
_LAST_WORD_WINDOW = 40  # characters before a period that can hold an abbreviation
# A run of end marks is tried once, from its start and without backtracking: tried from each
# of its marks, a long run ("....") took quadratic time.
_BOUNDARY = re.compile(r"(?<![.!?…])[.!?…]++[\"”’')\]]*+(?=\s+[\"“‘'(\[]?[A-Z0-9])|\n\s*")


def split_sentences(text: str, offset: int = 0) -> list[tuple[int, int]]:
    """``(start, end)`` spans of the sentences in ``text``, whitespace trimmed.

    A line break always ends a sentence, so headings and captions stand alone.
    """
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        end = match.end()
        if match.group().startswith(".") and not match.group().startswith("\n"):
            # only the last word matters: look at a short window, not the whole run so far
            before = text[max(start, match.start() - _LAST_WORD_WINDOW) : match.start()].split()
            last = before[-1].lower().rstrip(".") if before else ""
            if last in _ABBREVIATIONS or (len(last) == 1 and last.isalpha()):
                continue
        _add_span(text, start, end, spans, offset)
        start = end
    _add_span(text, start, len(text), spans, offset)
    return spans


def _add_span(text: str, start: int, end: int, spans: list[tuple[int, int]], offset: int) -> None:
    piece = text[start:end]
    stripped = piece.strip()
    if not stripped:
        return
    lead = len(piece) - len(piece.lstrip())
    spans.append((offset + start + lead, offset + start + lead + len(stripped)))


_TERMINAL = re.compile(r"[.!?…][\"”’')\]]*$|[\"”]$")
_BYLINE = re.compile(
    r"^(by\s+[A-Z]|\(?[A-Z][A-Za-z .]{1,30}\)?\s*[—–-]{1,2}\s*$|photo|image|video|"
    r"click|sign up|subscribe|read more|advertisement|copyright|©)",
    re.IGNORECASE,
)


def is_statement(sentence: str, min_words: int = 5) -> bool:
    """A full sentence that can carry an answer: ends like a sentence, enough words, not a
    heading, caption or byline ("Three US troops killed in Jordan drone attack" is a heading),
    not a question ("What do the images show?" introduces the answer, it is not one)."""
    text = sentence.strip()
    if len(text.split()) < min_words or not _TERMINAL.search(text):
        return False
    if text.rstrip("\"'”’)]").endswith("?"):
        return False
    return not _BYLINE.match(text)
