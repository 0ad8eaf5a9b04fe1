"""The embedding model: chunk and sentence vectors at ingest, question vectors when asking.

``Embedder`` is a llama-index ``BaseEmbedding`` (so llama-index components take it as is):
- at ingest, ``encode_chunks`` runs sentence-transformers once per chunk and pools the token
  vectors twice, over the whole chunk (the chunk vector, identical to a plain ``encode``) and
  over each sentence's tokens (its sentence vectors, "late chunking"), so sentence-level
  evidence costs no extra model pass;
- for questions, a NumPy forward pass of the same weights (``assistant.encoder``) when the
  model is a BERT mean-pooling model, so asking never imports torch.
"""

from __future__ import annotations

import base64
import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

from assistant.encoder import resolve_model_path

_LOCK = threading.Lock()


def offline_environment() -> None:
    """Make sure nothing tries to reach a model hub, and keep libraries quiet."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


class Embedder(BaseEmbedding):
    """Sentence-transformers for documents, NumPy for questions; one model, one vector space."""

    _folder: Path = PrivateAttr()
    _model: Any = PrivateAttr(default=None)  # SentenceTransformer, loaded on first document
    _query: Any = PrivateAttr(default=None)  # QueryEncoder, or None to use the model
    _lock: Any = PrivateAttr(default_factory=threading.Lock)

    def __init__(self, folder: Path, batch_size: int = 64, **kwargs: Any) -> None:
        super().__init__(model_name=str(folder), embed_batch_size=batch_size, **kwargs)
        self._folder = Path(folder)
        self._lock = threading.Lock()
        from assistant.encoder import QueryEncoder

        if QueryEncoder.supports(self._folder):
            self._query = QueryEncoder(self._folder)

    @classmethod
    def class_name(cls) -> str:
        return "NewsdeskEmbedder"

    @property
    def dimensions(self) -> int:
        if self._query is not None:
            return int(self._query.word_embeddings.shape[1])
        return int(self.sentence_transformer.get_embedding_dimension())

    @property
    def sentence_transformer(self):
        """The sentence-transformers model (imports torch on first use)."""
        with self._lock:
            if self._model is None:
                offline_environment()
                _quiet_transformers()
                from sentence_transformers import SentenceTransformer

                self._model = SentenceTransformer(str(self._folder), device="cpu")
            return self._model

    @property
    def word_vectors(self) -> np.ndarray | None:
        """Static word-piece vectors (the input embedding matrix), or None."""
        return self._query.word_embeddings if self._query is not None else None

    def token_ids(self, text: str) -> list[int]:
        if self._query is not None:
            return self._query.token_ids(text)
        return self.sentence_transformer.tokenizer(text, add_special_tokens=False)["input_ids"]

    def query_vector(self, text: str) -> np.ndarray:
        """The unit-length vector of a question."""
        if self._query is not None:
            return self._query.encode(text)
        vector = self.sentence_transformer.encode([text], normalize_embeddings=True)[0]
        return np.asarray(vector, dtype=np.float32)

    def _encode_chunks_numpy(self, texts, spans):
        """``encode_chunks`` by the NumPy encoder, one text at a time."""
        chunks, sentences = [], []
        for text, text_spans in zip(texts, spans, strict=True):
            tokens, offsets = self._query.token_vectors(text)  # one forward pass for both
            pooled = tokens.mean(0)
            chunks.append(pooled / max(float(np.linalg.norm(pooled)), 1e-12))
            sentences.append(_pool_spans(tokens, offsets, text_spans))
        return np.asarray(chunks, dtype=np.float32).reshape(len(texts), -1), sentences

    # llama-index's interface
    def _get_query_embedding(self, query: str) -> list[float]:
        return self.query_vector(query).tolist()

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embeddings([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        model = self.sentence_transformer
        vectors = model.encode(texts, batch_size=self.embed_batch_size, normalize_embeddings=True)
        return vectors.tolist()

    def encode_chunks(
        self, texts: list[str], spans: list[list[tuple[int, int]]], numpy_up_to: int = 0
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Chunk vectors and, per chunk, one vector per ``(start, end)`` character span.

        One forward pass per chunk: the token vectors are mean-pooled over the whole text (as
        sentence-transformers does) and over the tokens of each span. A span cut off by the
        model's length limit gets a zero vector (callers fall back to the chunk vector).
        Up to ``numpy_up_to`` texts are run by the NumPy encoder while torch is not loaded yet.
        """
        if self._query is not None and self._model is None and len(texts) <= numpy_up_to:
            return self._encode_chunks_numpy(texts, spans)
        import torch

        model = self.sentence_transformer
        transformer, tokenizer = model[0], model.tokenizer
        dims = model.get_embedding_dimension()
        chunks = np.zeros((len(texts), dims), dtype=np.float32)
        sentences: list[np.ndarray] = [np.zeros((0, dims), np.float32)] * len(texts)
        # Tokenized once, then batched by token count: sentence-transformers sorts by characters,
        # and each batch pads to its longest text (about a fifth more tokens on the benchmark).
        encoded = tokenizer(texts, truncation=True, max_length=model.max_seq_length,
                            return_offsets_mapping=True, return_attention_mask=False)  # fmt: skip
        ids, offsets = encoded["input_ids"], encoded["offset_mapping"]
        names = tokenizer.model_input_names
        order = sorted(range(len(texts)), key=lambda i: -len(ids[i]))
        with torch.inference_mode():
            for at in range(0, len(order), self.embed_batch_size):
                batch = order[at : at + self.embed_batch_size]
                width = len(ids[batch[0]])
                input_ids = np.full((len(batch), width), tokenizer.pad_token_id or 0, np.int64)
                mask = np.zeros((len(batch), width), np.int64)
                spans_at = np.zeros((len(batch), width, 2), np.int64)
                for row, i in enumerate(batch):
                    n = len(ids[i])
                    input_ids[row, :n], mask[row, :n], spans_at[row, :n] = ids[i], 1, offsets[i]
                features = {"input_ids": torch.from_numpy(input_ids),
                            "attention_mask": torch.from_numpy(mask)}  # fmt: skip
                if "token_type_ids" in names:
                    features["token_type_ids"] = torch.zeros_like(features["input_ids"])
                tokens = transformer(features)["token_embeddings"]
                weights = features["attention_mask"].unsqueeze(-1).to(tokens.dtype)
                pooled = (tokens * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
                chunks[batch] = torch.nn.functional.normalize(pooled, dim=-1).numpy()
                token_vectors = tokens.numpy()
                for row, i in enumerate(batch):
                    sentences[i] = _pool_spans(token_vectors[row], spans_at[row], spans[i])
        return chunks, sentences


def _pool_spans(tokens: np.ndarray, offsets: np.ndarray, spans: list[tuple[int, int]]):
    if not spans:
        return np.zeros((0, tokens.shape[1]), np.float32)
    real = offsets[:, 1] > offsets[:, 0]  # special and padding tokens have empty offsets
    starts, ends = offsets[:, 0], offsets[:, 1]
    select = np.stack([(starts < e) & (ends > s) & real for s, e in spans]).astype(np.float32)
    vectors = select @ tokens
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.where(norms == 0, 1.0, norms)).astype(np.float32)


