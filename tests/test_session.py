"""The UI's conversation: turns, the history the engine hears, filters, streaming, export."""

from datetime import datetime

import pytest

from assistant.errors import InvalidInput, InvalidQuestion
from assistant.session import (
    Filters,
    Turn,
    answer_stream,
    ask,
    export_markdown,
    history,
    question_dates,
    read_filters,
    stream_chunks,
    turn_of_message,
    without_question_dates,
    write_export,
)
from assistant.types import Answer, Citation


class FakeAssistant:
    """Records what the engine was asked and with which history."""

    def __init__(self, reply=None, error=None, tokens=()):
        self.calls = []
        self.reply, self.error, self.tokens = reply, error, tokens

    def ask(self, question, history=None, as_of=None, date_from=None, sources=None,
            on_token=None):  # fmt: skip
        self.calls.append({"question": question, "history": history, "as_of": as_of,
                           "date_from": date_from, "sources": sources})  # fmt: skip
        if self.error:
            raise self.error
        for token in self.tokens:
            on_token(token)
        return self.reply or Answer(f"About {question} [1].", False, [_citation()], question)


def _citation(**over):
    base = dict(n=1, article_id="a1", chunk_id="a1:0", title="Vote <b>", source="Herald",
                url="https://e.org/(v)", published_at="2024-01-02", quote="The council voted.",
                start=0, end=18, passage="The council voted.", passage_start=0)  # fmt: skip
    base.update(over)
    return Citation(**base)


def test_history_holds_answered_turns_only():
    turns = [Turn("Q1", Answer("A1 [1].", False)), Turn("Q2", error="bad date"),
             Turn("Q3", Answer("The articles don't say.", True))]  # fmt: skip
    assert history(turns) == [("Q1", "A1 [1]."), ("Q3", "The articles don't say.")]


def test_a_new_conversation_sends_no_history():
    fake = FakeAssistant(reply=Answer("What does “they” refer to? Ask again.", True))
    turns = [ask(fake, "Which group suspended its attacks?", [], Filters())]
    ask(fake, "Why did they do that?", turns, Filters())
    assert fake.calls[1]["history"] == [("Which group suspended its attacks?",
                                         "What does “they” refer to? Ask again.")]  # fmt: skip
    after_new = ask(fake, "Why did they do that?", [], Filters())  # "New conversation": no turns
    assert fake.calls[2]["history"] == []
    assert after_new.answer.abstained and after_new.answer.citations == []


def test_filters_reach_the_engine_as_its_arguments():
    fake = FakeAssistant()
    ask(fake, "Q?", [], Filters("2024-01-01", "2024-02-01", ("Herald",)))
    assert fake.calls[0] | {"question": None, "history": None} == {
        "question": None, "history": None, "as_of": "2024-02-01",
        "date_from": "2024-01-01", "sources": ["Herald"],
    }  # fmt: skip


def test_errors_become_the_turns_message():
    turn = ask(FakeAssistant(error=InvalidQuestion("The question is empty.")), " ", [], Filters())
    assert turn.answer is None and turn.error == "The question is empty."
    crash = ask(FakeAssistant(error=RuntimeError("boom")), "Q?", [], Filters())
    assert crash.error.startswith("Something went wrong while answering")


def test_read_filters_names_the_fields_of_the_filter_row():
    assert read_filters("2024-01-01", "", ["Herald"]) == Filters("2024-01-01", None, ("Herald",))
    assert read_filters(None, None, None) == Filters()
    with pytest.raises(InvalidInput, match="From: 2024-13-45 is not a valid date"):
        read_filters("2024-13-45", None, [])
    with pytest.raises(InvalidInput, match="Until: 'soon' is not a date"):
        read_filters(None, "soon", [])
    with pytest.raises(InvalidInput, match="From 2024-02-05 is after Until 2024-02-01"):
        read_filters("2024-02-05", "2024-02-01", [])


def test_stream_chunks_grow_to_the_full_text():
    parts = list(stream_chunks("one two three four five six seven", words_per_step=3))
    assert parts[-1] == "one two three four five six seven"
    assert all(b.startswith(a) for a, b in zip(parts, parts[1:], strict=False))


