"""The persistent, incremental local index (vectors and BM25) on its own."""

import json
from pathlib import Path

import numpy as np

from assistant.localindex import IndexedChunk, LocalIndex


def unit(seed: int, dims: int = 8) -> np.ndarray:
    vector = np.random.default_rng(seed).normal(size=dims).astype(np.float32)
    return vector / np.linalg.norm(vector)


def doc(chunk_id, text, ts=20220101, source="cnn.com", vector=None):
    vector = unit(abs(hash(chunk_id)) % 10_000) if vector is None else vector
    return IndexedChunk(chunk_id, chunk_id.split(":")[0], text, ts, source, vector)


def test_rare_matching_term_ranks_first():
    index = LocalIndex()
    index.add([doc("a:0", "The airline JetBlue agreed to buy Spirit Airlines."),
               doc("b:0", "The weather was mild across the region."),
               doc("c:0", "Airlines raised fares across the region.")])  # fmt: skip
    hits = index.search("Which airline agreed to buy Spirit?", 3)
    assert hits[0][0] == "a:0"
    assert "b:0" not in [h[0] for h in hits]


def test_filters_on_dates_and_sources():
    index = LocalIndex()
    index.add([doc("a:0", "storm hits coast", 20220101, "cnn.com"),
               doc("b:0", "storm hits coast again", 20220301, "usatoday.com")])  # fmt: skip
    assert [h[0] for h in index.search("storm", 5, as_of_ts=20220201)] == ["a:0"]
    assert [h[0] for h in index.search("storm", 5, from_ts=20220201)] == ["b:0"]
    assert [h[0] for h in index.search("storm", 5, sources=["usatoday.com"])] == ["b:0"]


def test_segments_score_like_one_index():
    """Adding in two ingests gives the same scores as adding everything at once."""
    docs = [doc(f"a{i}:0", f"word{i % 3} common text {i}") for i in range(10)]
    one, two = LocalIndex(), LocalIndex()
    one.add(docs)
    two.add(docs[:4])
    two.add(docs[4:])
    for query in ("word1 common", "word2", "text 7"):
        assert dict(one.search(query, 10)) == dict(two.search(query, 10))


def test_removed_articles_disappear_and_weights_follow():
    index = LocalIndex()
    index.add([doc("a:0", "alpha beta"), doc("b:0", "alpha gamma")])
    before = index.idf("alpha")
    index.remove_articles(["a"])
    assert [h[0] for h in index.search("alpha", 5)] == ["b:0"]
    assert index.docs == 1 and index.article_ids() == {"b"}
    assert index.idf("alpha") != before


def test_readding_an_article_replaces_its_chunks():
    index = LocalIndex()
    index.add([doc("a:0", "old words"), doc("a:1", "more old words")])
    index.add([doc("a:0", "new text")])
    assert index.search("old", 5) == []
    assert [h[0] for h in index.search("new", 5)] == ["a:0"]


def test_save_and_load_round_trip(tmp_path):
    index = LocalIndex()
    index.add([doc("a:0", "alpha beta")], {"a": "h1"})
    index.add([doc("b:0", "beta gamma")], {"b": "h2"})
    index.generation = "g1"
    index.save(tmp_path / "kw")
    loaded = LocalIndex.load(tmp_path / "kw")
    assert loaded is not None and loaded.generation == "g1"
    assert loaded.hashes == {"a": "h1", "b": "h2"}
    assert loaded.search("beta", 5) == index.search("beta", 5)


def test_unreadable_index_loads_as_none(tmp_path):
    (tmp_path / "kw").mkdir()
    (tmp_path / "kw" / "meta.json").write_text("{not json")
    assert LocalIndex.load(tmp_path / "kw") is None
    assert LocalIndex.load(tmp_path / "missing") is None


def test_many_segments_are_merged():
    index = LocalIndex()
    for i in range(30):
        index.add([doc(f"a{i}:0", f"text number{i}")])
    assert len(index._stats.segments) <= 12
    assert index.docs == 30
    assert np.isclose(index.search("number29", 1)[0][1], index.search("number3", 1)[0][1])


def test_nearest_is_exact_cosine_with_filters():
    index = LocalIndex()
    vectors = {f"a{i}:0": unit(i) for i in range(50)}
    index.add([doc(cid, "text", 20220101 + i, "cnn.com" if i % 2 else "usatoday.com", v)
               for i, (cid, v) in enumerate(vectors.items())])  # fmt: skip
    query = unit(7)
    hits = index.nearest(query, 5)
    expected = sorted(vectors, key=lambda c: -float(vectors[c] @ query))[:5]
    assert [h[0] for h in hits] == expected
    assert np.isclose(hits[0][1], 1.0, atol=1e-5)  # a7 itself
    dated = index.nearest(query, 50, as_of_ts=20220110)
    assert {h[0] for h in dated} == {f"a{i}:0" for i in range(10)}
    assert all(
        int(h[0][1:].split(":")[0]) % 2 for h in index.nearest(query, 50, sources=["cnn.com"])
    )


