"""Date words in questions become ranges relative to the as-of date; ISO dates and times parse."""

from datetime import date

import pytest

from assistant.dates import parse_iso, question_range

TODAY = date(2022, 6, 16)  # a Thursday


@pytest.mark.parametrize(
    ("question", "first", "last"),
    [
        ("What happened yesterday in Congress?", date(2022, 6, 15), date(2022, 6, 15)),
        ("Who won the vote this week?", date(2022, 6, 13), date(2022, 6, 16)),
        ("Who resigned last week?", date(2022, 6, 6), date(2022, 6, 12)),
        ("What did the Fed decide on Tuesday?", date(2022, 6, 14), date(2022, 6, 14)),
        ("Which company went bankrupt in June 2022?", date(2022, 6, 1), date(2022, 6, 16)),
        ("What did the court rule in March?", date(2022, 3, 1), date(2022, 3, 31)),
        ("Who won the election in 2020?", date(2020, 1, 1), date(2020, 12, 31)),
        ("What happened on May 5?", date(2022, 5, 5), date(2022, 5, 5)),
        ("What happened on December 24?", date(2021, 12, 24), date(2021, 12, 24)),
        ("What did the president say last month?", date(2022, 5, 1), date(2022, 5, 31)),
    ],
)
def test_question_ranges(question, first, last):
    found = question_range(question, TODAY)
    assert found is not None and found[:2] == (first, last)


def test_no_date_words_no_range():
    assert question_range("Who claimed the Haifa attack?", TODAY) is None
    assert question_range("What may happen next?", TODAY) is None  # "may" the verb


@pytest.mark.parametrize(
    "value", ["2022-05-20", "2022-05-20T10:00:00", "2022-05-20T10:00:00+02:00", "2022-05-20T10:00Z"]
)
def test_iso_dates_and_timestamps(value):
    assert parse_iso(value) == date(2022, 5, 20)


def test_impossible_date_is_refused():
    with pytest.raises(ValueError):
        parse_iso("2022-13-45")
