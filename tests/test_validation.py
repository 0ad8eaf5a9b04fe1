"""Input checks as pure functions: every bad shape is read correctly or refused with our error."""

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from assistant.conversation import Turn, normalize_history
from assistant.errors import InvalidInput, InvalidQuestion
from assistant.types import Answer
from assistant.validation import (
    check_date,
    check_date_range,
    check_flag,
    check_history,
    check_path,
    check_question,
    check_sources,
    find_date,
    repair_text,
)

LIMIT = 1000


# --- questions ---


def test_question_is_normalized_to_one_line():
    assert check_question("  who\n won\tthe  vote? ", LIMIT).text == "who won the vote?"


def test_lone_surrogate_is_repaired_with_a_notice():
    checked = check_question("who won \ud800 the vote?", LIMIT)
    assert checked.text == "who won \ufffd the vote?"
    assert "replaced with U+FFFD" in checked.notice


def test_surrogateescaped_byte_from_argv_is_repaired():
    assert check_question("who won \udcff the vote?", LIMIT).text == "who won \ufffd the vote?"


def test_repaired_question_is_valid_utf8():
    check_question("a \ud800\udc00 b \udfff", LIMIT).text.encode("utf-8")


def test_surrogate_pair_is_joined_not_replaced():
    assert repair_text("\ud83d\ude00") == ("\U0001f600", 0)


def test_control_characters_become_spaces():
    assert check_question("who\x00won\x07?", LIMIT).text == "who won ?"


def test_only_invalid_text_is_refused_and_says_so():
    with pytest.raises(InvalidQuestion, match="only invalid text"):
        check_question("\udcff\udcfe", LIMIT)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "No question was given"),
        (b"who won?", "is bytes, not text"),
        (5, "is a number"),
        (2.5, "is a number"),
        (["who?"], "must be text \\(str\\), not list"),
        ("", "question is empty"),
        ("  \n ", "question is empty"),
        ("x" * 1001, "limit is 1,000"),
    ],
)
def test_bad_questions_have_distinct_messages(value, message):
    with pytest.raises(InvalidQuestion, match=message):
        check_question(value, LIMIT)


# --- histories ---


@pytest.mark.parametrize(
    "history",
    ["hello", ["a", "b"], [("a", "b", "c")], [{"x": 1}], [None, None], 5,
     [{"role": "user", "content": 5}], {"role": "user", "content": "q"}, b"x",
     [{"role": "robot", "content": "q"}], [("q", 5)], (x for x in [("q", "a")])],
)  # fmt: skip
def test_bad_history_shapes_are_refused_with_our_error(history):
    with pytest.raises(InvalidInput, match="history"):
        check_history(history)


def test_history_error_names_the_item():
    with pytest.raises(InvalidInput, match=r"history\[1\]: a turn is a \(question, answer\)"):
        check_history([("q", "a"), ("a", "b", "c")])


def test_flat_pair_gets_a_hint():
    with pytest.raises(InvalidInput, match=r"For one turn, pass \[\('a', 'b'\)\]"):
        check_history(["a", "b"])


def test_pairs_are_read():
    assert check_history([("q", "a"), ["q2", None]]) == [Turn("q", "a"), Turn("q2", "")]


def test_openai_messages_are_read():
    messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "q"},
                {"role": "assistant", "content": "a"}]  # fmt: skip
    assert check_history(messages) == [Turn("q", "a")]


def test_gradio_messages_with_content_parts_are_read():
    messages = [
        {"role": "user", "content": [{"type": "text", "text": "q"}], "metadata": None},
        {"role": "assistant", "content": [{"type": "text", "text": "a"},
                                           {"type": "file", "file": {"path": "/x.png"}}]},
    ]  # fmt: skip
    assert check_history(messages) == [Turn("q", "a")]


def test_answers_turns_and_dicts_are_read():
    answer = Answer("a", False, question="q")
    history = [answer, Turn("q2", "a2"), {"question": "q3", "answer": "a3"}]
    assert check_history(history) == [Turn("q", "a"), Turn("q2", "a2"), Turn("q3", "a3")]


