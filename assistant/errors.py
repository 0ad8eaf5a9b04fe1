"""Errors a user can act on: each message says what went wrong and how to fix it."""


class AssistantError(Exception):
    """Base class: the CLI prints the message and exits non-zero, the UI shows it."""


class InvalidQuestion(AssistantError):
    """The question is empty or longer than the limit."""


class IndexMissing(AssistantError):
    """No index has been built yet at the configured location."""


class EmbeddingMismatch(AssistantError):
    """The index was built with another embedding model than the settings name."""


class BackendUnavailable(AssistantError):
    """A configured backend (Chroma server, LLM server) cannot be reached or is unknown."""


class IndexOutdated(AssistantError):
    """The index was built by an older version; an ingest upgrades it."""
