"""The language models behind the 'local' and 'openai' answer backends, as llama-index LLMs.

``local``: the GGUF model in-process through xllamacpp (llama.cpp), wrapped in a small
``CustomLLM`` that applies the model's own chat template and streams through xllamacpp's
callback. The model is loaded once per process and calls are serialised (2 CPU cores do not run
two generations faster than one). ``openai``: any OpenAI-compatible server through llama-index's
``OpenAILike``. Both are built from explicit settings; nothing goes through llama-index's global
``Settings``. Every failure surfaces as ``BackendUnavailable`` with a one-line message.

    python -m assistant.llm serve --port 8080   # the local model as an OpenAI-compatible server
"""

from __future__ import annotations

import os
import queue
import secrets
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseGen,
    LLMMetadata,
    MessageRole,
)
from llama_index.core.bridge.pydantic import Field, PrivateAttr
from llama_index.core.llms import LLM
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.custom import CustomLLM

from assistant.errors import BackendUnavailable
from assistant.settings import LLMSettings

_MODELS: dict[tuple[str, int, int], LocalModel] = {}
_MODELS_LOCK = threading.Lock()


def _threads(requested: int) -> int:
    return requested or max(1, min(4, os.cpu_count() or 1))


def _import_xllamacpp():
    # With OpenMP's default busy-waiting, 2 threads on a shared 2-core CPU drop to 2-3 tokens/s
    # (../shared/MODELS.md); the policy is read when the library loads.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import xllamacpp
    except ImportError:
        raise BackendUnavailable(
            "The local LLM runtime is not installed: run `bash scripts/setup.sh --llm`."
        ) from None
    return xllamacpp


def server_params(
    path: Path, threads: int, context: int, host: str = "127.0.0.1", port: int = 0
) -> Any:
    """llama.cpp parameters for one model on the CPU, one slot, quiet."""
    xllamacpp = _import_xllamacpp()
    params = xllamacpp.CommonParams()
    params.model.path = str(path)
    params.n_ctx = context
    params.n_parallel = 1
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.verbosity = -1
    params.hostnames = [host]
    params.port = port
    return params


class LocalModel:
    """One loaded GGUF model; ``chat`` runs one chat completion at a time."""

    def __init__(self, path: Path, threads: int, context: int) -> None:
        xllamacpp = _import_xllamacpp()
        params = server_params(path, threads, context)
        # xllamacpp always listens on a loopback port too; a random key keeps that port closed
        params.api_keys = [secrets.token_hex(16)]
        try:
            self._server = xllamacpp.Server(params)
        except Exception as exc:  # the C++ loader's message, on one line
            raise BackendUnavailable(f"Could not load the local model {path}: {exc}") from None
        self.path = path
        self._lock = threading.Lock()

    def chat(self, request: dict[str, Any], on_chunk: Callable[[dict], bool] | None = None):
        """A chat completion; with ``on_chunk`` streamed (return True from it to stop)."""
        with self._lock:
            if on_chunk is None:
                return self._server.handle_chat_completions(dict(request, stream=False))
            return self._server.handle_chat_completions(dict(request, stream=True), on_chunk)


def load_local_model(path: Path, threads: int = 0, context: int = 2048) -> LocalModel:
    """The process-wide instance of a model (loaded on first use: ~2 s, ~1.9 GB)."""
    key = (str(path), _threads(threads), context)
    with _MODELS_LOCK:
        if key not in _MODELS:
            _MODELS[key] = LocalModel(path, key[1], context)
        return _MODELS[key]


def _error_of(payload: Any) -> str | None:
    if not isinstance(payload, dict):
        return f"unexpected response {type(payload).__name__}"
    error = payload.get("error")
    if error:
        return str(error.get("message") if isinstance(error, dict) else error)
    return None