def test_vectors_survive_save_load_and_merge(tmp_path):
    index = LocalIndex()
    for i in range(30):  # many segments: merged along the way
        index.add([doc(f"a{i}:0", f"text {i}", vector=unit(i))])
    index.remove_articles(["a3"])
    index.save(tmp_path / "local")
    loaded = LocalIndex.load(tmp_path / "local")
    assert loaded.nearest(unit(5), 1)[0][0] == "a5:0"
    assert "a3:0" not in [h[0] for h in loaded.nearest(unit(3), 30)]
    assert loaded.chunk_meta("a5:0") == (20220101, "cnn.com") and loaded.chunk_meta("a3:0") is None


def test_a_save_that_cannot_name_its_copy_leaves_the_previous_one(tmp_path, monkeypatch):
    """A failure to replace meta.json is raised; the previous copy still loads, whole, and
    no temporary file is left."""
    import os

    from assistant import localindex

    index = LocalIndex()
    index.add([doc("a:0", "alpha beta")], {"a": "h1"})
    folder = tmp_path / "kw"
    index.save(folder)
    real_replace = os.replace

    def failing_replace(src, dst):
        if Path(dst).name == "meta.json":
            raise PermissionError(13, "Permission denied")
        return real_replace(src, dst)

    monkeypatch.setattr(localindex.os, "replace", failing_replace)
    index.add([doc("d:0", "delta epsilon")], {"d": "h4"})
    try:
        index.save(folder)
        raise AssertionError("the failure was not raised")
    except PermissionError:
        pass
    monkeypatch.setattr(localindex.os, "replace", real_replace)
    loaded = LocalIndex.load(folder)
    assert loaded is not None and loaded.hashes == {"a": "h1"}  # the previous copy
    assert [h[0] for h in loaded.search("alpha", 5)] == ["a:0"]
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".")]  # no temporary


def _files(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_ino for p in folder.iterdir()}


def test_a_save_writes_only_new_segments_and_drops_unnamed_files(tmp_path, monkeypatch):
    """Saved segments are not written again; a removal saves only the masks; files of
    merged-away segments are deleted once old enough."""
    from assistant import localindex

    folder = tmp_path / "local"
    index = LocalIndex()
    index.add([doc(f"a{i}:0", f"text {i}") for i in range(20)])
    index.save(folder)
    first = _files(folder)
    index.add([doc("b:0", "uploaded words")])
    index.remove_articles(["a3"])
    index.save(folder)
    second = _files(folder)
    kept = {n: i for n, i in first.items() if n.startswith("s")}
    assert len(kept) == 3 and all(second.get(n) == i for n, i in kept.items())  # untouched
    assert len([n for n in second if n.startswith("s")]) == 6  # the upload's three files
    loaded = LocalIndex.load(folder)
    assert loaded.chunk_meta("a3:0") is None and loaded.chunk_meta("a4:0") is not None
    assert [h[0] for h in loaded.search("uploaded", 5)] == ["b:0"]

    monkeypatch.setattr(localindex, "STALE_FILE_S", -1.0)  # everything unnamed is old
    for i in range(12):  # past MAX_SEGMENTS: the small ones are merged, the first is kept
        loaded.add([doc(f"c{i}:0", f"more words {i}")])
    loaded.save(folder)
    meta = json.loads((folder / "meta.json").read_text())
    suffixes = (".npz", "-docs.npz", "-vectors.npy")
    named = {"meta.json", meta["alive"]} | {n + x for n in meta["segments"] for x in suffixes}
    assert set(_files(folder)) == named
    now = _files(folder)
    assert all(now.get(n) == i for n, i in kept.items())  # the big one was not merged
    again = LocalIndex.load(folder)
    assert again.docs == 20 - 1 + 1 + 12
    assert again.search("more", 20) == loaded.search("more", 20)


def test_a_mirror_saved_in_format_2_loads(tmp_path):
    """Mirrors saved before segment files had names (format 2: seg0, seg1, ..., masks in
    the documents' files) load as they are, and their next save writes format 3."""
    folder = tmp_path / "local"
    index = LocalIndex()
    index.add([doc("a:0", "alpha beta")], {"a": "h1"})
    index.add([doc("b:0", "beta gamma"), doc("b:1", "gamma")], {"b": "h2"})
    index.remove_articles(["a"])
    index.generation = "g1"
    index.save(folder)
    meta = json.loads((folder / "meta.json").read_text())
    with np.load(folder / meta["alive"]) as masks:
        alive = {name: masks[name] for name in meta["segments"]}
    for n, name in enumerate(meta["segments"]):  # the old layout
        for suffix in (".npz", "-vectors.npy"):
            (folder / f"{name}{suffix}").rename(folder / f"seg{n}{suffix}")
        with np.load(folder / f"{name}-docs.npz") as docs:
            np.savez(folder / f"seg{n}-docs.npz", **dict(docs), alive=alive[name])
        (folder / f"{name}-docs.npz").unlink()
    (folder / meta["alive"]).unlink()
    (folder / "meta.json").write_text(json.dumps({**meta, "format": 2,
                                                  "segments": len(meta["segments"])}))  # fmt: skip
    old = LocalIndex.load(folder)
    assert old is not None and old.hashes == {"b": "h2"} and old.generation == "g1"
    assert old.search("beta", 5) == index.search("beta", 5) and old.chunk_meta("a:0") is None
    old.save(folder)
    assert json.loads((folder / "meta.json").read_text())["format"] == 3
    assert LocalIndex.load(folder).search("gamma", 5) == index.search("gamma", 5)


