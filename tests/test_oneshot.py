"""A one-shot question read in a forked process (``assistant.oneshot``): the same answers as
one process gives, a fallback when the child cannot read, nothing left running."""

import json
import os
import subprocess
import sys

import pytest

from assistant.oneshot import TRACE_ENV
from tests.conftest import ROOT

# (question, earlier turns): a name, a follow-up that borrows words from the turn before, a
# yes/no question, one the article cannot answer, a date phrase
CASES = [
    ("Who claimed the Haifa attack?", []),
    ("When did they launch it?", [("Who claimed the Haifa attack?",
                                   "The Islamic Resistance in Iraq [1].")]),
    ("Has Israel confirmed the Haifa attack?", []),
    ("How many Iranian soldiers were killed?", []),
    ("What did the Pentagon say on Thursday?", []),
]  # fmt: skip


def _fresh(seed_assistant, embed_model):
    from assistant import Assistant

    return Assistant(data_dir=seed_assistant.settings.store.data_dir, embed_model=embed_model)


@pytest.mark.parametrize("question,history", CASES)
def test_the_forked_reader_answers_as_one_process_does(seed_assistant, embed_model, question,
                                                        history):  # fmt: skip
    assistant = _fresh(seed_assistant, embed_model)
    assistant.read_in_a_fork()
    forked = assistant._forked
    answer = assistant.ask(question, history=history)
    assert forked._answered  # read in the child, not here
    assert not forked._process.is_alive() and forked._process.exitcode == 0
    assert answer.to_dict() == seed_assistant.ask(question, history=history).to_dict()


def test_a_word_the_child_has_no_weight_for_is_read_here(seed_assistant, embed_model,
                                                         monkeypatch):  # fmt: skip
    from assistant.engine import Assistant

    monkeypatch.setattr(Assistant, "_focus_idf", lambda self, retrieved, reader: {})
    assistant = _fresh(seed_assistant, embed_model)
    assistant.read_in_a_fork()
    forked = assistant._forked
    question = "Who claimed the Haifa attack?"
    answer = assistant.ask(question)
    assert not forked._answered and not forked._process.is_alive()
    assert answer.to_dict() == seed_assistant.ask(question).to_dict()


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), TRACE_ENV: "1"}
    env.pop("PYTHONUNBUFFERED", None)  # buffered, as usual: the output outlives os._exit
    return subprocess.run([sys.executable, "-m", "assistant", "ask", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def _processes_naming(text: str) -> list[int]:
    """Processes whose command line holds ``text`` (a forked child keeps its parent's)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if text.encode() in f.read():
                        found.append(int(entry))
            except OSError:
                continue
    return found


def test_the_one_shot_command_answers_through_its_forked_reader(seed_assistant):
    question = "Who claimed the Haifa attack?"
    data = str(seed_assistant.settings.store.data_dir)
    done = _cli(question, "--no-app", "--json", "--data-dir", data)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == seed_assistant.ask(question).to_dict()
    assert "trace: read in a forked process" in done.stderr  # a cold child, not the fallback
    assert "Traceback" not in done.stderr


def test_the_one_shot_command_stops_its_reader_on_an_error(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "assistant", "ask", "Who?", "--no-app",
                             "--data-dir", str(tmp_path / "none")], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    _, err = proc.communicate(timeout=120)
    assert proc.returncode != 0
    assert "No index at" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert _processes_naming(str(tmp_path)) == []  # the reader, loading, was stopped


def test_an_answer_that_cannot_be_written_exits_120(seed_assistant):
    """The one-shot command ends with ``os._exit`` after flushing; a flush that fails (a full
    disk) still says so by its status, as Python's own exit would."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PYTHONUNBUFFERED", None)
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "assistant", "ask", "Who claimed the Haifa "
                               "attack?", "--no-app", "--data-dir",
                               str(seed_assistant.settings.store.data_dir)], cwd=ROOT, env=env,
                              stdout=full, stderr=subprocess.PIPE, text=True,
                              timeout=120)  # fmt: skip
    assert done.returncode == 120, done.stderr
