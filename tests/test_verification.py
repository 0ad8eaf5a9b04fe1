"""Verification of model answers against numbered evidence, on hand-written model outputs."""

import pytest

from assistant.types import Citation
from assistant.verification import (
    check_answer,
    check_sentence,
    is_refusal,
    numbers,
    parse_markers,
    split_sentences,
)

HAIFA = (
    "Early on Thursday, the Islamic Resistance in Iraq said it had launched a drone attack "
    "against Israel’s Mediterranean commercial port of Haifa."
)
TOWER = (
    "The previous day, the US blamed the Islamic Resistance in Iraq for the attack on the "
    "Tower 22 base in Jordan, which killed three American soldiers and wounded about 40."
)
SUSPEND = (
    "Kataib Hezbollah announced on Tuesday that it was suspending attacks against US targets "
    "after a senior commander of Iran's Islamic Revolutionary Guard Corps visited Baghdad."
)


def cite(n: int, quote: str, title: str = "Iran urges militias to de-escalate") -> Citation:
    return Citation(n, "a1", "a1:0", title, "thenationalnews.com", "2024-02-01", "", quote, 0,
                    len(quote))  # fmt: skip


EVIDENCE = [cite(1, HAIFA), cite(2, TOWER), cite(3, SUSPEND)]


def one(text: str):
    return check_sentence(text, EVIDENCE)


def test_supported_sentence():
    check = one("The Islamic Resistance in Iraq claimed the Haifa attack [1].")
    assert check.supported and check.markers == (1,)


def test_rendering_puts_markers_before_the_full_stop():
    assert one("The Islamic Resistance in Iraq claimed the Haifa attack. [1]").render() == (
        "The Islamic Resistance in Iraq claimed the Haifa attack [1]."
    )


def test_out_of_range_marker_is_unsupported():
    check = one("The Islamic Resistance in Iraq claimed the Haifa attack [4].")
    assert not check.supported and "out of range" in check.reason


def test_marker_zero_is_out_of_range():
    assert not one("The Islamic Resistance in Iraq claimed the Haifa attack [0].").supported


def test_no_markers_is_unsupported():
    check = one("The Islamic Resistance in Iraq claimed the Haifa attack.")
    assert not check.supported and check.reason == "no markers"


def test_a_name_missing_from_the_evidence():
    check = one("Hamas claimed the Haifa attack [1].")
    assert not check.supported and "hamas" in check.reason


def test_a_number_missing_from_the_evidence():
    check = one("The attack on Tower 22 killed two American soldiers [2].")
    assert not check.supported and "2" in check.reason


def test_number_words_and_digits_are_the_same_number():
    assert one("The attack on Tower 22 killed 3 American soldiers [2].").supported


def test_a_wrong_scale_is_unsupported():
    assert not one("The attack killed three million American soldiers [2].").supported


def test_a_date_missing_from_the_evidence():
    assert not one("Kataib Hezbollah suspended its attacks on Friday [3].").supported


def test_the_article_date_counts_as_evidence():
    # the prompt shows each item's date; "February 1, 2024" is how a model writes 2024-02-01
    assert one("On February 1, 2024, the Islamic Resistance in Iraq claimed Haifa [1].").supported


def test_inflected_names_are_accepted():
    assert one("Iranian pressure led Kataib Hezbollah to suspend its attacks [3].").supported


def test_wrong_but_backed_citation_is_re_cited():
    check = one("Kataib Hezbollah suspended its attacks against US targets [1].")
    assert check.supported and check.markers == (3,) and "re-cited" in check.reason


def test_claim_backed_by_no_item_stays_unsupported():
    check = one("Kataib Hezbollah claimed the Haifa attack [1].")
    assert not check.supported


def test_unrelated_citation_without_names_is_unsupported():
    check = one("Officials feared a wider regional escalation between powers [1].")
    assert not check.supported and "something else" in check.reason


def test_i_dont_know_is_an_abstention():
    checks, abstained = check_answer("I don't know.", EVIDENCE)
    assert abstained and not any(c.supported for c in checks)


@pytest.mark.parametrize(
    "text",
    ["I do not know.", "The evidence does not say who won [1].", "I cannot answer that.",
     "The articles don't mention the winner."],
)  # fmt: skip
def test_refusal_phrasings(text):
    assert is_refusal(text)


def test_a_plain_answer_is_not_a_refusal():
    assert not is_refusal("The Islamic Resistance in Iraq claimed the Haifa attack [1].")


def test_a_supported_sentence_beside_a_refusal_still_answers():
    text = "The Islamic Resistance in Iraq claimed the attack [1]. The evidence does not say why."
    checks, abstained = check_answer(text, EVIDENCE)
    assert not abstained and [c.supported for c in checks] == [True, False]


def test_empty_output_is_an_abstention():
    assert check_answer("   ", EVIDENCE) == ([], True)


def test_mixed_answer_keeps_the_supported_sentence_only():
    text = "Kataib Hezbollah suspended its attacks [3]. Hamas praised the decision [3]."
    checks, abstained = check_answer(text, EVIDENCE)
    assert not abstained and [c.supported for c in checks] == [True, False]


@pytest.mark.parametrize(
    "text,expected",
    [("a [1]", (1,)), ("a [1, 3]", (1, 3)), ("a [1][2]", (1, 2)), ("a [1-3]", (1, 2, 3)),
     ("none", ())],
)  # fmt: skip
def test_parse_markers(text, expected):
    assert parse_markers(text) == expected


def test_split_sentences_keeps_markers_after_the_stop_and_abbreviations_whole():
    text = "U.S. officials blamed the group. [2] Kataib Hezbollah paused [3]. Then calm [1]."
    assert split_sentences(text) == [
        "U.S. officials blamed the group. [2]",
        "Kataib Hezbollah paused [3].",
        "Then calm [1].",
    ]


def test_numbers_normalise_thousands_and_words():
    assert numbers("1,200 people and twenty-one cars, about 40") == {"1200", "20", "1", "40"}


def test_names_from_the_question_count_as_given():
    text = "Washington blamed the Islamic Resistance in Iraq for the attack on Tower 22 [2]."
    assert not one(text).supported
    question = "Who did Washington blame for the attack on the US base in Jordan?"
    assert check_sentence(text, EVIDENCE, question).supported


def test_a_question_name_does_not_excuse_a_new_one():
    question = "Who won the 2022 FIFA World Cup?"
    check = check_sentence("Argentina won the 2022 FIFA World Cup [1].", EVIDENCE, question)
    assert not check.supported and "argentina" in check.reason


def test_not_mentioned_in_the_evidence_is_an_abstention():
    assert check_answer("The population of Haifa is not mentioned in the given evidence.",
                        EVIDENCE)[1]  # fmt: skip


def test_both_is_not_a_number():
    assert numbers("both killing US troops") == set()