def test_answer_stream_yields_partial_texts_then_the_turn():
    items = list(answer_stream(FakeAssistant(), "the vote and the council plan", [], Filters()))
    *partials, final = items
    assert all(isinstance(p, str) for p in partials) and partials[-1] == final.answer.answer
    assert isinstance(final, Turn) and final.question == "the vote and the council plan"


def test_an_llm_draft_streams_token_by_token_then_the_verified_answer_replaces_it():
    verified = Answer("Kataib Hezbollah paused [1].", False, [_citation()], "Q?")
    fake = FakeAssistant(reply=verified, tokens=["Kataib", " Hezbollah", " paused [2]", "."])
    *partials, final = list(answer_stream(fake, "Q?", [], Filters()))
    assert partials[:4] == ["… Kataib", "… Kataib Hezbollah", "… Kataib Hezbollah paused",
                            "… Kataib Hezbollah paused ."]  # fmt: skip
    assert partials[-1] == verified.answer and final.answer is verified


def test_an_error_streams_no_text():
    items = list(answer_stream(FakeAssistant(error=InvalidInput("no")), "Q?", [], Filters()))
    assert len(items) == 1 and items[0].error == "no"


def test_messages_map_to_their_turns():
    assert [turn_of_message(i) for i in (0, 1, 2, 3)] == [0, 0, 1, 1]
    assert turn_of_message([5, 0]) == 2 and turn_of_message(None) is None


def test_export_lists_questions_answers_and_sources():
    turns = [Turn("Who voted?", Answer("The council [1].", False, [_citation()],
                                      notice="repaired text")),
             Turn("Bad?", error="From: x is not a date"),
             Turn("Who won?", Answer("The articles don't say.", True))]  # fmt: skip
    text = export_markdown(turns, now=datetime(2024, 2, 3, 10, 5))
    assert text.startswith("# Newsdesk conversation\n\nExported 2024-02-03 10:05.\n")
    assert "## 1. Who voted?\n\nThe council [1].\n\n_repaired text_\n\nSources:" in text
    assert "- \\[1\\] [Vote &lt;b&gt;](https://e.org/%28v%29) (Herald, 2024-01-02)" in text
    assert "  > The council voted." in text
    assert "## 2. Bad?\n\n⚠️ From: x is not a date" in text
    assert "## 3. Who won?\n\nThe articles don't say.\n" in text


def test_export_never_links_a_hostile_url():
    turns = [Turn("Q", Answer("A [1].", False, [_citation(url="javascript:alert(1)")]))]
    assert "javascript" not in export_markdown(turns)


def test_write_export_gives_each_export_its_own_file(tmp_path):
    turns = [Turn("Q", Answer("A.", True))]
    first, second = write_export(turns, tmp_path), write_export(turns, tmp_path)
    assert first != second and first.name == "newsdesk-conversation.md"
    assert first.read_text().startswith("# Newsdesk conversation")


def test_the_dates_read_from_a_question_make_a_chip_unless_from_is_set():
    dated = Answer("X [1].", False, [_citation()], date_range=("2024-01-28", "2024-02-03"))
    turns = [Turn("What happened last week?", dated)]
    assert question_dates(turns, Filters()) == ("2024-01-28", "2024-02-03")
    assert question_dates(turns, Filters(date_from="2024-01-01")) is None
    assert question_dates([Turn("Q", Answer("X.", False))], Filters()) is None
    assert question_dates([], None) is None


def test_removing_the_chip_asks_again_over_all_dates():
    first = Turn("Who voted?", Answer("The council [1].", False, [_citation()]))
    dated = Turn("What happened last week?", Answer("X.", False, date_range=("a", "b")))
    date_from, turns, question = without_question_dates([first, dated], "2023-05-01")
    assert (date_from, turns, question) == ("2023-05-01", [first], "What happened last week?")
    fake = FakeAssistant()
    ask(fake, question, turns, read_filters(date_from, None, []))
    assert fake.calls[0]["date_from"] == "2023-05-01"  # explicit: the engine reads no dates
    assert fake.calls[0]["history"] == [("Who voted?", "The council [1].")]
    assert without_question_dates([], "2023-05-01") is None
    assert without_question_dates([dated], None) is None
