"""What the UI shows, as plain functions: messages, markers, sources, the article view."""

import re

import pytest

from assistant.store import ArticleRecord
from assistant.types import Answer, Citation
from assistant.ui import (
    EMPTY_PANEL,
    answer_markdown,
    answer_message,
    article_choices,
    article_html,
    article_rows,
    chat_messages,
    date_chip,
    escape_markdown,
    header_text,
    highlight_passage,
    marked_html,
    paragraph_spans,
    partial_message,
    safe_url,
    source_entries,
    sources_html,
    sources_panel,
    unescape_markdown,
    welcome_text,
)

HOSTILE = "<script>alert(1)</script> <img src=x onerror=alert(2)> [x](javascript:alert(3))"
LINK = re.compile(r"(?<!\\)\]\(")  # a Markdown link: "](" not escaped
PASSAGE = "First sentence. The <key> sentence here. Last one."


def _citation(**over):
    base = dict(n=1, article_id="a1", chunk_id="a1:0", title="T & T", source="S", url="",
                published_at="2024-01-01", quote="The <key> sentence here.", start=116, end=140,
                passage=PASSAGE, passage_start=100)  # fmt: skip
    base.update(over)
    return Citation(**base)


def _record(title, source="Wire", date="2024-01-01"):
    return ArticleRecord("id-" + title, title, source, date, "", "", "", "", 1)


# --- highlighting ---


def test_highlight_marks_the_quote_inside_its_passage_escaped():
    assert highlight_passage(_citation()) == (
        "First sentence. <mark class='nd-mark' data-n='1'>The &lt;key&gt; sentence "
        "here.</mark> Last one."
    )


def test_highlight_finds_the_quote_when_offsets_disagree():
    assert "<mark class='nd-mark' data-n='1'>The &lt;key&gt;" in highlight_passage(
        _citation(start=101)
    )


def test_highlight_falls_back_to_the_quote_when_the_passage_lacks_it():
    html = highlight_passage(_citation(passage="Something else entirely."))
    assert html == "<mark class='nd-mark' data-n='1'>The &lt;key&gt; sentence here.</mark>"


def test_overlapping_marks_merge_with_both_numbers():
    html = marked_html("abcdefgh", [(1, 4, (1,)), (3, 6, (2,))])
    assert html == "a<mark class='nd-mark' data-n='1 2'>bcdef</mark>gh"


def test_marks_outside_the_text_are_ignored():
    assert marked_html("abc", [(2, 9, (1,))]) == "abc"


# --- chat messages: the answer first, markers lead to the sources ---


def test_answer_message_makes_markers_with_sources_clickable():
    text = answer_message(Answer("Kataib Hezbollah [1].", False, [_citation()]), turn=3)
    assert text.startswith('Kataib Hezbollah <span class="nd-cite nd-t3 nd-n1"')
    assert 'role="button"' in text and ">[1]</span>." in text


def test_answer_message_does_not_repeat_the_sources():
    text = answer_message(Answer("Claim [1].", False, [_citation()]))
    assert "key" not in text and "T &amp; T" not in text and "2024" not in text


def test_a_marker_without_a_source_stays_text():
    text = answer_message(Answer("Claim [1] and [7].", False, [_citation()]))
    assert text.count("nd-cite") == 1 and "[7]" in text


def test_answer_message_adds_the_notice_in_italics():
    answer = Answer(
        "Claim [1].", False, [_citation()], notice="the LLM server could not be reached"
    )
    assert answer_message(answer).endswith("\n\n_the LLM server could not be reached_")


def test_a_question_back_is_shown_plainly():
    back = Answer("What does “they” refer to? Nothing earlier in this conversation says.", True)
    assert answer_message(back) == back.answer
    assert "<mark" not in sources_html(back) and "No sources" in sources_html(back)


def test_hostile_answer_text_stays_text_in_the_message():
    text = answer_message(Answer(HOSTILE + " [1]", False, [_citation()]))
    tags = re.findall(r"<[a-z]+", text)
    assert tags == ["<span"] and not LINK.search(text)


def test_numbered_brackets_in_quoted_text_never_make_a_link():
    """Clause answers quote the article: its "[2](http://…)" or "[3]: http://…" must not turn
    a marker without a source into a link, in any of the answer's Markdown forms."""
    from markdown_it import MarkdownIt

    text = "[3]: https://evil.example/d see [2](https://evil.example/a) [4][3] and [3] [1]."
    answer = Answer(text, False, [_citation()])
    for shown in (answer_message(answer), partial_message(text), answer_markdown(answer)):
        rendered = MarkdownIt("commonmark").render(shown)
        assert "evil.example" in rendered and "<a " not in rendered


def test_partial_message_says_it_is_searching_until_words_come():
    assert (
        "Searching" in partial_message("") and partial_message("The group [1") == "The group \\[1"
    )


def test_chat_messages_are_two_per_turn_with_errors_and_the_pending_answer():
    from assistant.session import Turn

    turns = [
        Turn("Who? <b>", Answer("X [1].", False, [_citation()])),
        Turn("Bad", error="no *date*"),
    ]
    messages = chat_messages(turns, pending=("Next?", "Partial"))
    assert [m["role"] for m in messages] == ["user", "assistant"] * 3
    assert messages[0]["content"] == "Who? &lt;b&gt;"
    assert "nd-t0 nd-n1" in messages[1]["content"]
    assert messages[3]["content"] == "⚠️ no \\*date\\*" and messages[5]["content"] == "Partial"


