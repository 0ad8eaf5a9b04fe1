from assistant.chunking import chunk_article, split_sentences
from assistant.loading import load_file
from assistant.types import Article
from tests.conftest import SEED


def _sentences(text):
    return [text[s:e] for s, e in split_sentences(text)]


def test_splits_on_sentence_ends():
    assert _sentences("One here. Two there! Three?") == ["One here.", "Two there!", "Three?"]


def test_abbreviations_and_initials_do_not_split():
    text = "Mr. Smith met Dr. Jones in the U.S. capital. J. Doe was there."
    assert _sentences(text) == ["Mr. Smith met Dr. Jones in the U.S. capital.", "J. Doe was there."]


def test_line_breaks_end_headlines():
    assert _sentences("Headline here\n\nBody text follows.") == [
        "Headline here",
        "Body text follows.",
    ]


def test_quotes_after_period_stay_with_sentence():
    assert _sentences("He said “stop.” Then he left.") == ["He said “stop.”", "Then he left."]


def test_chunks_are_exact_spans_within_budget_and_overlap():
    [article], _ = load_file(SEED)
    chunks = chunk_article(article, max_words=60, overlap=1)
    assert len(chunks) > 3
    for chunk in chunks:
        assert article.text[chunk.start : chunk.end] == chunk.text
        assert len(chunk.text.split()) <= 60
    pairs = list(zip(chunks, chunks[1:], strict=False))
    assert all(article.text[a.end : b.start].strip() == "" for a, b in pairs)  # no gaps
    assert any(b.start < a.end for a, b in pairs)  # sentences shared across boundaries
    assert chunks[0].start == 0 and chunks[-1].end == len(article.text)


def test_overlong_sentence_is_cut_by_words():
    article = Article(id="x", title="t", text=" ".join(["word"] * 250) + ".")
    chunks = chunk_article(article, max_words=100, overlap=0)
    assert [len(c.text.split()) for c in chunks] == [100, 100, 50]
