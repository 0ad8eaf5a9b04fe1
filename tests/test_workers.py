"""The app answering in worker processes: the real app with two real workers over the seed
corpus, driven over HTTP; workers killed and replaced for real."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import pytest

from tests.conftest import copy_seed_corpus, running_app, start_app

pytestmark = pytest.mark.slow


def _ready(log: Path) -> list[int]:
    """PIDs of the workers the app reported ready, in order (``workers.py`` logs each)."""
    return [int(m) for m in re.findall(r"answering worker (\d+) ready", log.read_text())]


def _wait_ready(log: Path, count: int) -> list[int]:
    deadline = time.time() + 180
    while time.time() < deadline:
        ready = _ready(log)
        if len(ready) >= count:
            return ready
        time.sleep(0.5)
    pytest.fail(f"{count} answering worker(s) not ready within 180 s:\n{log.read_text()[-2000:]}")


@pytest.fixture(scope="module")
def worker_app(tmp_path_factory):
    """``python app.py --workers 2`` on the seed corpus; yields (url, its log)."""
    from eval.load import _Chat

    base = tmp_path_factory.mktemp("workers")
    corpus = copy_seed_corpus(base)
    with running_app(base, corpus, "--workers", "2") as url:
        log = base / "app.log"
        assert "Islamic Resistance in Iraq" in _Chat(url).ask("Who claimed the Haifa attack?")
        _wait_ready(log, 2)
        yield url, log


def test_workers_answer_and_follow_ups_keep_their_conversation(worker_app):
    from eval.load import _Chat

    url, _ = worker_app
    chat = _Chat(url)
    for _ in range(3):  # the same conversation lands on either worker
        chat.reset_session()
        assert "Islamic Resistance in Iraq" in chat.ask("Who claimed the Haifa attack?")
        assert "Thursday" in chat.ask("When did they launch it?").split("\n")[0]


def test_the_app_records_the_files_of_its_start_for_the_next(worker_app):
    from assistant.prefetch import FILENAME

    _, log = worker_app
    data = log.parent / "data"
    deadline = time.time() + 60  # written in the background after the app's warm-up
    while not (data / FILENAME).exists() and time.time() < deadline:
        time.sleep(0.2)
    listed = (data / FILENAME).read_text().splitlines()
    assert any("en_core_web_sm" in p for p in listed)  # the parser's files
    assert any(p.startswith(str(data / "local-")) for p in listed)  # the index mirror
    assert any(p.endswith(".so") for p in listed) and any(p.endswith(".pyc") for p in listed)
    assert not any(p.endswith("chroma.sqlite3") for p in listed)


def test_a_killed_worker_is_replaced_and_no_question_is_lost(worker_app):
    from eval.load import _Chat

    url, log = worker_app
    ready = _ready(log)
    os.kill(ready[-1], signal.SIGKILL)
    chat = _Chat(url)
    for _ in range(4):
        chat.reset_session()
        assert "Islamic Resistance in Iraq" in chat.ask("Who claimed the Haifa attack?")
    assert ready[-1] not in _wait_ready(log, len(ready) + 1)[len(ready) :]


def test_an_upload_is_answerable_at_once_and_workers_are_renewed(worker_app, tmp_path):
    from gradio_client import Client, handle_file

    from eval.load import _Chat

    url, log = worker_app
    before = len(_ready(log))
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
    # answered at once, by the app while workers that know the article load
    assert "Ilse Brandvold" in chat.ask(question).split("\n")[0]
    _wait_ready(log, before + 2)  # both renewed by the upload itself, not by questions
    for _ in range(4):
        chat.reset_session()
        assert "Ilse Brandvold" in chat.ask(question).split("\n")[0]
    assert "Traceback" not in log.read_text() and "failed" not in log.read_text()


def test_pool_answers_as_the_app_process_would_and_refuses_the_same(seed_assistant):
    """An ``Assistant`` answering through one worker: the same answer as in-process, a bad
    question refused with our own error, arguments that cannot travel answered in-process."""
    from assistant import Assistant
    from assistant.errors import InvalidQuestion

    assistant = Assistant(settings=seed_assistant.settings, embed_model=seed_assistant.embed_model)

    def not_here(*args, **kwargs):
        raise AssertionError("answered in the app's process, not by the worker")

    assistant.conclude = not_here
    assistant.answer_in_workers(1)
    try:
        question = "Who claimed the Haifa attack?"
        here = seed_assistant.ask(question)
        # this object has loaded nothing itself: the question waits for the loading worker
        there = assistant.ask(question)
        assert assistant._pool.ready == 1
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


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines())
        except (OSError, ValueError):
            continue
        if fields.get("PPid", "").strip() == str(pid):
            found.append(int(status.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def test_a_stop_while_the_app_loads_leaves_no_worker_and_no_traceback(tmp_path):
    """Stopped just as its page is up (its own warm-up and a worker still loading): the app
    exits cleanly and takes its workers with it."""
    proc, _ = start_app(tmp_path, copy_seed_corpus(tmp_path), "--workers", "2")
    log_path = tmp_path / "app.log"
    try:
        deadline = time.time() + 180
        while "Running on local URL" not in log_path.read_text():
            assert proc.poll() is None, log_path.read_text()[-2000:]
            assert time.time() < deadline, "the page was not up within 180 s"
            time.sleep(0.05)
        children = _children(proc.pid)
        assert children  # the first worker is loading
        proc.terminate()
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    deadline = time.time() + 20
    while any(_alive(pid) for pid in children) and time.time() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in children if _alive(pid)]
    assert "Traceback" not in log_path.read_text()
