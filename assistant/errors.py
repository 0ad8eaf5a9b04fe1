"""Errors a user can act on: each message says what went wrong and how to fix it."""


class AssistantError(Exception):
    """Base class: the CLI prints the message and exits non-zero, the UI shows it.

    The message is always one line, whatever values it quotes.
    """

    def __str__(self) -> str:
        return " ".join(super().__str__().split())


class InvalidInput(AssistantError):
    """An argument the assistant cannot use: a history, filter, date, path or flag."""


class InvalidQuestion(InvalidInput):
    """The question is missing, not text, empty, unreadable or longer than the limit."""


class UploadRefused(InvalidInput):
    """An uploaded file did not arrive with the request, or cannot be taken."""


class IndexMissing(AssistantError):
    """No index has been built yet at the configured location."""


class EmbeddingMismatch(AssistantError):
    """The index was built with another embedding model than the settings name."""


class BackendUnavailable(AssistantError):
    """A configured backend (Chroma server, LLM server) cannot be reached or is unknown."""


class IndexOutdated(AssistantError):
    """The index was built by an older version; an ingest upgrades it."""
