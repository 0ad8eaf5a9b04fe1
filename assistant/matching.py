"""How well a piece of text covers a question's focus words, exactly or by meaning.

A focus word matches a word of the text when their stems are equal, or, to bridge vocabulary
gaps (died/killed, buy/purchase, wounded/injured), when the embedding model's own word-piece
vectors are close. Each focus word weighs its rarity (idf from the keyword index).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from assistant.text import FUNCTION_WORDS, content_words, stem

_CACHE_LIMIT = 200_000  # word vectors kept (1.5 KB each)


class WordVectors:
    """Static vectors of whole words: the mean of their word-piece input embeddings."""

    def __init__(self, embedder) -> None:
        self.embedder = embedder
        self.table = embedder.word_vectors
        self._cache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    @property
    def available(self) -> bool:
        return self.table is not None

    def matrix(self, items: list[str]) -> np.ndarray:
        """Unit vectors of ``items`` (rows), zero rows for words without pieces."""
        dims = self.table.shape[1]
        out = np.zeros((len(items), dims), np.float32)
        for i, word in enumerate(items):
            vector = self._cache.get(word)
            if vector is None:
                ids = self.embedder.token_ids(word)
                vector = self.table[ids].mean(0) if ids else np.zeros(dims, np.float32)
                norm = float(np.linalg.norm(vector))
                vector = vector / norm if norm else vector
                with self._lock:
                    if len(self._cache) > _CACHE_LIMIT:
                        self._cache.clear()
                    self._cache[word] = vector
            out[i] = vector
        return out


@dataclass
class Focus:
    """The words a question is about, their stems and weights."""

    words: list[str]
    stems: list[str]
    weights: np.ndarray  # idf of each (times the referent weight for borrowed words)
    own: np.ndarray  # True for the question's own topic words (not borrowed, not the category)
    category: np.ndarray  # True for the noun naming what is asked for ("which *airline*")

    @property
    def total(self) -> float:
        return float(self.weights.sum()) or 1.0

    borrowed_share: float = 0.3  # part of a follow-up's score from the words it refers to

    def share(self, best: np.ndarray, own_only: bool = False) -> float:
        """Weighted share of the focus matched, given each word's best match. A follow-up's
        own words decide; the words its pronouns stand for add ``borrowed_share``."""
        own = self.own | self.category
        borrowed = ~own
        if not own.any():
            own, borrowed = borrowed, np.zeros_like(borrowed)
        if own_only:
            own = self.own if self.own.any() else own
        mine = float((best * self.weights * own).sum() / ((self.weights * own).sum() or 1.0))
        if own_only or not borrowed.any():
            return mine
        theirs = float((best * self.weights * borrowed).sum() / (self.weights * borrowed).sum())
        return (1 - self.borrowed_share) * mine + self.borrowed_share * theirs


def focus_words(text: str, extra: tuple[str, ...] = ()) -> dict[str, tuple[str, bool]]:
    """stem -> (word, whether ``text`` has it rather than ``extra``): the words ``focus_of``
    weighs, each once."""
    seen: dict[str, tuple[str, bool]] = {}
    for word in content_words(text):
        seen.setdefault(stem(word), (word, True))
    for word in extra:
        seen.setdefault(stem(word), (word, False))
    return seen


def focus_of(text: str, idf, extra: tuple[str, ...] = (), extra_weight: float = 0.3,
             category: str = "") -> Focus:  # fmt: skip
    """Content words of ``text``, each once, weighted by ``idf(stem)``; words of ``extra``
    (what a follow-up refers to) make up ``extra_weight`` of its coverage. The ``category``
    noun ("which *newspaper*") counts for matching but not as the question's own topic:
    texts seldom name the category of what they report."""
    seen = focus_words(text, extra)
    stems_ = list(seen)
    weights = np.array([idf(s) for s in stems_], dtype=np.float64)
    is_category = np.array([bool(category) and s == stem(category) for s in stems_], dtype=bool)
    own = np.array([seen[s][1] for s in stems_], dtype=bool) & ~is_category
    focus = Focus([seen[s][0] for s in stems_], stems_, weights, own, is_category)
    focus.borrowed_share = extra_weight
    return focus


class Matcher:
    """Per focus word, how well each of many texts matches it (1 exact, less by meaning)."""

    def __init__(self, focus: Focus, vectors: WordVectors | None, soft_min: float,
                 soft_weight: float) -> None:  # fmt: skip
        self.focus = focus
        self.vectors = vectors if vectors is not None and vectors.available else None
        self.soft_min, self.soft_weight = soft_min, soft_weight
        self._focus_vectors = self.vectors.matrix(focus.words) if self.vectors else None
        self._index = {s: i for i, s in enumerate(focus.stems)}
        self._columns: dict[str, np.ndarray] = {}  # word -> its scores against the focus
        self._alike: dict[str, Matcher] = {}  # words_like, made once per text

    def word_scores(self, text_words: list[str]) -> np.ndarray:
        """(focus words x text words): 1 where stems are equal, soft credit where close."""
        if not text_words:
            return np.zeros((len(self.focus.stems), 0), np.float32)
        new = [w for w in dict.fromkeys(text_words) if w not in self._columns]
        if new:  # each distinct word is scored once per question (a matcher lives that long)
            columns = np.zeros((len(self.focus.stems), len(new)), np.float32)
            if self._focus_vectors is not None:
                content = [j for j, w in enumerate(new) if w not in FUNCTION_WORDS]
                if content:
                    sims = self._focus_vectors @ self.vectors.matrix([new[j] for j in content]).T
                    columns[:, content] = np.where(sims >= self.soft_min,
                                                   self.soft_weight * sims, 0.0)  # fmt: skip
            for j, word in enumerate(new):
                i = self._index.get(stem(word))
                if i is not None:
                    columns[i, j] = 1.0
                self._columns[word] = columns[:, j]
        return np.stack([self._columns[w] for w in text_words], axis=1)

    def words_like(self, text: str) -> Matcher:
        """A matcher for the words of ``text`` itself (each weighing 1, a match by meaning
        in full), sharing this one's word vectors: "is this verb / noun / name here?". Made
        once per text, so its scores are cached across the candidates that ask."""
        if text not in self._alike:
            self._alike[text] = Matcher(focus_of(text, lambda _: 1.0), self.vectors,
                                        self.soft_min, 1.0)  # fmt: skip
        return self._alike[text]

    def coverage(self, text_words: list[str]) -> tuple[float, np.ndarray]:
        """Weighted share of the focus found in the text, and each focus word's best match."""
        best = self.word_scores(text_words).max(axis=1, initial=0.0)
        return self.focus.share(best), best
