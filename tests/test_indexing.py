"""Ingest against a real Chroma folder and the real MiniLM model."""

import shutil

import pytest

from assistant.store import Store
from tests.conftest import SEED, write_article


def _chunk_ids(assistant):
    return sorted(i for i, _, _ in assistant.store.iter_chunks())


def test_ingest_seed_then_reingest_embeds_nothing(make_assistant, seed_corpus):
    assistant = make_assistant()
    first = assistant.ingest(seed_corpus, progress=False)
    assert len(first.added) == 1 and first.chunks_added > 0
    chunks = _chunk_ids(assistant)
    again = assistant.ingest(seed_corpus, progress=False)
    assert again.added == [] and again.unchanged == first.added
    assert again.chunks_added == 0
    assert _chunk_ids(assistant) == chunks
    assert len(chunks) == len(set(chunks)) == assistant.stats()["chunks"]


def test_changed_article_replaces_its_chunks(make_assistant, tmp_path):
    corpus = tmp_path / "c"
    corpus.mkdir()
    path = write_article(corpus, "a.md", "The bridge opened in May. Traffic was light.",
                         title="Bridge", date="2021-05-01")  # fmt: skip
    assistant = make_assistant()
    old_id = assistant.ingest(corpus, progress=False).added[0]
    write_article(corpus, "a.md", "The bridge closed in June after cracks were found.",
                  title="Bridge", date="2021-06-01")  # fmt: skip
    summary = assistant.ingest(corpus, progress=False)
    assert len(summary.updated) == 1 and summary.added == []
    new_id = summary.updated[0]
    assert new_id != old_id
    ids = _chunk_ids(assistant)
    assert ids and all(i.startswith(new_id + ":") for i in ids)
    assert assistant.stats()["articles"] == 1
    assert path.exists()


def test_removed_article_leaves_with_sync_only(make_assistant, seed_corpus):
    other = write_article(seed_corpus, "b.md", "Rain fell across the valley all week.",
                          title="Rain", date="2024-02-02")  # fmt: skip
    assistant = make_assistant()
    assistant.ingest(seed_corpus, progress=False)
    other.unlink()
    kept = assistant.ingest(seed_corpus, progress=False)
    assert kept.removed == [] and assistant.stats()["articles"] == 2
    synced = assistant.ingest(seed_corpus, sync=True, progress=False)
    assert len(synced.removed) == 1
    assert assistant.stats()["articles"] == 1
    assert all(":" in i and not i.startswith(synced.removed[0]) for i in _chunk_ids(assistant))


def test_duplicate_article_is_rejected_and_nothing_lost(make_assistant, seed_corpus):
    assistant = make_assistant()
    assistant.ingest(seed_corpus, progress=False)
    before = _chunk_ids(assistant)
    shutil.copy(SEED, seed_corpus / "copy-of-seed.txt")
    summary = assistant.ingest(seed_corpus, progress=False)
    assert [f for f, _ in summary.rejected] == ["copy-of-seed.txt"]
    assert "duplicate" in summary.rejected[0][1]
    assert _chunk_ids(assistant) == before


def test_broken_file_is_reported_and_the_rest_ingests(make_assistant, seed_corpus):
    (seed_corpus / "broken.jsonl").write_text("{oops\n")
    (seed_corpus / "notes.pdf").write_bytes(b"%PDF")
    summary = make_assistant().ingest(seed_corpus, progress=False)
    assert len(summary.added) == 1
    assert sorted(f.rsplit("/", 1)[-1] for f, _ in summary.rejected) == [
        "broken.jsonl line 1",
        "notes.pdf",
    ]


def test_interrupted_ingest_is_completed_by_the_next(make_assistant, tmp_path, monkeypatch):
    corpus = tmp_path / "many"
    corpus.mkdir()
    for i in range(12):
        write_article(corpus, f"n{i:02}.md", f"Story number {i} tells of event {i}. " * 20,
                      title=f"Story {i}", date="2022-01-01")  # fmt: skip
    # groups of about two articles: several groups, each written chunks first, records last
    assistant = make_assistant(embedding={"batch_size": 2, "ingest_group": 2})
    real_put = Store.put_articles
    calls = {"n": 0}

    def put_then_die(self, records):
        calls["n"] += 1
        if calls["n"] == 3:  # the third group's chunks are stored, its records not yet
            raise KeyboardInterrupt
        real_put(self, records)

    monkeypatch.setattr(Store, "put_articles", put_then_die)
    with pytest.raises(KeyboardInterrupt):
        assistant.ingest(corpus, progress=False)
    monkeypatch.setattr(Store, "put_articles", real_put)
    assert assistant.stats()["articles"] == 4

    summary = assistant.ingest(corpus, progress=False)
    assert len(summary.unchanged) == 4 and len(summary.added) == 8
    records = assistant.store.article_records()
    ids = _chunk_ids(assistant)
    assert len(ids) == len(set(ids)) == sum(r.n_chunks for r in records.values())
    assert {i.split(":")[0] for i in ids} == set(records)