# --- sources: once, one entry per passage ---


def test_sources_html_lists_numbered_sources_with_links():
    answer = Answer("x [1]", False, [_citation(url="https://e.org/a?b=1&c=2")])
    html = sources_html(answer)
    assert "<span class='nd-num'>[1]</span>" in html
    assert "href='https://e.org/a?b=1&amp;c=2'" in html
    assert "T &amp; T" in html and "2024-01-01" in html
    assert "data-article='a1'" in html and "Read the whole article" in html


def test_two_citations_of_one_passage_make_one_entry_with_both_marks():
    first = _citation(n=1, quote="First sentence.", start=100, end=115)
    second = _citation(n=2)
    other = _citation(n=3, chunk_id="a1:1", passage="Elsewhere.", quote="Elsewhere.",
                      start=500, end=510, passage_start=500)  # fmt: skip
    assert [e.numbers for e in source_entries([second, first, other])] == [(1, 2), (3,)]
    html = sources_html(Answer("x [1] [2] [3]", False, [first, second, other]))
    assert html.count("class='nd-source'") == 2 and html.count("First sentence") == 1
    assert "data-cites=' 1 2 '" in html and html.count("<mark") == 3


def test_refusal_has_no_sources():
    refusal = Answer("The articles don't say.", True)
    assert "<mark>" not in sources_html(refusal)
    assert answer_markdown(refusal) == "The articles don't say."


def test_sources_panel_keeps_every_answer_and_shows_the_latest():
    turns = [("First <q>?", Answer("A [1]", False, [_citation()])), ("Oops", None),
             ("Last?", Answer("B [1]", False, [_citation(title="Other")]))]  # fmt: skip
    html = sources_panel(turns)
    sections = re.findall(r"<section class='nd-turn' data-turn='(\d)'( hidden)?>", html)
    assert sections == [("0", " hidden"), ("1", " hidden"), ("2", "")]
    assert "Sources for “First &lt;q&gt;?”" in html and "data-turn='2'>Read" in html
    assert sources_panel([]) == EMPTY_PANEL


def test_answer_markdown_keeps_the_answer_on_the_first_line():
    text = answer_markdown(Answer("Claim [1]", False, [_citation()]))
    assert text.split("\n")[0] == "Claim [1]"
    assert "> The &lt;key&gt; sentence here." in text  # article text is escaped


# --- the whole article ---

ARTICLE = "Intro line.\n\nThe <key> sentence here. More.\n\n\nLast paragraph."


def test_paragraph_spans_split_on_blank_lines():
    assert [ARTICLE[s:e] for s, e in paragraph_spans(ARTICLE)] == [
        "Intro line.", "The <key> sentence here. More.", "Last paragraph."]  # fmt: skip


def test_article_view_marks_the_cited_sentences_in_their_paragraphs():
    start = ARTICLE.index("The <key>")
    cited = _citation(start=start, end=start + 24, url="https://e.org/x")
    html = article_html("a1", ARTICLE, "Title <i>", "Wire", "2024-01-01", cited.url, [cited])
    assert html.count("<p>") == 3
    assert (
        "<p><mark class='nd-mark' data-n='1'>The &lt;key&gt; sentence here.</mark> More.</p>"
        in html
    )
    assert "Title &lt;i&gt;" in html and "href='https://e.org/x'" in html
    assert "Highlighted: the sentences the answer cites ([1])" in html


def test_article_view_of_a_removed_article_says_so():
    assert "no longer in the index" in article_html("gone", None)


def test_article_view_escapes_a_hostile_article():
    html = article_html("a1", HOSTILE, HOSTILE, HOSTILE, "<b>", "javascript:alert(4)")
    assert "<script" not in html and "<img" not in html and "<a " not in html


# --- the article list and status lines ---


def test_article_rows_filter_by_title_or_source():
    records = [_record("Storm hits", "Wire"), _record("Vote counted", "Herald")]
    assert article_rows(records, "herald") == [["2024-01-01", "Herald", "Vote counted"]]
    assert len(article_rows(records, "")) == 2


def test_article_choices_name_date_source_and_title():
    [(label, value)] = article_choices([_record("Storm " + "x" * 100, date="")])
    assert label.startswith("undated · Wire · Storm x") and label.endswith("…")
    assert value == "id-Storm " + "x" * 100


def test_header_counts_articles_and_sources():
    records = [_record("A", "Wire"), _record("B", "Herald", "2024-02-03")]
    assert header_text(records) == "**2 articles** from 2 sources, newest 2024-02-03."
    assert header_text([_record("A")]).startswith("**1 article** from 1 source")
    assert "Corpus" in header_text([]) and header_text([], "No index").startswith("⚠️")


def test_welcome_text_counts_the_articles():
    assert "**1 indexed article**" in welcome_text(1)
    assert "**12 indexed articles**" in welcome_text(12) and "upload some" in welcome_text(0)


def test_date_chip_names_the_range_read_from_the_question():
    assert date_chip(("2024-01-28", "2024-02-03")) == (
        "Dates from your question: 28 Jan 2024 – 3 Feb 2024 ✕"
    )
    assert date_chip(("2024-02-03", "2024-02-03")) == "Dates from your question: 3 Feb 2024 ✕"
    assert date_chip(None) == ""


# --- rendering: only http(s) links, every article field escaped ---


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


def test_article_rows_are_one_line_text():
    assert article_rows([_record("Storm\nhits \ud800")])[0][2] == "Storm hits \ufffd"
