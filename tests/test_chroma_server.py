"""The same code against a real `chroma run` server on 127.0.0.1."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from assistant import BackendUnavailable
from tests.conftest import free_port


@pytest.fixture
def chroma_server(tmp_path):
    chroma = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    port = free_port()
    proc = subprocess.Popen(
        [chroma, "run", "--path", str(tmp_path / "server-data"), "--host", "127.0.0.1",
         "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1)
            break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("chroma server did not start")
    yield port
    proc.terminate()
    proc.wait(timeout=20)


@pytest.mark.slow
@pytest.mark.server
def test_ingest_and_ask_through_a_chroma_server(make_assistant, seed_corpus, chroma_server):
    server = {"chroma_host": "127.0.0.1", "chroma_port": chroma_server}
    assistant = make_assistant(store=server)
    summary = assistant.ingest(seed_corpus, progress=False)
    assert len(summary.added) == 1
    fresh = make_assistant("other", store=server)  # a second client sees the same index
    answer = fresh.ask("Who claimed the Haifa attack?")
    assert "Islamic Resistance in Iraq" in answer.answer
    assert fresh.ingest(seed_corpus, progress=False).chunks_added == 0


def test_unreachable_server_is_a_clear_error(make_assistant):
    port = free_port()
    assistant = make_assistant(store={"chroma_host": "127.0.0.1", "chroma_port": port})
    with pytest.raises(BackendUnavailable, match="Cannot reach the Chroma server"):
        assistant.ask("Who claimed the Haifa attack?")
