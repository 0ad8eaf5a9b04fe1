"""A hostile client against the real app: server files never read, article markup never run.

The app (``secure_app`` in conftest) runs on a free loopback port with its own upload folder;
a secret file lies outside the corpus. Gradio refuses any file reference outside the upload
folder before copying it (``InvalidPathError``), and the upload handler checks again.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, SECRET_CODE, chromium

HOSTILE = {
    "id": "hostile-1",
    "title": "Zephyrport <script>window.__xss=1;alert(1)</script> crane "
    '<img src=x onerror="window.__xss=2;alert(2)"> [click](javascript:alert(3))',
    "source": '<img src=x onerror="window.__xss=4;alert(4)">Evil Wire',
    "published_at": "2024-02-03",
    "url": "javascript:alert(5)",
    "text": "The Zephyrport harbor crane collapsed on Tuesday "
    '<img src=x onerror="window.__xss=3;alert(6)"> <script>window.__xss=5</script> '
    "[more](javascript:alert(8)), officials said. Write to x@evil.org or ftp://evil.org/x.",
}


@pytest.fixture
def remote_client(secure_app, monkeypatch):
    """A gradio_client that sends file references as they are, as a client on another machine
    does: gradio_client would otherwise read the named file on *this* machine and upload its
    bytes (exactly what ``handle_file`` does), which is an ordinary upload, not a server read."""
    from gradio_client import Client
    from gradio_client.client import Endpoint

    monkeypatch.setattr(Endpoint, "_upload_file", lambda self, f, data_index: f)
    return Client(secure_app[0], verbose=False)


def _text_under(folder: Path, needle: str) -> list[Path]:
    if not folder.exists():
        return []
    return [
        p for p in folder.rglob("*") if p.is_file() and needle.encode() in p.read_bytes()
    ]  # fmt: skip


def _assert_secret_nowhere(secure_app, client):
    url, corpus, uploads, secret, _ = secure_app
    for folder in (corpus, uploads, Path("/tmp/gradio")):
        assert _text_under(folder, SECRET_CODE) == [], folder
    answer, sources = client.predict(
        "What is the vault code of Zorblat Industries?", api_name="/chat"
    )
    assert "7741" not in answer and "7741" not in sources and "Brandvold" not in answer


@pytest.mark.slow
def test_the_exploit_verbatim_is_refused(secure_app, remote_client):
    from gradio_client.exceptions import AppError

    secret = str(secure_app[3])
    with pytest.raises(AppError, match="Upload refused: a file in the request did not arrive"):
        remote_client.predict(
            [{"path": secret, "meta": {"_type": "gradio.FileData"}}], "", api_name="/upload"
        )
    _assert_secret_nowhere(secure_app, remote_client)


@pytest.mark.slow
@pytest.mark.parametrize("target", ["README.md", "assistant/engine.py", "corpus/README.md"])
def test_files_of_the_project_are_refused(secure_app, remote_client, target):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="Upload refused"):
        remote_client.predict(
            [{"path": str(ROOT / target), "meta": {"_type": "gradio.FileData"}}], "",
            api_name="/upload",
        )  # fmt: skip


@pytest.mark.slow
def test_symlink_in_the_upload_folder_pointing_outside_is_refused(secure_app, remote_client):
    from gradio_client.exceptions import AppError

    url, corpus, uploads, secret, _ = secure_app
    [own] = uploads.glob("newsdesk-uploads-*")  # the app's private folder inside --upload-dir
    link = own / "planted" / "notes.md"
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(secret)
    with pytest.raises(AppError, match="Upload refused"):
        remote_client.predict(
            [{"path": str(link), "meta": {"_type": "gradio.FileData"}}], "", api_name="/upload"
        )
    link.unlink()
    _assert_secret_nowhere(secure_app, remote_client)


@pytest.mark.slow
def test_a_file_beside_the_apps_own_upload_folder_is_refused(secure_app, remote_client):
    """--upload-dir names where the app makes its own folder: whatever else lies there (the
    folder may be /tmp or a home folder) is no upload."""
    from gradio_client.exceptions import AppError

    url, corpus, uploads, secret, _ = secure_app
    beside = uploads / "notes.md"
    shutil.copy(secret, beside)
    try:
        with pytest.raises(AppError, match="Upload refused"):
            remote_client.predict(
                [{"path": str(beside), "meta": {"_type": "gradio.FileData"}}], "",
                api_name="/upload",
            )  # fmt: skip
    finally:
        beside.unlink()
    _assert_secret_nowhere(secure_app, remote_client)


@pytest.mark.slow
def test_raw_http_request_with_a_server_path_is_refused(secure_app):
    url, _, _, secret, _ = secure_app
    payload = {"data": [[{"path": str(secret), "meta": {"_type": "gradio.FileData"}}], ""]}
    event = httpx.post(f"{url}gradio_api/call/upload", json=payload, timeout=30).json()
    stream = httpx.get(f"{url}gradio_api/call/upload/{event['event_id']}", timeout=60).text
    assert "event: error" in stream and "Upload refused" in stream
    assert "Traceback" not in stream and "7741" not in stream


@pytest.mark.slow
def test_same_call_from_a_client_holding_the_file_is_an_ordinary_upload(secure_app, tmp_path):
    """For the record: unpatched, gradio_client reads the named file itself and POSTs its
    bytes to /gradio_api/upload first; the server only ever sees its own upload folder."""
    from gradio_client import Client

    own = tmp_path / "my-story.md"
    own.write_text("---\ntitle: Bridge\ndate: 2024-02-02\n---\nThe Oxbury bridge reopened.\n")
    seen = []
    real_post = httpx.post

    def spy(url, *args, **kwargs):
        seen.append(str(url))
        return real_post(url, *args, **kwargs)

    client = Client(secure_app[0], verbose=False)
    import gradio_client.client as client_module

    client_module.httpx.post, saved = spy, client_module.httpx.post
    try:
        message, *_ = client.predict(
            [{"path": str(own), "meta": {"_type": "gradio.FileData"}}], "", api_name="/upload"
        )
    finally:
        client_module.httpx.post = saved
    assert any(u.endswith("/gradio_api/upload") for u in seen)
    assert "my-story.md**: 1 article(s) added" in message


@pytest.mark.slow
@pytest.mark.browser
def test_hostile_article_is_shown_as_text_in_the_browser(secure_app, tmp_path):
    from gradio_client import Client, handle_file
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    url = secure_app[0]
    upload = tmp_path / "hostile.jsonl"
    upload.write_text(json.dumps(HOSTILE) + "\n")
    message, *_ = Client(url, verbose=False).predict([handle_file(str(upload))], "",
                                                      api_name="/upload")  # fmt: skip
    assert "1 article(s) added" in message

    (ROOT / "artifacts").mkdir(exist_ok=True)
    with chromium() as driver:
        driver.get(url)
        wait = WebDriverWait(driver, 60)
        box = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "textarea")))
        box.send_keys("What collapsed in Zephyrport harbor?")
        box.send_keys(Keys.ENTER)
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".nd-passage mark")))
        wait.until(lambda d: "officials said" in d.find_element(By.TAG_NAME, "body").text)
        chat_page = driver.find_element(By.TAG_NAME, "body").text
        driver.save_screenshot(str(ROOT / "artifacts" / "hostile-article.png"))
        tabs = driver.find_elements(By.XPATH, "//button[normalize-space()='Corpus']")
        driver.execute_script("arguments[0].click()", next(t for t in tabs if t.is_displayed()))
        wait.until(lambda d: "Evil Wire" in d.find_element(By.TAG_NAME, "body").text)
        corpus_page = driver.find_element(By.TAG_NAME, "body").text
        try:
            alert = driver.switch_to.alert.text
        except NoAlertPresentException:
            alert = None
        found = driver.execute_script(
            """
            const bad = [];
            for (const el of document.querySelectorAll('[href], [src], [action], [formaction]')) {
              for (const name of ['href', 'src', 'action', 'formaction']) {
                const v = (el.getAttribute(name) || '').replace(/[\\s\\u0000-\\u001f]/g, '');
                if (/^javascript:/i.test(v)) bad.push(el.outerHTML.slice(0, 120));
              }
            }
            const injected = [...document.querySelectorAll('img[src="x"], script')]
              .filter(el => /alert|__xss/.test(el.outerHTML)).map(el => el.outerHTML);
            const links = [...document.querySelectorAll('.nd-sources a, .message a')]
              .map(a => a.getAttribute('href'))
              .filter(h => !/^https?:\\/\\//i.test(h || ''));
            return {bad, injected, links, xss: window.__xss || null};
            """
        )
    assert alert is None
    assert found == {"bad": [], "injected": [], "links": [], "xss": None}
    assert "<script>window.__xss=1;alert(1)</script>" in chat_page  # the title, as text
    assert '<img src=x onerror="window.__xss=3;alert(6)">' in chat_page  # the quote, as text
    assert "[more](javascript:alert(8))" in chat_page
    assert "<script>window.__xss=1;alert(1)</script>" in corpus_page  # the article list
    assert '<img src=x onerror="window.__xss=4;alert(4)">Evil Wire' in corpus_page
