"""The UI's logic as plain functions: highlighting, sources, examples, safe uploads."""

import json
import re
from pathlib import Path

import pytest

from assistant.store import ArticleRecord
from assistant.types import Answer, Citation
from assistant.ui import (
    answer_markdown,
    article_rows,
    escape_markdown,
    example_questions,
    highlight_passage,
    ingest_uploads,
    plain_history,
    safe_name,
    safe_url,
    sources_html,
    stream_chunks,
    unescape_markdown,
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


# --- rendering: only http(s) links, every article field escaped ---

HOSTILE = "<script>alert(1)</script> <img src=x onerror=alert(2)> [x](javascript:alert(3))"
LINK = re.compile(r"(?<!\\)\]\(")  # a Markdown link: "](" not escaped


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", " JavaScript:alert(1)", "java\tscript:alert(1)", "data:text/html,x",
     "vbscript:x", "//evil.org/x", "/relative", "https://", "http://a b.org", "ftp://x.org/f",
     "mailto:a@b.org", "https://user@evil.org/", 5, None],
)  # fmt: skip
def test_safe_url_refuses_everything_but_http_and_https(url):
    assert safe_url(url) is None


def test_safe_url_keeps_http_links_and_encodes_quotes_and_brackets():
    assert safe_url("https://e.org/a?b=1&c=2") == "https://e.org/a?b=1&c=2"
    assert safe_url("http://e.org/x'(y)\"<z>") == "http://e.org/x%27%28y%29%22%3Cz%3E"


def test_escape_markdown_shows_markup_as_text():
    escaped = escape_markdown(HOSTILE)
    assert "<" not in escaped and not LINK.search(escaped)
    assert unescape_markdown(escaped) == HOSTILE


def test_hostile_citation_is_escaped_in_sources_panel():
    c = _citation(title=HOSTILE, source=HOSTILE, url="javascript:alert(4)", quote=HOSTILE,
                  passage="", published_at="<b>2024</b>")  # fmt: skip
    html = sources_html(Answer("x [1]", False, [c]))
    assert "<script" not in html and "<img" not in html and "<a " not in html
    assert "javascript:" not in html.replace("[x](javascript:alert(3))", "")
    assert "&lt;script&gt;" in html


def test_hostile_citation_is_escaped_in_the_chat_message():
    c = _citation(title=HOSTILE, source=HOSTILE, url="javascript:alert(4)", quote=HOSTILE)
    text = answer_markdown(Answer(HOSTILE + " [1]", False, [c]))
    assert "<" not in text and not LINK.search(text) and "javascript:alert(4)" not in text
    assert text.split("\n")[0].endswith(" [1]")


def test_http_url_becomes_a_markdown_link():
    text = answer_markdown(Answer("Claim [1]", False, [_citation(url="https://e.org/(a)")]))
    assert "[T &amp; T](https://e.org/%28a%29)" in text


def test_plain_history_undoes_the_escaping_of_answers():
    answer = escape_markdown("Kataib_Hezbollah [1] <x>")
    history = [{"role": "user", "content": "q"}, {"role": "assistant", "content": answer}]
    assert plain_history(history)[1]["content"] == "Kataib_Hezbollah [1] <x>"


def test_article_rows_are_one_line_text():
    assert article_rows([_record("Storm\nhits \ud800")])[0][1] == "Storm hits \ufffd"


# --- uploads: only from the upload folder, nothing stored when refused ---


def _good(folder, name="story.md", text="The council voted 5 to 2 on the harbour plan."):
    path = folder / name
    path.write_text(f"---\ntitle: Vote\ndate: 2024-01-02\n---\n{text}\n")
    return path


def test_upload_outside_the_upload_folder_is_refused_and_nothing_copied(make_assistant, tmp_path):
    root = tmp_path / "upload-root"
    root.mkdir()
    secret = _good(tmp_path, "secret.md", "The vault code is 7741.")
    corpus = tmp_path / "corpus"
    assistant = make_assistant()
    report = ingest_uploads(assistant, [str(secret)], corpus, upload_root=root)
    assert "refused: it did not arrive with this upload" in report.markdown()
    assert not (corpus / "uploads").exists() or not list((corpus / "uploads").iterdir())


def test_symlink_in_the_upload_folder_pointing_outside_is_refused(make_assistant, tmp_path):
    root = tmp_path / "upload-root"
    root.mkdir()
    secret = _good(tmp_path, "secret.md", "The vault code is 7741.")
    (root / "evil.md").symlink_to(secret)
    report = ingest_uploads(make_assistant(), [str(root / "evil.md")], tmp_path / "c", root)
    assert "refused: it did not arrive with this upload" in report.markdown()
    assert not (tmp_path / "c" / "uploads").exists()


def test_dotdot_path_out_of_the_upload_folder_is_refused(make_assistant, tmp_path):
    root = tmp_path / "upload-root"
    root.mkdir()
    _good(tmp_path, "secret.md", "The vault code is 7741.")
    report = ingest_uploads(make_assistant(), [f"{root}/../secret.md"], tmp_path / "c", root)
    assert "refused" in report.markdown()


def test_upload_inside_the_upload_folder_is_taken(make_assistant, tmp_path):
    root = tmp_path / "upload-root"
    (root / "abc123").mkdir(parents=True)
    good = _good(root / "abc123")
    assistant = make_assistant()
    report = ingest_uploads(assistant, [str(good)], tmp_path / "c", root)
    assert "1 article(s) added" in report.markdown() and assistant.stats()["articles"] == 1


def test_upload_never_replaces_another_files_article(make_assistant, tmp_path, seed_corpus):
    assistant = make_assistant()
    assistant.ingest(seed_corpus, progress=False)
    [record] = assistant.articles()
    before = assistant.article_text(record.id)
    hostile = tmp_path / "takeover.jsonl"
    hostile.write_text(json.dumps({"id": record.id, "text": "Nothing happened."}) + "\n")
    report = ingest_uploads(assistant, [hostile], tmp_path / "c")
    assert "belongs to an article of another file" in report.markdown()
    assert assistant.article_text(record.id) == before
    assert not (tmp_path / "c" / "uploads").exists()


def test_rejected_upload_is_never_stored(make_assistant, tmp_path):
    bad = tmp_path / "bad.md"
    bad.write_text("---\ndate: 2022-13-45\n---\nText.\n")
    report = ingest_uploads(make_assistant(), [bad], tmp_path / "c")
    assert "is not a valid date" in report.markdown()
    assert not (tmp_path / "c" / "uploads").exists()


def test_uploaded_names_are_escaped_in_the_report(make_assistant, tmp_path):
    odd = tmp_path / "[x](javascript:alert(1)) <b>.pdf"
    odd.write_bytes(b"%PDF")
    text = ingest_uploads(make_assistant(), [odd], tmp_path / "c").markdown()
    assert "<b>" not in text and not LINK.search(text)


def test_too_many_files_at_once_are_refused(make_assistant, tmp_path):
    report = ingest_uploads(make_assistant(), ["x.md"] * 51, tmp_path / "c")
    assert "upload at most 50" in report.markdown()
