"""The UI's logic as plain functions: highlighting, sources, examples, safe uploads."""

from pathlib import Path

from assistant.store import ArticleRecord
from assistant.types import Answer, Citation
from assistant.ui import (
    answer_markdown,
    article_rows,
    example_questions,
    highlight_passage,
    ingest_uploads,
    safe_name,
    sources_html,
    stream_chunks,
)


def _citation(**over):
    passage = "First sentence. The <key> sentence here. Last one."
    base = dict(n=1, article_id="a1", chunk_id="a1:0", title="T & T", source="S", url="",
                published_at="2024-01-01", quote="The <key> sentence here.", start=116, end=140,
                passage=passage, passage_start=100)  # fmt: skip
    base.update(over)
    return Citation(**base)


def test_highlight_marks_the_quote_inside_its_passage_escaped():
    html = highlight_passage(_citation())
    assert html == "First sentence. <mark>The &lt;key&gt; sentence here.</mark> Last one."


def test_highlight_falls_back_to_the_quote_when_offsets_disagree():
    assert highlight_passage(_citation(start=101)) == "<mark>The &lt;key&gt; sentence here.</mark>"


def test_sources_html_lists_numbered_sources_with_links():
    answer = Answer("x [1]", False, [_citation(url="https://e.org/a?b=1&c=2")])
    html = sources_html(answer)
    assert "<b>[1]</b>" in html and "href='https://e.org/a?b=1&amp;c=2'" in html
    assert "T &amp; T" in html and "2024-01-01" in html


def test_refusal_has_no_sources():
    refusal = Answer("The articles don't say.", True)
    assert "<mark>" not in sources_html(refusal)
    assert answer_markdown(refusal) == "The articles don't say."


def test_answer_markdown_keeps_the_answer_on_the_first_line():
    text = answer_markdown(Answer("Claim [1]", False, [_citation()]))
    assert text.split("\n")[0] == "Claim [1]"
    assert "> The &lt;key&gt; sentence here." in text  # article text is escaped


def test_stream_chunks_grow_to_the_full_text():
    parts = list(stream_chunks("one two three four five six seven", words_per_step=3))
    assert parts[-1] == "one two three four five six seven"
    assert all(b.startswith(a) for a, b in zip(parts, parts[1:], strict=False))


def _record(title, source="Wire", date="2024-01-01"):
    return ArticleRecord("id-" + title, title, source, date, "", "", "", "", 1)


def test_examples_come_from_the_loaded_articles():
    questions = example_questions([_record("Storm hits New Orleans overnight"),
                                   _record("Kataib Hezbollah halts attacks")])  # fmt: skip
    assert questions == ["What do the articles say about New Orleans?",
                         "What do the articles say about Kataib Hezbollah?"]  # fmt: skip


def test_examples_prefer_the_name_an_article_repeats():
    text = (
        "The Islamic Resistance in Iraq said it. Later the Islamic Resistance in Iraq denied it. "
        "Officials in Baghdad were told."
    )
    texts = {"id-A senior commander travelled": text}
    questions = example_questions([_record("A senior commander travelled")], texts.get)
    assert questions == ["What do the articles say about Islamic Resistance in Iraq?"]


def test_article_rows_filter_by_title_or_source():
    records = [_record("Storm hits", "Wire"), _record("Vote counted", "Herald")]
    assert [r[1] for r in article_rows(records, "herald")] == ["Vote counted"]
    assert len(article_rows(records, "")) == 2


def test_safe_name_drops_paths_and_odd_characters():
    assert safe_name("../../etc/passwd") == "passwd"
    assert safe_name("C:\\Users\\me\\My Story!.HTML") == "My-Story.html"
    assert safe_name("...md") == "article.md"


def test_upload_stores_good_files_and_removes_rejected_ones(make_assistant, tmp_path):
    up = tmp_path / "incoming"
    up.mkdir()
    good = up / "story one.md"
    good.write_text("---\ntitle: Vote\ndate: 2024-01-02\n---\nThe council voted 5 to 2.\n")
    empty = up / "empty.txt"
    empty.write_text("  ")
    pdf = up / "x.pdf"
    pdf.write_bytes(b"%PDF")
    corpus = tmp_path / "corpus"
    assistant = make_assistant()
    report = ingest_uploads(assistant, [good, empty, pdf], corpus)
    assert [p.name for p in report.stored] == ["story-one.md"]
    assert sorted(p.name for p in (corpus / "uploads").iterdir()) == ["story-one.md"]
    text = report.markdown()
    assert "empty.txt** rejected: no article text" in text and "x.pdf** rejected" in text
    assert assistant.stats()["articles"] == 1
    again = ingest_uploads(assistant, [good], corpus)
    assert "already indexed" in again.markdown()
    assert sorted(p.name for p in (corpus / "uploads").iterdir()) == ["story-one.md"]
    assert Path(good).exists()