class XLlamaCppLLM(CustomLLM):
    """A llama-index LLM over an in-process xllamacpp model (chat template from the GGUF)."""

    model_path: str = Field(description="The .gguf file.")
    threads: int = Field(default=0, description="CPU threads; 0 = all cores up to 4.")
    context_window: int = Field(default=2048, description="Context size in tokens.")
    max_tokens: int = Field(default=96, description="Tokens to generate at most.")
    temperature: float = Field(default=0.0, description="Sampling temperature.")
    _model: LocalModel | None = PrivateAttr(default=None)

    @classmethod
    def class_name(cls) -> str:
        return "xllamacpp_llm"

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(
            context_window=self.context_window,
            num_output=self.max_tokens,
            is_chat_model=True,
            model_name=Path(self.model_path).name,
        )

    @property
    def model(self) -> LocalModel:
        if self._model is None:
            self._model = load_local_model(Path(self.model_path), self.threads, self.context_window)
        return self._model

    def _request(self, messages: Sequence[ChatMessage], **kwargs: Any) -> dict[str, Any]:
        return {
            "messages": [{"role": m.role.value, "content": m.content or ""} for m in messages],
            "max_tokens": kwargs.get("max_tokens", self.max_tokens),
            "temperature": kwargs.get("temperature", self.temperature),
        }

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        result = self.model.chat(self._request(messages, **kwargs))
        problem = _error_of(result)
        if problem:
            raise BackendUnavailable(f"The local model failed: {problem}")
        try:
            text = result["choices"][0]["message"]["content"] or ""
        except (KeyError, IndexError, TypeError):
            raise BackendUnavailable("The local model returned a malformed response.") from None
        return ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=text))

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        request = self._request(messages, **kwargs)
        return self._stream(request)

    def _stream(self, request: dict[str, Any]) -> Iterator[ChatResponse]:
        """Run the blocking, callback-driven call in a thread; yield its deltas here."""
        chunks: queue.Queue = queue.Queue()
        stop = threading.Event()
        done = object()

        def on_chunk(chunk: dict) -> bool:
            chunks.put(chunk)
            return stop.is_set()

        def run() -> None:
            try:
                result = self.model.chat(request, on_chunk)
                if result is not None:
                    chunks.put(result)
            except BaseException as exc:  # handed to the consumer
                chunks.put(exc)
            finally:
                chunks.put(done)

        worker = threading.Thread(target=run, name="xllamacpp-stream", daemon=True)
        worker.start()
        text = ""
        try:
            while (chunk := chunks.get()) is not done:
                if isinstance(chunk, BaseException):
                    if isinstance(chunk, BackendUnavailable):
                        raise chunk
                    raise BackendUnavailable(f"The local model failed: {chunk}")
                problem = _error_of(chunk)
                if problem:
                    raise BackendUnavailable(f"The local model failed: {problem}")
                for choice in chunk.get("choices") or []:
                    delta = (choice.get("delta") or {}).get("content") or ""
                    if delta:
                        text += delta
                        yield ChatResponse(
                            message=ChatMessage(role=MessageRole.ASSISTANT, content=text),
                            delta=delta,
                        )
        finally:
            stop.set()  # the consumer stopped early: the next callback ends generation

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        response = self.chat([ChatMessage(role=MessageRole.USER, content=prompt)], **kwargs)
        return CompletionResponse(text=response.message.content or "")

    @llm_completion_callback()
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        def gen() -> CompletionResponseGen:
            messages = [ChatMessage(role=MessageRole.USER, content=prompt)]
            for response in self.stream_chat(messages, **kwargs):
                yield CompletionResponse(text=response.message.content or "", delta=response.delta)

        return gen()


def build_llm(backend: str, settings: LLMSettings) -> LLM:
    """The llama-index LLM for an answer backend name, from explicit settings."""
    if backend == "local":
        from assistant.modelfile import ModelFileError, resolve_model_path

        try:
            path = resolve_model_path(settings.local_model, settings.cache_dir)
        except ModelFileError as exc:
            raise BackendUnavailable(str(exc)) from None
        return XLlamaCppLLM(
            model_path=str(path),
            threads=settings.threads,
            context_window=settings.context,
            max_tokens=settings.max_tokens,
            temperature=settings.temperature,
        )
    if backend == "openai":
        try:
            from llama_index.llms.openai_like import OpenAILike
        except ImportError:
            raise BackendUnavailable(
                "The OpenAI-compatible client is not installed: run `bash scripts/setup.sh --llm`."
            ) from None
        return OpenAILike(
            model=settings.model,
            api_base=settings.base_url,
            api_key=settings.api_key.get_secret_value(),
            is_chat_model=True,
            is_function_calling_model=False,
            context_window=settings.context,
            max_tokens=settings.max_tokens,
            temperature=settings.temperature,
            timeout=settings.timeout_s,
            max_retries=0,  # a down server falls back at once instead of retrying for a minute
        )
    raise BackendUnavailable(f"No LLM for answer backend {backend!r}: use 'local' or 'openai'.")


def serve(path: Path, host: str, port: int, threads: int, context: int, api_key: str = "") -> Any:
    """Start llama.cpp's OpenAI-compatible HTTP server for ``path``; it stops when released."""
    xllamacpp = _import_xllamacpp()
    params = server_params(path, _threads(threads), context, host, port)
    if api_key:
        params.api_keys = [api_key]
    return xllamacpp.Server(params)


def main(argv: list[str] | None = None) -> int:
    import argparse
    import signal
    import sys

    from assistant.errors import AssistantError
    from assistant.modelfile import DEFAULT_MODEL, resolve_model_path
    from assistant.settings import get_settings

    parser = argparse.ArgumentParser(prog="python -m assistant.llm")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("serve", help="serve the local model over the OpenAI chat API")
    run.add_argument("--model", default=DEFAULT_MODEL, help="model name or .gguf path")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8080)
    run.add_argument("--threads", type=int, default=0)
    run.add_argument("--context", type=int, default=2048)
    run.add_argument("--api-key", default="", help="require this bearer key")
    args = parser.parse_args(argv)
    try:
        path = resolve_model_path(args.model, get_settings().llm.cache_dir)
        server = serve(path, args.host, args.port, args.threads, args.context, args.api_key)
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"serving {path.name} at {server.listening_address}/v1", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    del server
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
