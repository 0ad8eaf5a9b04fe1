"""Pure parts of the answerer: what a question asks for, and whether a sentence has it."""

import pytest

from assistant.answering import _question_words, answer_names, matches_type
from assistant.entities import entities, expected_labels


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How much was Instagram fined this week?", "money"),
        ("How many hot dogs did he eat?", "number"),
        ("How old is he?", "number"),
        ("When will NASA next attempt the launch?", "date"),
        ("Why did it do that?", "reason"),
        ("Which island nation plunged into chaos?", "place"),
        ("Where is the glacier located?", "place"),
        ("Which airline announced a deal?", "organization"),
        ("Which popular singer will launch a residency?", "name"),
        ("Who claimed the Haifa attack?", "name"),
        ("What did the images show?", "entity"),
        ("Tell me more", "other"),
    ],
)
def test_expected_kind(question, kind):
    assert expected_labels(question)[0] == kind


def _check(question, sentence):
    kind, labels = expected_labels(question)
    return matches_type(kind, labels, sentence, entities([sentence])[0], _question_words(question))


def test_place_question_needs_a_new_place():
    question = "Which state approved the measure?"
    assert _check(question, "Maryland voters approved the amendment on Tuesday.")
    assert not _check(question, "Voters approved the amendment on Tuesday.")


def test_a_name_already_in_the_question_does_not_count():
    question = "What did Joe Biden say about the pandemic?"
    kind, labels = expected_labels("Who said it?")
    found = entities(["Joe Biden said it was over."])[0]
    assert not matches_type(kind, labels, "Joe Biden said it.", found, _question_words(question))


def test_money_question_needs_an_amount():
    question = "How much was Instagram fined?"
    assert _check(question, "Regulators fined Instagram $402 million on Friday.")
    assert not _check(question, "Regulators fined Instagram on Friday.")


def test_reason_question_needs_a_cause():
    assert _check("Why did it do that?", "It stopped to prevent embarrassment to the government.")
    assert not _check("Why did it do that?", "It stopped on Tuesday.")


def test_answer_names_skip_bylines_and_question_words():
    found = [("CNN", "ORG"), ("Delta", "ORG"), ("JetBlue", "ORG")]
    names = answer_names("organization", frozenset({"ORG"}), found, {"jetblue"}, {"cnn"})
    assert names == ["delta"]
