"""Stored parses: what reading loads instead of parsing gives the same answers, stays in step
with the index, and never breaks answering (damaged file, another pipeline, a failed worker)."""

import shutil
import sqlite3

import pytest

from assistant import nlp, parses
from tests.conftest import SEED, write_article

QUESTIONS = [
    "Who claimed the Haifa attack?",
    "How many soldiers died?",
    "Has Israel confirmed the drone attack on Haifa claimed by the Islamic Resistance in Iraq?",
    "Which base in Syria did the network claim to have attacked?",
    "How old is John Kirby?",
]


def _annotations(doc):
    return [(t.text, t.whitespace_, t.tag_, t.pos_, str(t.morph), t.lemma_, t.dep_, t.head.i,
             t.ent_iob_, t.ent_type_, t.like_num) for t in doc]  # fmt: skip


@pytest.fixture
def count_parses(monkeypatch):
    """The texts spaCy parses from now on (the parse cache emptied first, and only the stores
    of indexes opened from now on consulted)."""
    monkeypatch.setattr(nlp, "_cache", type(nlp._cache)())
    monkeypatch.setattr(nlp, "_stores", [])
    parsed: list[str] = []
    real = nlp._pipe

    def counting(pipeline, texts):
        parsed.extend(texts)
        return real(pipeline, texts)

    monkeypatch.setattr(nlp, "_pipe", counting)
    return parsed


def test_a_stored_parse_loads_as_parsed():
    text = "Kataib Hezbollah said on Tuesday it had suspended its attacks to avoid embarrassing us."
    doc = nlp.parse_fresh([text])[0]
    back = parses.decode(parses.encode(doc), nlp.pipeline().vocab)
    assert _annotations(back) == _annotations(doc)
    assert [(e.text, e.label_) for e in back.ents] == [(e.text, e.label_) for e in doc.ents]


def test_parsing_the_index_gives_the_same_answers_without_parsing_at_question_time(
    make_assistant, count_parses
):
    plain = make_assistant("plain")
    plain.ingest(SEED.parent, progress=False)
    before = [plain.ask(q).answer for q in QUESTIONS]

    stored = make_assistant("stored")
    stored.ingest(SEED.parent, progress=False)
    assert stored.parse_sentences(progress=False) > 20
    assert stored.parse_sentences(progress=False) == 0  # nothing new
    count_parses.clear()
    nlp._cache.clear()
    after = [stored.ask(q).answer for q in QUESTIONS]
    assert after == before
    # only the questions themselves were parsed: every sentence and headline came stored
    assert set(count_parses) <= set(QUESTIONS)


def test_parses_follow_the_index(make_assistant, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED.name)
    extra = write_article(corpus, "port.md", "The harbour master said the port of Gdansk reopened "
                          "on Monday after a week of storms closed it to shipping.",
                          title="Gdansk port reopens", published_at="2024-02-01")  # fmt: skip
    assistant = make_assistant()
    assistant.ingest(corpus, progress=False)
    assistant.parse_sentences(progress=False)
    store = parses.ParseStore(assistant._parses_path(), parses.pipeline_id(nlp.pipeline()))
    sentence = extra.read_text().split("---\n")[-1].strip()
    assert store.get([sentence]) != [None]

    extra.unlink()
    assistant.ingest(corpus, sync=True, progress=False)
    assert assistant.parse_sentences(progress=False) == 0
    assert store.get([sentence]) == [None]  # the removed article's parses are dropped
    assert store.generation == assistant.store.generation()


def test_a_damaged_or_foreign_store_is_replaced_and_answers_go_on(make_assistant, count_parses):
    assistant = make_assistant()
    assistant.ingest(SEED.parent, progress=False)
    expected = assistant.ask(QUESTIONS[0]).answer
    path = assistant._parses_path()
    path.write_bytes(b"not a database " * 100)

    count_parses.clear()
    nlp._cache.clear()
    assert assistant.ask(QUESTIONS[0]).answer == expected  # parsed at question time instead
    assert len(count_parses) > 1
    assert assistant.parse_sentences(progress=False) > 20  # a new store replaces the bad one
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM parses").fetchone()[0] > 20

    parses.ParseStore(path, parses.pipeline_id(nlp.pipeline())).complete("gen-1")
    other = parses.ParseStore(path, "another-pipeline/1")
    assert other.keys() == set()  # another pipeline's parses are dropped, not misread
    assert other.generation == ""  # ... and no index counts as parsed any more
    other.close()


def test_the_background_worker_parses_and_reports_failure(tmp_path):
    path = tmp_path / "parses.sqlite"
    texts = ["The port of Haifa was attacked with a drone.", "Kirby spoke on Tuesday."]
    parses.run_worker(path, texts, "gen-1")
    store = parses.ParseStore(path, parses.pipeline_id(nlp.pipeline()))
    assert None not in store.get(texts)
    assert store.generation == "gen-1"
    with pytest.raises(OSError, match="JSON list of strings"):
        parses.run_worker(path, [1, 2], "gen-2")  # type: ignore[list-item]


def test_ingest_parses_on_every_core(tmp_path, monkeypatch):
    monkeypatch.setattr(parses, "MIN_SHARE", 4)  # a worker process even for a few sentences
    texts = [f"Sentence number {n} says the port of Haifa was attacked." for n in range(12)]
    store = parses.ParseStore(tmp_path / "p.sqlite", parses.pipeline_id(nlp.pipeline()))
    assert parses.fill_parallel(store, texts) is True
    assert None not in store.get(texts)
    stored = parses.decode(store.get(texts[5:6])[0], nlp.pipeline().vocab)
    assert _annotations(stored) == _annotations(nlp.parse_fresh(texts[5:6])[0])
    store.close()


def _wait_for_background(assistant, seconds: float = 120) -> None:
    import time

    deadline = time.monotonic() + seconds
    while assistant._parsing and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not assistant._parsing


def test_the_app_parses_in_the_background(make_assistant, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED.name)
    assistant = make_assistant()
    assistant.ingest(corpus, progress=False)
    assistant.parse_sentences(progress=False, background=True)
    assistant.parse_sentences(progress=False, background=True)  # queued: done after, once
    _wait_for_background(assistant)
    store = parses.ParseStore(assistant._parses_path(), parses.pipeline_id(nlp.pipeline()))
    assert store.generation == assistant.store.generation()
    assert len(store.keys()) > 20

    # an upload: only its article is read and parsed
    sentence = "The harbour master said the port of Gdansk reopened on Monday after storms."
    write_article(corpus, "port.md", sentence, title="Gdansk port reopens",
                  published_at="2024-02-01")  # fmt: skip
    added = assistant.ingest(corpus, progress=False).added
    assert store.get([sentence]) == [None]
    assistant.parse_sentences(progress=False, background=True, articles=added)
    _wait_for_background(assistant)
    assert store.get([sentence]) != [None]
