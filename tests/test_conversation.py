"""Follow-up detection and resolution against earlier turns (no models needed)."""

from datetime import date

import pytest

from assistant.conversation import Turn, is_follow_up, normalize_history, resolve
from assistant.errors import AssistantError


@pytest.mark.parametrize(
    ("question", "follow_up"),
    [
        ("What did he say about the attack in Jordan?", True),
        ("Has Israel confirmed it?", True),
        ("Why did they do that?", True),
        ("How many soldiers were killed there?", True),
        ("And the second one?", True),
        ("Which port did the Islamic Resistance in Iraq say it attacked with a drone?", False),
        ("Which group announced it was suspending attacks against US targets?", False),
        ("Which city did the IRGC commander visit on Tuesday?", False),
        ("They launched drones from which Iraqi base?", True),  # no name before "they"
    ],
)
def test_follow_up_detection(question, follow_up):
    assert is_follow_up(question) is follow_up


def test_follow_up_borrows_the_previous_answer_and_question():
    history = [Turn("Which city did the IRGC commander visit?", "Baghdad [1].")]
    resolved = resolve("Who did he meet there?", history)
    assert "baghdad" in resolved.referents and "commander" in resolved.referents
    assert resolved.search_query.startswith("Who did he meet there?")


def test_a_refusal_is_not_borrowed():
    history = [Turn("Who won the World Cup?", "The articles don't say: nothing answers this.")]
    resolved = resolve("Where was it played?", history)
    assert "articles" not in resolved.referents and "cup" in resolved.referents


def test_pronoun_without_history_is_unresolved():
    assert resolve("Why did they do that?", []).unresolved == "they"
    assert resolve("Who claimed the Haifa attack?", []).unresolved == ""


def test_a_question_asked_back_is_not_what_a_follow_up_refers_to():
    from assistant.conversation import clarifying_question

    asked_back = Turn("Why did they do that?", clarifying_question("they"))
    assert resolve("Why did they do that?", [asked_back]).unresolved == "they"
    # asked again with the name, as the reply says: answered, not asked back again
    again = resolve("Why did Hezbollah do that?", [asked_back])
    assert again.unresolved == "" and again.search_query == "Why did Hezbollah do that?"
    history = [Turn("Which city did the IRGC commander visit?", "Baghdad [1]."), asked_back]
    resolved = resolve("Who did he meet there?", history)  # the turn before it counts
    assert "baghdad" in resolved.referents and "nothing" not in resolved.referents


def test_standalone_question_keeps_its_own_words():
    history = [Turn("Which city did the IRGC commander visit?", "Baghdad [1].")]
    resolved = resolve("Which port did the Islamic Resistance in Iraq say it attacked?", history)
    assert resolved.referents == () and resolved.context == ""


def test_date_range_from_the_question():
    resolved = resolve("Who resigned last week?", [], as_of=date(2022, 6, 16))
    assert resolved.date_range == (date(2022, 6, 6), date(2022, 6, 12))
    assert resolved.date_phrase == "last week"


@pytest.mark.parametrize(
    "history",
    [
        [("Q?", "A.")],
        [{"role": "user", "content": "Q?"}, {"role": "assistant", "content": "A."}],
        [{"role": "user", "content": [{"type": "text", "text": "Q?"}]},
         {"role": "assistant", "content": "A."}],
    ],
)  # fmt: skip
def test_history_shapes(history):
    assert normalize_history(history) == [Turn("Q?", "A.")]


@pytest.mark.parametrize(
    "history", ["hello", ["a", "b"], [("a", "b", "c")], [{"x": 1}], [None, None], 5,
                [{"role": "user", "content": 5}]],
)  # fmt: skip
def test_bad_history_is_our_error(history):
    with pytest.raises(AssistantError):
        normalize_history(history)
