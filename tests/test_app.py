"""The web app, launched for real on a free loopback port, driven by gradio_client, the load
generator's HTTP client (``eval.load``) and Chromium."""

from __future__ import annotations

import pytest

from tests.conftest import ROOT, chromium, copy_seed_corpus, running_app

SEED_GOLD = ROOT / "eval" / "gold" / "seed.jsonl"

ARTIFACTS = ROOT / "artifacts"


@pytest.fixture(scope="module")
def app_server(tmp_path_factory):
    """``python app.py`` on its own corpus and index; yields (url, corpus folder)."""
    base = tmp_path_factory.mktemp("app")
    corpus = copy_seed_corpus(base)
    with running_app(base, corpus) as url:
        yield url, corpus


@pytest.fixture
def client(app_server):
    from gradio_client import Client

    return Client(app_server[0], verbose=False)


@pytest.mark.slow
def test_question_then_follow_up(client):
    answer, sources = client.predict("Who claimed the Haifa attack?", api_name="/chat")
    assert "Islamic Resistance in Iraq" in answer.split("\n")[0]
    assert "<mark" in sources
    follow, _ = client.predict("When did they launch it?", api_name="/chat")
    first_line = follow.split("\n")[0]
    assert first_line != answer.split("\n")[0]
    assert "Thursday" in first_line


@pytest.mark.slow
def test_abstention_shows_no_sources(client):
    answer, sources = client.predict("Who won the 2022 FIFA World Cup?", api_name="/chat")
    assert "don't say" in answer
    assert "[1]" not in answer and "<mark" not in sources


@pytest.mark.slow
def test_empty_question_is_a_message_not_a_crash(client):
    answer, _ = client.predict("   ", api_name="/chat")
    assert "question is empty" in answer


@pytest.mark.slow
def test_a_json_request_of_the_wrong_shape_is_one_line(client):
    import json

    for payload in ("[1, 2]", '"Who?"', "{not json", '{"history": []}', "[" * 100_000):
        reply = json.loads(client.predict(payload, api_name="/ask_json"))
        assert reply == {"error": "The request must be JSON with a 'question'."}
    request = {"question": "Who claimed the Haifa attack?", "sources": 5}
    reply = json.loads(client.predict(json.dumps(request), api_name="/ask_json"))
    assert reply["error"].startswith("sources must be a source name or a list of names")


@pytest.mark.slow
def test_upload_then_ask_about_it(client, app_server, tmp_path):
    from gradio_client import handle_file

    article = tmp_path / "Lighthouse report.md"
    article.write_text(
        "---\ntitle: Old lighthouse reopens\nsource: Coast Herald\ndate: 2024-02-05\n---\n"
        "The Greyhaven lighthouse reopened on Monday after a two-year restoration costing "
        "4 million euros. Keeper Maren Olsted lit the lamp at dusk.\n"
    )
    broken = tmp_path / "broken.jsonl"
    broken.write_text("{not json\n")
    message, stats, _table, _sources = client.predict(
        [handle_file(str(article)), handle_file(str(broken))], "", api_name="/upload"
    )
    assert "1 article(s) added" in message
    assert "broken.jsonl** rejected: invalid JSON" in message
    assert "2 articles" in stats
    stored = sorted(p.name for p in (app_server[1] / "uploads").iterdir())
    assert stored == ["Lighthouse-report.md"]

    from gradio_client.exceptions import AppError

    pdf = tmp_path / "notes.pdf"
    pdf.write_bytes(b"%PDF-1.4")
    with pytest.raises(AppError, match="Invalid file type"):
        client.predict([handle_file(str(pdf))], "", api_name="/upload")
    assert sorted(p.name for p in (app_server[1] / "uploads").iterdir()) == stored
    answer, sources = client.predict("Who lit the lamp at the Greyhaven lighthouse?",
                                     api_name="/chat")  # fmt: skip
    assert "Maren Olsted" in answer and "Coast Herald" in answer


@pytest.mark.slow
@pytest.mark.browser
def test_browser_shows_answer_and_highlighted_passage(app_server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    with chromium() as driver:
        driver.get(app_server[0])
        wait = WebDriverWait(driver, 60)
        box = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "textarea")))
        ARTIFACTS.mkdir(exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "first-screen.png"))
        box.send_keys("Who claimed the Haifa attack?")
        box.send_keys(Keys.ENTER)
        mark = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".nd-passage mark")))
        assert "Haifa" in mark.text
        body = driver.find_element(By.TAG_NAME, "body").text
        assert "Islamic Resistance in Iraq" in body
        driver.save_screenshot(str(ARTIFACTS / "chat-haifa.png"))


@pytest.mark.slow
def test_load_client_keeps_a_conversation_per_session(app_server):
    """The load generator's lean HTTP client: answers as the app gives them, follow-ups read
    in their own session's conversation, and a new session starts afresh."""
    from eval.load import _Chat, run_load

    chat = _Chat(app_server[0])
    first = chat.ask("Who claimed the Haifa attack?")
    assert "Islamic Resistance in Iraq" in first.split("\n")[0]
    assert "Thursday" in chat.ask("When did they launch it?").split("\n")[0]
    chat.reset_session()  # a new conversation: nothing for "they" to refer to
    assert "What does “they” refer to?" in chat.ask("When did they launch it?")

    report = run_load(app_server[0], sessions=2, seconds=2, gold_path=SEED_GOLD)
    assert report.calls and not [c.error for c in report.calls if c.error]
    assert all(c.answer.strip() for c in report.calls)


def test_a_port_in_use_is_one_line_before_any_loading(tmp_path):
    """Started on a port something already listens on, the app says so in one line and
    exits 1 at once, before syncing the corpus or loading models (no Gradio traceback)."""
    import socket
    import subprocess
    import sys
    import time

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        started = time.monotonic()
        done = subprocess.run([sys.executable, "app.py", "--port", str(port), "--corpus",
                               str(tmp_path / "corpus"), "--data-dir", str(tmp_path / "index")],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and f"port {port} on 127.0.0.1 is not free" in lines[0], lines
    assert "Traceback" not in done.stderr and not (tmp_path / "index").exists()
    assert time.monotonic() - started < 30  # no model was loaded
