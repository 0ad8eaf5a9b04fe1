"""Newsdesk: questions over news articles, answered with a citation on every claim."""

from typing import TYPE_CHECKING

from assistant.errors import (
    AssistantError,
    BackendUnavailable,
    EmbeddingMismatch,
    IndexMissing,
    IndexOutdated,
    InvalidInput,
    InvalidQuestion,
    UploadRefused,
)
from assistant.settings import Settings, get_settings
from assistant.types import Answer, Citation, IngestSummary

if TYPE_CHECKING:
    from assistant.engine import Assistant

__all__ = [
    "Answer", "Assistant", "AssistantError", "BackendUnavailable", "Citation",
    "EmbeddingMismatch", "IndexMissing", "IndexOutdated", "IngestSummary", "InvalidInput",
    "InvalidQuestion", "Settings", "UploadRefused", "get_settings",
]  # fmt: skip


def __getattr__(name: str):
    if name == "Assistant":  # imported lazily: it pulls in the heavy libraries on use
        from assistant.engine import Assistant

        return Assistant
    raise AttributeError(f"module 'assistant' has no attribute {name!r}")