def test_ingest_missing_path_is_an_error(make_assistant, tmp_path):
    from assistant import AssistantError

    with pytest.raises(AssistantError, match="does not exist"):
        make_assistant().ingest(tmp_path / "nowhere", progress=False)


def test_sync_keeps_an_article_whose_file_turned_bad(make_assistant, seed_corpus):
    """Nothing lost: a file that can no longer be read keeps its indexed article under --sync;
    only a file that is gone takes its article with it."""
    path = write_article(seed_corpus, "b.md", "Rain fell across the valley all week.",
                         title="Rain", date="2024-02-02")  # fmt: skip
    assistant = make_assistant()
    assistant.ingest(seed_corpus, progress=False)
    before = _chunk_ids(assistant)
    path.write_text("---\ndate: 2024-13-45\n---\nRain fell across the valley all week.\n")
    summary = assistant.ingest(seed_corpus, sync=True, progress=False)
    assert summary.removed == [] and "not a valid date" in summary.rejected[0][1]
    assert _chunk_ids(assistant) == before
    path.unlink()
    assert len(assistant.ingest(seed_corpus, sync=True, progress=False).removed) == 1


# --- removing one article ---


def test_remove_deletes_the_article_and_its_own_file(make_assistant, seed_corpus):
    other = write_article(seed_corpus, "rain.md", "Rain fell across the Zelda valley all week.",
                          title="Rain", date="2024-02-02")  # fmt: skip
    assistant = make_assistant()
    assistant.ingest(seed_corpus, progress=False)
    [rain] = [r for r in assistant.articles() if r.title == "Rain"]
    found = assistant.ask("Where did rain fall all week in the Zelda valley?").retrieved
    assert rain.id in {p.article_id for p in found}  # the keyword index is built
    removal = assistant.remove(rain.id, seed_corpus)
    assert removal.file_deleted.endswith("rain.md") and not other.exists()
    assert "deleted its file rain.md" in removal.line()
    assert [r.title for r in assistant.articles()] != ["Rain"]
    assert all(not i.startswith(rain.id) for i in _chunk_ids(assistant))
    found = assistant.ask("Where did rain fall all week in the Zelda valley?").retrieved
    assert rain.id not in {p.article_id for p in found}  # the keyword index follows
    assert assistant.ingest(seed_corpus, sync=True, progress=False).added == []


def test_remove_keeps_a_file_holding_other_articles(make_assistant, tmp_path):
    import json

    corpus = tmp_path / "c"
    corpus.mkdir()
    lines = [
        {"id": "one", "title": "One", "text": "The first story is about a red kite."},
        {"id": "two", "title": "Two", "text": "The second story is about a blue heron."},
    ]
    feed = corpus / "feed.jsonl"
    feed.write_text("".join(json.dumps(x) + "\n" for x in lines))
    assistant = make_assistant()
    assistant.ingest(corpus, progress=False)
    removal = assistant.remove("one", corpus)
    assert feed.exists() and removal.file_deleted == ""
    assert "holds other articles too" in removal.file_kept
    assert [r.id for r in assistant.articles()] == ["two"]


def test_remove_keeps_a_file_holding_lines_that_were_not_indexed(make_assistant, tmp_path):
    import json

    corpus = tmp_path / "c"
    corpus.mkdir()
    feed = corpus / "feed.jsonl"
    good = {"id": "one", "title": "One", "text": "The first story is about a red kite."}
    feed.write_text(json.dumps(good) + "\n{not json\n"
                    + json.dumps({"id": "two", "text": "A heron.", "published_at": "2024-02-30"})
                    + "\n")  # fmt: skip
    assistant = make_assistant()
    assert assistant.ingest(corpus, progress=False).added == ["one"]
    removal = assistant.remove("one", corpus)
    assert feed.exists() and removal.file_deleted == ""
    assert "holds text that was not indexed" in removal.file_kept
    assert assistant.articles() == []


