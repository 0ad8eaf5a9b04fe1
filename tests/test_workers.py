"""The app answering in worker processes: the real app with two real workers over the seed
corpus, driven over HTTP; workers killed and replaced for real."""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

import pytest

from tests.conftest import SEED, running_app

pytestmark = pytest.mark.slow


def _pids_with(text: str) -> list[int]:
    """Processes whose command line holds ``text``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if text in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _workers(app_pid: int) -> set[int]:
    """The app's answering workers (spawned ``multiprocessing`` children)."""
    out = set()
    for pid in _pids_with("multiprocessing.spawn"):
        try:
            parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if parent == app_pid:
            out.add(pid)
    return out


def _wait_for(count: int, app_pid: int, other_than: set[int] = frozenset()) -> set[int]:
    deadline = time.time() + 120
    while time.time() < deadline:
        workers = _workers(app_pid) - set(other_than)
        if len(workers) >= count:
            time.sleep(3)  # spawned; loaded a few seconds later (the app answers meanwhile)
            return workers
        time.sleep(0.5)
    pytest.fail(f"{count} answering worker(s) did not start within 120 s")


@pytest.fixture(scope="module")
def worker_app(tmp_path_factory):
    """``python app.py --workers 2`` on the seed corpus; yields (url, app pid, corpus)."""
    base = tmp_path_factory.mktemp("workers")
    corpus = base / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED.name)
    from eval.load import _Chat

    with running_app(base, corpus, "--workers", "2") as url:
        (app_pid,) = set(_pids_with(str(base / "data"))) & set(_pids_with("app.py"))
        assert not _workers(app_pid)  # none before the first answer: it is not slowed
        assert "Islamic Resistance in Iraq" in _Chat(url).ask("Who claimed the Haifa attack?")
        yield url, app_pid, corpus


def test_workers_answer_and_follow_ups_keep_their_conversation(worker_app):
    from eval.load import _Chat

    url, app_pid, _ = worker_app
    _wait_for(2, app_pid)
    chat = _Chat(url)
    for _ in range(3):  # the same conversation may land on either worker
        chat.reset_session()
        assert "Islamic Resistance in Iraq" in chat.ask("Who claimed the Haifa attack?")
        assert "Thursday" in chat.ask("When did they launch it?").split("\n")[0]


def test_a_killed_worker_is_replaced_and_no_question_is_lost(worker_app):
    from eval.load import _Chat

    url, app_pid, _ = worker_app
    workers = _wait_for(2, app_pid)
    victim = min(workers)
    os.kill(victim, signal.SIGKILL)
    chat = _Chat(url)
    for _ in range(4):
        chat.reset_session()
        assert "Islamic Resistance in Iraq" in chat.ask("Who claimed the Haifa attack?")
    replaced = _wait_for(2, app_pid, other_than={victim})
    assert victim not in replaced


def test_an_upload_is_answerable_at_once_and_workers_are_renewed(worker_app, tmp_path):
    from gradio_client import Client, handle_file

    from eval.load import _Chat

    url, app_pid, _ = worker_app
    before = _wait_for(2, app_pid)
    article = tmp_path / "Observatory.md"
    article.write_text(
        "---\ntitle: Lake Vostrel gets a floating observatory\nsource: Bench Wire\n"
        "date: 2022-11-09\n---\nThe town of Marrowfield opened a floating observatory on Lake "
        "Vostrel on Tuesday, built by the engineer Ilse Brandvold.\n"
    )
    message = Client(url, verbose=False).predict([handle_file(str(article))], "",
                                                 api_name="/upload")[0]  # fmt: skip
    assert "1 article(s) added" in message
    chat = _Chat(url)
    question = "Who built the floating observatory on Lake Vostrel?"
    for _ in range(4):  # answered by the app until workers that know the article are up
        chat.reset_session()
        assert "Ilse Brandvold" in chat.ask(question).split("\n")[0]
    renewed = _wait_for(2, app_pid, other_than=before)
    assert not renewed & before
    for _ in range(4):  # and by the new workers
        chat.reset_session()
        assert "Ilse Brandvold" in chat.ask(question).split("\n")[0]


def test_pool_answers_as_the_app_process_would_and_refuses_the_same(seed_assistant):
    """An ``Assistant`` answering through one worker: the same answer as in-process, a bad
    question refused with our own error, arguments that cannot travel answered in-process."""
    from assistant import Assistant
    from assistant.errors import InvalidQuestion

    assistant = Assistant(settings=seed_assistant.settings, embed_model=seed_assistant.embed_model)
    assistant.answer_in_workers(1)
    try:
        question = "Who claimed the Haifa attack?"
        here = assistant.ask(question)  # answered here; the worker starts after it
        deadline = time.time() + 120
        while assistant._pool.ready < 1:
            assert time.time() < deadline, "the worker did not get ready within 120 s"
            time.sleep(0.2)

        def not_here(*args, **kwargs):
            raise AssertionError("answered in the app's process, not by the worker")

        assistant.conclude = not_here
        there = assistant.ask(question)
        assert there is not here and there.answer == here.answer
        assert [c.quote for c in there.citations] == [c.quote for c in here.citations]
        follow = assistant.ask("When did they launch it?", history=[(question, there.answer)])
        assert "Thursday" in follow.answer
        with pytest.raises(InvalidQuestion):
            assistant.ask("   ")
        with pytest.raises(InvalidQuestion):  # a lambda does not pickle: checked here instead
            assistant.ask(lambda: None)
        assert assistant._pool.ready == 1  # none of it cost the worker
    finally:
        assistant.close_workers()