def test_history_text_is_repaired():
    assert check_history([("q \ud800", "a")]) == [Turn("q \ufffd", "a")]


def test_empty_histories():
    assert check_history(None) == [] and check_history([]) == [] and check_history(()) == []


def test_normalize_history_raises_our_error():
    with pytest.raises(InvalidInput):
        normalize_history([None, None])


def test_long_history_keeps_the_latest_turns():
    turns = check_history([(f"q{i}", f"a{i}") for i in range(500)])
    assert len(turns) == 100 and turns[-1] == Turn("q499", "a499")


# --- sources ---


def test_one_source_string_is_one_source_not_characters():
    assert check_sources("cnn.com") == ("cnn.com",)


def test_source_list_is_stripped_and_deduplicated():
    assert check_sources([" cnn.com", "bbc.com", "cnn.com", ""]) == ("cnn.com", "bbc.com")


@pytest.mark.parametrize("sources", [[1, 2], ["cnn.com", None], b"cnn.com", 5, {"a": 1}])
def test_bad_sources_are_refused(sources):
    with pytest.raises(InvalidInput, match="sources"):
        check_sources(sources)


def test_no_sources_means_all():
    assert check_sources(None) == () and check_sources("") == () and check_sources([]) == ()


# --- dates ---


@pytest.mark.parametrize(
    "value",
    ["2022-05-20", "2022-05-20T10:00:00", "2022-05-20T10:00:00Z", "2022-05-20T10:00:00+02:00",
     "2022-05-20 10:00", "2022-05-20T10:00:00.123456Z", " 2022-05-20 ",
     date(2022, 5, 20), datetime(2022, 5, 20, 23, 0, tzinfo=UTC)],
)  # fmt: skip
def test_dates_and_timestamps_are_accepted(value):
    assert check_date(value, "as_of") == date(2022, 5, 20)


def test_impossible_date_names_field_and_value():
    with pytest.raises(InvalidInput) as caught:
        check_date("2022-13-45", "as_of")
    assert str(caught.value) == "as_of: 2022-13-45 is not a valid date (YYYY-MM-DD)."


@pytest.mark.parametrize(
    ("value", "message"),
    [("last week", "is not a date"), ("2022-05-20T25:00", "not a valid timestamp"),
     ("2022-02-29", "not a valid date"), (20220520, "is not a date"),
     ("2022-05-20x", "not a date")],
)  # fmt: skip
def test_bad_dates_are_refused(value, message):
    with pytest.raises(InvalidInput, match=message):
        check_date(value, "date_from")


def test_empty_date_is_no_filter():
    assert check_date(None, "as_of") is None and check_date("", "as_of") is None


def test_date_inside_text_is_found_for_articles_only():
    assert find_date("Published 2022-05-20 by Wire", "date") == date(2022, 5, 20)
    with pytest.raises(InvalidInput):
        check_date("Published 2022-05-20 by Wire", "date")


def test_reversed_range_is_refused():
    with pytest.raises(InvalidInput, match="swap them"):
        check_date_range(date(2024, 3, 1), date(2024, 2, 1))


# --- paths and flags ---


def test_paths():
    assert check_path("corpus", "path") == Path("corpus")
    assert check_path(b"corpus", "path") == Path("corpus")


@pytest.mark.parametrize("value", [None, 5, "", "a\x00b", "x\ud800"])
def test_bad_paths_are_refused(value):
    with pytest.raises(InvalidInput, match="path"):
        check_path(value, "path")


def test_flags_must_be_booleans():
    assert check_flag(True, "sync") is True
    with pytest.raises(InvalidInput, match="sync must be True or False"):
        check_flag("yes", "sync")


def test_error_messages_are_one_line():
    with pytest.raises(InvalidInput) as caught:
        check_date("2022-05-20\nT10:00", "as_of")
    assert "\n" not in str(caught.value)
