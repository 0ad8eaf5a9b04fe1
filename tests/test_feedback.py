"""Thumbs up and down stored as JSON Lines with the question, answer and citations."""

import json
import threading
from datetime import UTC, datetime

import pytest

from assistant.feedback import feedback_record, rating, read_feedback, record_feedback
from assistant.session import Turn
from assistant.types import Answer, Citation

CITED = Citation(1, "a1", "a1:0", "Vote", "Herald", "2024-01-02", "", "The council voted.",
                 0, 18, "The council voted.", 0)  # fmt: skip


def _turn():
    return Turn(
        "Who voted?",
        Answer(
            "The council [1].",
            False,
            [CITED],
            "Who voted?",
            search_query="Who voted? council",
            short_answer="The council",
        ),
    )


def test_ratings_are_words():
    assert [rating(x) for x in (True, False, "Like", "Dislike", "Off topic")] == [
        "like", "dislike", "like", "dislike", "off topic"]  # fmt: skip


def test_a_record_holds_question_answer_and_citations():
    record = feedback_record(_turn(), False, now=datetime(2024, 2, 3, tzinfo=UTC))
    assert record["time"] == "2024-02-03T00:00:00+00:00" and record["rating"] == "dislike"
    assert record["question"] == "Who voted?" and record["answer"] == "The council [1]."
    assert record["short_answer"] == "The council" and record["search_query"].endswith("council")
    assert record["citations"][0]["quote"] == "The council voted."
    assert record["citations"][0]["article_id"] == "a1"


def test_only_answers_are_rated():
    with pytest.raises(ValueError):
        feedback_record(Turn("Q", error="bad"), True)


def test_records_append_one_json_line_each_even_concurrently(tmp_path):
    path = tmp_path / "data" / "feedback.jsonl"
    threads = [threading.Thread(target=record_feedback, args=(path, _turn(), i % 2 == 0))
               for i in range(20)]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = path.read_text().splitlines()
    assert len(lines) == 20 and all(json.loads(line)["question"] == "Who voted?" for line in lines)
    assert sorted(r["rating"] for r in read_feedback(path)) == ["dislike"] * 10 + ["like"] * 10
    assert read_feedback(tmp_path / "none.jsonl") == []


def test_a_question_with_a_lone_surrogate_is_saved_readable(tmp_path):
    turn = _turn()
    turn = Turn("Who voted \ud800 first?", turn.answer)
    path = tmp_path / "feedback.jsonl"
    record_feedback(path, turn, True)
    [saved] = read_feedback(path)
    assert saved["question"] == "Who voted \ufffd first?" and saved["rating"] == "like"


def test_a_file_that_cannot_be_written_is_our_one_line_error(tmp_path):
    from assistant.errors import AssistantError

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with pytest.raises(AssistantError, match="Cannot save the rating"):
        record_feedback(blocker / "feedback.jsonl", _turn(), False)
