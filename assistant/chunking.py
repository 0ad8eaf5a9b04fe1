"""Sentence-aware chunking with character offsets.

Chunks are whole sentences packed up to a word budget sized for MiniLM (256 word pieces),
consecutive chunks sharing ``overlap`` sentences, so a fact split across a boundary is still
whole in one chunk.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from assistant.text import split_sentences
from assistant.types import Article, Chunk

_WORD = re.compile(r"\S+")
MAX_CHUNK_CHARS = 4000  # a chunk of a few "words" thousands of characters long is cut too


def _word_windows(text: str, span: tuple[int, int], max_words: int) -> Iterator[tuple[int, int]]:
    """Cut an over-long sentence into pieces of at most ``max_words`` words and at most
    ``MAX_CHUNK_CHARS`` characters (a single giant "word" is cut by characters)."""
    start, end = span
    words = list(_WORD.finditer(text, start, end))
    for i in range(0, len(words), max_words):
        group = words[i : i + max_words]
        piece_start, piece_end = group[0].start(), group[-1].end()
        for cut in range(piece_start, piece_end, MAX_CHUNK_CHARS):
            yield cut, min(cut + MAX_CHUNK_CHARS, piece_end)


def chunk_article(article: Article, max_words: int = 140, overlap: int = 1) -> list[Chunk]:
    """Split an article into overlapping sentence-aligned chunks."""
    text = article.text
    sentences: list[tuple[int, int]] = []
    for span in split_sentences(text):
        too_long = span[1] - span[0] > MAX_CHUNK_CHARS
        if too_long or len(text[span[0] : span[1]].split()) > max_words:
            sentences.extend(_word_windows(text, span, max_words))
        else:
            sentences.append(span)
    counts = [len(text[s:e].split()) for s, e in sentences]
    chunks: list[Chunk] = []
    i = 0
    while i < len(sentences):
        j, words = i, 0
        while j < len(sentences) and (
            j == i
            or (
                words + counts[j] <= max_words
                and sentences[j][1] - sentences[i][0] <= MAX_CHUNK_CHARS
            )
        ):
            words += counts[j]
            j += 1
        start, end = sentences[i][0], sentences[j - 1][1]
        chunks.append(Chunk(article.id, len(chunks), start, end, text[start:end]))
        if j >= len(sentences):
            break
        i = max(i + 1, j - overlap)
    return chunks