def test_a_hash_in_file_and_folder_names_keeps_files_tracked(make_assistant, tmp_path):
    """Origins are "path" or "path#id" (JSON Lines): a "#" in the path is part of the path."""
    import json

    corpus = tmp_path / "C#" / "corpus"
    corpus.mkdir(parents=True)
    note = write_article(corpus, "Issue #42.md", "The kite festival opened on the dunes.",
                         title="Kites", date="2024-02-02")  # fmt: skip
    feed = corpus / "feed #2.jsonl"
    feed.write_text(json.dumps({"id": "heron", "text": "A blue heron nested by the weir."}) + "\n")
    assistant = make_assistant()
    assistant.ingest(corpus, progress=False)
    [kites] = [r for r in assistant.articles() if r.title == "Kites"]
    feed.unlink()  # a deleted file's articles leave with a sync
    assert assistant.ingest(corpus, sync=True, progress=False).removed == ["heron"]
    removal = assistant.remove(kites.id, corpus)
    assert removal.file_deleted.endswith("Issue #42.md") and not note.exists()
    assert assistant.ingest(corpus, sync=True, progress=False).added == []


def test_sync_keeps_the_articles_of_a_folder_it_cannot_search(make_assistant, tmp_path,
                                                              monkeypatch):  # fmt: skip
    """A sub-folder without search permission hides its files from the walk; they are not
    gone. (Tests run as root, whom permissions do not stop: the refusal is simulated.)"""
    import os

    corpus = tmp_path / "c"
    (corpus / "locked").mkdir(parents=True)
    write_article(corpus / "locked", "kites.md", "The kite festival opened on the dunes.",
                  title="Kites", date="2024-02-02")  # fmt: skip
    assistant = make_assistant()
    assert len(assistant.ingest(corpus, progress=False).added) == 1
    real_lstat, real_walk = os.lstat, os.walk

    def lstat(path, *args, **kwargs):
        if "locked" in str(path):
            raise PermissionError(13, "Permission denied", str(path))
        return real_lstat(path, *args, **kwargs)

    def walk(top, *args, **kwargs):
        for folder, dirs, files in real_walk(top, *args, **kwargs):
            dirs[:] = [d for d in dirs if d != "locked"]
            yield folder, dirs, files

    monkeypatch.setattr(os, "lstat", lstat)
    monkeypatch.setattr(os, "walk", walk)
    assert assistant.ingest(corpus, sync=True, progress=False).removed == []
    assert [r.title for r in assistant.articles()] == ["Kites"]


def test_remove_never_deletes_outside_the_corpus_folder(make_assistant, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    path = write_article(outside, "x.md", "The ferry sailed at dawn.", title="Ferry")
    corpus = tmp_path / "c"
    corpus.mkdir()
    assistant = make_assistant()
    [article_id] = assistant.ingest(path, progress=False).added
    removal = assistant.remove(article_id, corpus)
    assert path.exists() and "outside the corpus folder" in removal.file_kept
    assert assistant.articles() == []


def test_remove_without_a_corpus_folder_touches_no_file(make_assistant, seed_corpus):
    assistant = make_assistant()
    [article_id] = assistant.ingest(seed_corpus, progress=False).added
    assert assistant.remove(article_id).file_deleted == ""
    assert (seed_corpus / SEED.name).exists() and assistant.stats()["articles"] == 0


def test_remove_of_an_unknown_id_is_a_clear_error(make_assistant, seed_corpus):
    from assistant.errors import InvalidInput

    assistant = make_assistant()
    assistant.ingest(seed_corpus, progress=False)
    with pytest.raises(InvalidInput, match="No indexed article has the id 'nope'"):
        assistant.remove("nope", seed_corpus)
    with pytest.raises(InvalidInput, match="article_id must be text"):
        assistant.remove(5)


def test_article_records_of_some_ids_are_looked_up_alone(seed_assistant):
    """Asked for ids, the store gives those indexed, with the same records as the full list."""
    every = seed_assistant.store.article_records()
    known = next(iter(every))
    assert seed_assistant.store.article_records([known, "no-such-article"]) == {known: every[known]}
    assert seed_assistant.store.article_records([]) == {}
    assert seed_assistant.store.article_records([known, known]) == {known: every[known]}