def test_a_load_meeting_a_save_reads_the_new_copy(tmp_path, monkeypatch):
    """Files named by the meta.json a load read can vanish (a save dropped them): the load
    reads meta.json again instead of failing."""
    from assistant import localindex

    index = LocalIndex()
    index.add([doc("a:0", "alpha beta")], {"a": "h1"})
    index.save(tmp_path / "local")
    real_load, calls = LocalIndex._load, []

    def vanishing(folder, k1, b):
        calls.append(folder)
        if len(calls) == 1:
            raise FileNotFoundError(folder / "s123.npz")
        return real_load(folder, k1, b)

    monkeypatch.setattr(localindex.LocalIndex, "_load", staticmethod(vanishing))
    loaded = LocalIndex.load(tmp_path / "local")
    assert len(calls) == 2 and loaded is not None and loaded.hashes == {"a": "h1"}


def test_saves_of_one_folder_take_turns_across_processes(tmp_path):
    """While one save holds the folder, another process's save waits for it: a save's check
    of which files exist, its writes and the files it drops never meet another's."""
    import subprocess
    import sys
    import time

    from assistant.localindex import _saving
    from tests.conftest import ROOT

    folder = tmp_path / "local"
    first = LocalIndex()
    first.add([doc("a:0", "alpha beta")], {"a": "h1"})
    first.save(folder)
    script = ("import sys; sys.path.insert(0, sys.argv[2]); from pathlib import Path; "
              "from tests.test_localindex import doc; from assistant.localindex import LocalIndex; "
              "i = LocalIndex(); i.add([doc('b:0', 'gamma delta')], {'b': 'h2'}); "
              "print('ready', flush=True); i.save(Path(sys.argv[1])); "
              "print('saved', flush=True)")  # fmt: skip
    with _saving(folder):
        other = subprocess.Popen([sys.executable, "-c", script, str(folder), str(ROOT)],
                                 cwd=ROOT, stdout=subprocess.PIPE, text=True)  # fmt: skip
        assert other.stdout.readline().strip() == "ready"  # loaded: now it saves
        time.sleep(1)
        assert other.poll() is None  # waiting for the folder
        assert LocalIndex.load(folder).hashes == {"a": "h1"}
    out, _ = other.communicate(timeout=60)
    assert other.returncode == 0 and out.strip() == "saved"
    assert LocalIndex.load(folder).hashes == {"b": "h2"}


def test_a_segment_whose_files_went_is_saved_under_a_new_name(tmp_path):
    """Another process dropped some of a segment's files (it merged the segment away): the
    segment is written again under a new name, never over what remains of the old one."""
    folder = tmp_path / "local"
    index = LocalIndex()
    index.add([doc("a:0", "alpha beta")], {"a": "h1"})
    index.save(folder)
    old = json.loads((folder / "meta.json").read_text())["segments"][0]
    (folder / f"{old}.npz").unlink()
    vectors = (folder / f"{old}-vectors.npy").stat().st_ino
    index.save(folder)
    new = json.loads((folder / "meta.json").read_text())["segments"][0]
    assert new != old and (folder / f"{old}-vectors.npy").stat().st_ino == vectors
    assert LocalIndex.load(folder).search("alpha", 5) == index.search("alpha", 5)


def test_a_file_cut_short_loads_as_none(tmp_path):
    """A saved file cut short (a crash mid-write on a disk that reorders writes) makes the
    mirror unreadable, not an error: it is then rebuilt from the store."""
    folder = tmp_path / "local"
    index = LocalIndex()
    index.add([doc("a:0", "alpha beta")], {"a": "h1"})
    index.save(folder)
    meta = json.loads((folder / "meta.json").read_text())
    for name in (f"{meta['segments'][0]}-docs.npz", meta["alive"], f"{meta['segments'][0]}.npz"):
        whole = (folder / name).read_bytes()
        for size in (0, 60, len(whole) - 10):
            (folder / name).write_bytes(whole[:size])
            assert LocalIndex.load(folder) is None, (name, size)
        (folder / name).write_bytes(whole)
    assert LocalIndex.load(folder) is not None
