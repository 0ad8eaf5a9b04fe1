"""What a question asks for: kind, head noun, role (spaCy's tags, no topics)."""

import pytest

from assistant.questions import analyze


@pytest.mark.parametrize(
    ("question", "kind", "head"),
    [
        ("How much was Instagram fined this week?", "money", ""),
        ("How many hot dogs did Joey Chestnut devour?", "number", "dog"),
        ("How many years is she due to serve?", "number", "year"),
        ("A teenager flew around the world. How old is he?", "age", "age"),
        ("When will NASA next attempt the launch?", "date", ""),
        ("Why did it do that?", "reason", ""),
        ("How did the State Department respond?", "manner", ""),
        ("Which island nation plunged into chaos?", "place", "nation"),
        ("Which head of state vowed to retaliate?", "person", "head"),
        ("Which Mediterranean harbour did the drone target?", "place", "harbour"),
        ("Where is the glacier located?", "place", ""),
        ("Which airline announced a deal to buy Spirit Airlines?", "organization", "airline"),
        ("Which popular singer will launch a Las Vegas residency?", "person", "singer"),
        ("Who claimed the Haifa attack?", "agent", ""),
        ("NASA released images this week. What did the images show?", "clause", ""),
        ("The IRS announced it will do what this week?", "clause", ""),
        ("Which menu item did KFC roll out this week?", "entity", "item"),
        ("What is the largest bloc in Iraq's parliament?", "organization", "bloc"),
        ("What percentage of voters approved it?", "percent", "percentage"),
        ("Has Israel confirmed the attack?", "yesno", ""),
        ("Did Kataib Hezbollah suspend its attacks?", "yesno", ""),
    ],
)
def test_kind_and_head(question, kind, head):
    frame = analyze(question)
    assert (frame.kind, frame.head) == (kind, head)


def test_the_last_sentence_asks():
    frame = analyze("Vin Scully died this week at 94. Which team did he call games for?")
    assert (frame.kind, frame.head) == ("organization", "team")
    assert "scully" in frame.focus  # the preamble still says what the question is about


def test_subject_questions():
    assert analyze("Who claimed the Haifa attack?").subject
    assert analyze("Which group announced it was suspending attacks?").subject
    assert not analyze("Who did Washington blame for the attack?").subject


def test_kind_of_question_wants_a_qualifier():
    frame = analyze("What kind of attack did the group launch against Haifa?")
    assert frame.variety and frame.head == "attack"


def test_modifiers_of_the_counted_noun():
    assert analyze("How many Iranian soldiers were killed?").modifiers == ("iranian",)
    assert analyze("How many soldiers were killed?").modifiers == ()


@pytest.mark.parametrize(
    ("question", "slot"),
    [
        ("Which group announced it was suspending attacks?", ("announce", "subj")),
        ("Who confirmed the IRGC commander's visit?", ("confirm", "subj")),
        ("Which product was recalled by Tyson?", ("recall", "obj")),  # passive: an object
        ("Who did he meet there?", ("meet", "obj")),
        ("In which city did the attack happen?", ("happen", "in")),
    ],
)
def test_slot_the_wh_phrase_fills(question, slot):
    assert analyze(question).slot[:2] == slot


def test_a_passive_agent_fills_the_subject_slot():
    from assistant.nlp import parse
    from assistant.questions import slot_of

    doc = parse(["The visit was confirmed by an Iraqi politician."])[0]
    politician = next(t for t in doc if t.lower_ == "politician")
    assert slot_of(politician)[:2] == ("confirm", "subj")


def test_who_is_the_role_asks_for_a_name_given_that_role():
    leader = analyze("Who is the leader of Kataib Hezbollah?")
    assert (leader.kind, leader.head, leader.named) == ("person", "leader", True)
    assert not analyze("Who was the attack attributed to?").named  # not a role


def test_the_doer_is_the_subject_the_question_names():
    assert analyze("What did the Israeli army say about the damage?").doer == ("israeli", "army")
    assert analyze("What did he say?").doer == ()  # a pronoun may be anyone
    assert analyze("Which group announced a pause?").doer == ()  # the subject is asked for


def test_a_described_person_is_no_role():
    assert not analyze("Who was the man who shot the mayor?").named
    assert analyze("Who's the leader of the party?").named


@pytest.mark.parametrize(
    ("question", "described"),
    [("Which group did he say the umbrella group contains?", (("umbrella", "organization"),)),
     ("Who is the White House National Security Council spokesman?", ()),  # asks who that is
     ("Which armed group did the Americans say is part of the umbrella organisation?",
      (("umbrella", "organization"),))],
)  # fmt: skip
def test_what_the_question_itself_describes(question, described):
    assert analyze(question).described == described
