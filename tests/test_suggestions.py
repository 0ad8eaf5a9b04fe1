"""Example questions from the indexed articles and follow-ups to an answer (real spaCy model)."""

from assistant.loading import load_path
from assistant.store import ArticleRecord
from assistant.suggestions import (
    _clean,
    example_questions,
    follow_up_questions,
    question_about,
    ranked,
    topics,
)
from assistant.types import Answer, Citation
from tests.conftest import SEED


def _record(title, article_id=None):
    return ArticleRecord(article_id or "id-" + title, title, "Wire", "2024-01-01", "", "", "",
                         "", 1)  # fmt: skip


def _seed():
    [article], _ = load_path(SEED)
    return article


def _answer(article, quote, question, short=None):
    start = article.text.index(quote)
    cited = Citation(
        1,
        article.id,
        f"{article.id}:0",
        article.title,
        article.source,
        article.published_at,
        "",
        quote,
        start,
        start + len(quote),
        article.text[max(0, start - 200) : start + 300],
        max(0, start - 200),
    )
    return Answer(f"{short or quote} [1].", False, [cited], question=question, short_answer=short)


def test_names_are_cleaned_of_the_and_possessives():
    assert _clean("the Islamic Resistance in Iraq") == ("Islamic Resistance in Iraq", True)
    assert _clean("Iran's") == ("Iran", False)


def test_spacy_overreach_is_not_a_name():
    assert _clean("The National on Thursday") is None
    assert _clean("<script>") is None and _clean("x") is None


def test_topics_merge_mentions_and_rank_specific_names_first():
    found = [
        ("US", "GPE"),
        ("US", "GPE"),
        ("Kataib Hezbollah", "PERSON"),
        ("Kataib Hezbollah", "ORG"),
        ("Kataib Hezbollah", "PERSON"),
        ("Sunday", "DATE"),
    ]
    ordered = ranked(topics(found))
    assert [t.name for t in ordered] == ["Kataib Hezbollah", "US"]
    assert ordered[0].count == 3 and ordered[0].label == "PERSON"


def test_questions_follow_what_the_text_says_of_a_name():
    [group, place, site, other] = topics(
        [("Kataib Hezbollah", "ORG"), ("US", "GPE"), ("Tower 22", "FAC"), ("Nobel Prize", "EVENT")]
    )
    text = "Kataib Hezbollah announced on Tuesday that it was suspending attacks."
    assert question_about(group, text) == "What did Kataib Hezbollah announce?"
    assert question_about(group, "") == "What do the articles say about Kataib Hezbollah?"
    assert question_about(place, text) == "What happened in the US?"
    assert question_about(site) == "What happened at Tower 22?"
    assert question_about(other) == "What do the articles say about Nobel Prize?"


def test_said_before_the_name_counts_too():
    [person] = topics([("Matthew Miller", "PERSON")])
    text = "“We will judge this group,” said State Department spokesman Matthew Miller."
    assert question_about(person, text) == "What did Matthew Miller say?"


def test_examples_from_the_seed_are_several_and_name_what_it_is_about():
    article = _seed()
    record = _record(article.title, article.id)
    questions = example_questions([record], {article.id: article.text}.get)
    assert len(questions) == 4 and len(set(questions)) == 4
    assert "What did Kataib Hezbollah announce?" in questions
    assert "What did the Islamic Resistance in Iraq say?" in questions


def test_examples_take_turns_across_articles():
    questions = example_questions([_record("Storm hits New Orleans overnight"),
                                   _record("Kataib Hezbollah halts attacks")], limit=2)  # fmt: skip
    assert len(questions) == 2
    assert "New Orleans" in questions[0] and "Kataib Hezbollah" in questions[1]


def test_examples_of_nothing_are_none():
    assert example_questions([]) == [] and example_questions([_record("the end")]) == []


def test_follow_ups_ask_about_the_answer_then_its_article():
    article = _seed()
    answer = _answer(article, "Early on Thursday, the Islamic Resistance in Iraq said it had "
                     "launched a drone attack against Israel’s Mediterranean commercial port of "
                     "Haifa.", "Who claimed the Haifa attack?",
                     "The Islamic Resistance in Iraq")  # fmt: skip
    questions = follow_up_questions(answer, article.text)
    assert questions == [
        "What did the Islamic Resistance in Iraq say?",
        "What did Kataib Hezbollah announce?",
        "What happened at Tower 22?",
    ]


def test_follow_ups_skip_what_the_question_already_names():
    article = _seed()
    answer = _answer(article, "Kataib Hezbollah announced on Tuesday that it was suspending "
                     "attacks against US targets after a senior commander of Iran's Islamic "
                     "Revolutionary Guard Corps visited Baghdad, the sources said.",
                     "What did Kataib Hezbollah announce?")  # fmt: skip
    questions = follow_up_questions(answer, article.text, limit=2)
    assert len(questions) == 2 and not any("Kataib Hezbollah" in q for q in questions)


def test_no_follow_ups_for_a_refusal_or_a_question_back():
    assert follow_up_questions(Answer("The articles don't say.", True)) == []
    back = Answer("What does “they” refer to? Ask again with the name.", True)
    assert follow_up_questions(back) == []
