"""``assistant ingest`` killed with SIGKILL at seeded random moments, then run again normally:
the index must equal a clean ingest of the same corpus (article ids and texts, chunk ids and
texts, counts).

The moments are found on stderr: with ``NEWSDESK_TRACE_INGEST=1`` (off by default) the CLI
reports each step ("model-load start", "embedded 3/41 articles", "store <id> start",
"delete <id> start"), and ``NEWSDESK_TRACE_DELAY`` pauses briefly after each report so a kill
lands inside the step that follows. Kill points tried:

1. during the model load (store already opened),
2. mid-embedding, after the k-th embedded batch,
3. between an article's chunks being stored and its manifest record being written,
4. mid ``--sync``, after the k-th removal of a deleted file's article began,
5. mid-edit, after the old version of the k-th edited article began to be deleted.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, SEED, write_article

pytestmark = pytest.mark.slow

RNG_SEED = 20241130
N_ARTICLES = 40
TOWNS = ["Oxbury", "Greyhaven", "Lindmoor", "Carrow", "Eastwick", "Pelham", "Tarn", "Wexley"]
TOPICS = ["a new bridge", "the harbour dredging", "school meals", "a bus lane", "flood walls",
          "the library budget", "street lighting", "a wind farm"]  # fmt: skip


def make_corpus(folder: Path, rng: random.Random) -> None:
    """The seed article and many short generated ones (small batches: many kill moments)."""
    folder.mkdir()
    shutil.copy(SEED, folder / SEED.name)
    for i in range(N_ARTICLES):
        town, topic = rng.choice(TOWNS), rng.choice(TOPICS)
        yes, no = rng.randint(3, 9), rng.randint(0, 5)
        text = (
            f"The council of {town} voted {yes} to {no} on {topic} on day {i} of the session. "
            f"Residents of {town} had petitioned for {topic} for {rng.randint(2, 20)} years. "
            f"Work is due to start in week {rng.randint(1, 52)}, officials said."
        )
        day = f"2023-{1 + i % 12:02}-{1 + i % 28:02}"
        write_article(folder, f"story-{i:02}.md", text, title=f"{town} story {i}",
                      source="Council Wire", date=day)  # fmt: skip


def ingest(data: Path, corpus: Path, *flags: str, kill_after=None, rng=None) -> str | None:
    """``assistant ingest`` as a real process. With ``kill_after(line, seen)`` (True when the
    moment has come), SIGKILL it right after that stderr line (plus a random pause of up to
    50 ms) and return the line; else wait for it to finish and return None."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(
        HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", ASSISTANT_EMBEDDING__BATCH_SIZE="1",
        ASSISTANT_EMBEDDING__INGEST_GROUP="1",  # each article embedded and stored on its own
        NEWSDESK_TRACE_INGEST="1" if kill_after else "0", NEWSDESK_TRACE_DELAY="0.05",
    )  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant", "ingest", str(corpus), "--data-dir", str(data),
         "--quiet", *flags],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
    )  # fmt: skip
    if kill_after is None:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        return None
    seen: list[str] = []
    try:
        for line in proc.stderr:
            seen.append(line.strip())
            if kill_after(line.strip(), seen):
                time.sleep(rng.uniform(0, 0.05))
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=60)
                after = proc.stderr.read().splitlines()  # reported before the kill landed
                if line.strip() == "trace: model-load start":
                    assert "trace: model-load done" not in after, "killed after the model load"
                return line.strip()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    pytest.fail(f"the kill point was never reached; stderr ended with {seen[-5:]}")


def nth(prefix: str, k: int, suffix: str = ""):
    """The moment the k-th stderr line starting with ``prefix`` (and ending with ``suffix``)
    appears."""

    def match(line: str) -> bool:
        return line.startswith(prefix) and line.endswith(suffix)

    return lambda line, seen: match(line) and sum(map(match, seen)) == k


def during_model_load(rng: random.Random):
    """A random moment within the first second of the model load (it takes several)."""

    def moment(line: str, seen: list[str]) -> bool:
        if line != "trace: model-load start":
            return False
        time.sleep(rng.uniform(0.1, 1.0))
        return True

    return moment


def state(data: Path, embed_model) -> tuple:
    """Everything that must match: article ids and texts, chunk ids and texts, counts."""
    from chromadb.api.client import SharedSystemClient

    from assistant import Assistant

    SharedSystemClient.clear_system_cache()  # read what the other processes wrote, afresh
    assistant = Assistant(data_dir=data, embed_model=embed_model)
    store = assistant.store
    records = store.article_records()
    articles = {i: (store.article_text(i), records[i].n_chunks) for i in records}
    chunks = sorted((chunk_id, text) for chunk_id, text, _ in store.iter_chunks())
    result = articles, chunks, assistant.stats()
    SharedSystemClient.clear_system_cache()
    return result


def clean(base: Path, corpus: Path, name: str, embed_model) -> tuple:
    from assistant import Assistant

    Assistant(data_dir=base / name, embed_model=embed_model).ingest(corpus, progress=False)
    return state(base / name, embed_model)


def test_killed_ingests_are_completed_by_the_next(tmp_path, embed_model):
    rng = random.Random(RNG_SEED)
    corpus = tmp_path / "corpus"
    make_corpus(corpus, rng)
    data = tmp_path / "index"
    tried: list[str] = []

    # 1-3: a fresh index, killed during the model load, mid-embedding, between chunks and record
    tried.append(ingest(data, corpus, kill_after=during_model_load(rng), rng=rng))
    moment = nth("trace: embedded", rng.randint(2, 6))
    tried.append(ingest(data, corpus, kill_after=moment, rng=rng))
    moment = nth("trace: store", rng.randint(3, 9), " start")
    tried.append(ingest(data, corpus, kill_after=moment, rng=rng))
    ingest(data, corpus)
    expected = clean(tmp_path, corpus, "clean-full", embed_model)
    assert state(data, embed_model) == expected
    assert expected[2]["articles"] == N_ARTICLES + 1

    # 4: files deleted, then --sync killed while their articles were being removed
    for i in rng.sample(range(N_ARTICLES), 12):
        (corpus / f"story-{i:02}.md").unlink()
    moment = nth("trace: delete", rng.randint(2, 8), " start")
    tried.append(ingest(data, corpus, "--sync", kill_after=moment, rng=rng))
    ingest(data, corpus, "--sync")
    expected = clean(tmp_path, corpus, "clean-synced", embed_model)
    assert state(data, embed_model) == expected
    assert expected[2]["articles"] == N_ARTICLES + 1 - 12

    # 5: articles edited, then an ingest killed while an old version was being replaced
    for path in rng.sample(sorted(corpus.glob("story-*.md")), 10):
        write_article(corpus, path.name, f"{path.stem} was corrected: the vote was postponed "
                      f"to week {rng.randint(1, 52)}.", title=f"{path.stem} corrected",
                      source="Council Wire", date="2023-12-01")  # fmt: skip
    moment = nth("trace: delete", rng.randint(1, 6), " start")
    tried.append(ingest(data, corpus, kill_after=moment, rng=rng))
    ingest(data, corpus)
    expected = clean(tmp_path, corpus, "clean-edited", embed_model)
    assert state(data, embed_model) == expected

    print("kill points:", tried)
    assert tried[0] == "trace: model-load start" and all(tried), tried