def pack_vectors(vectors: np.ndarray) -> str:
    """Unit vectors as int8 (scaled to the largest component), base64: ~1/6 of float32 text.
    Cosine similarity ignores the scale, so none is stored."""
    if len(vectors) == 0:
        return ""
    peak = np.abs(vectors).max(axis=1, keepdims=True)
    quantized = np.round(vectors / np.where(peak == 0, 1.0, peak) * 127).astype(np.int8)
    return base64.b64encode(quantized.tobytes()).decode("ascii")


def unpack_vectors(blob: str, dims: int) -> np.ndarray:
    """Unit vectors from ``pack_vectors`` (zero rows stay zero)."""
    if not blob:
        return np.zeros((0, dims), np.float32)
    raw = np.frombuffer(base64.b64decode(blob), dtype=np.int8).astype(np.float32)
    vectors = raw.reshape(-1, dims)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1.0, norms)


def _quiet_transformers() -> None:
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
    except ImportError:
        pass


@lru_cache(maxsize=4)
def _load(spec: str, batch_size: int) -> Embedder:
    offline_environment()
    return Embedder(resolve_model_path(spec), batch_size=batch_size)


def load_embedding(spec: str, batch_size: int = 64) -> Embedder:
    """The embedder for ``spec``, shared by every caller in this process."""
    with _LOCK:
        return _load(spec, batch_size)
