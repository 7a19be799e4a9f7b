"""The typed errors of the library. Each message says what happened and what to do."""

from __future__ import annotations


class AssistantError(Exception):
    """Base class: the CLI and UI turn these into messages, never tracebacks."""


class BadSettings(AssistantError):
    """A setting has an invalid value."""


class IndexNotFound(AssistantError):
    """No index at the given folder."""


class IndexMismatch(AssistantError):
    """The index was built with other settings than those asked for now."""


class IndexCorrupt(AssistantError):
    """The index files are unreadable or inconsistent."""


class IndexLocked(AssistantError):
    """Another process is writing the index."""


class BadReport(AssistantError):
    """A report file cannot be ingested (binary, undecodable, empty, too large...)."""

    def __init__(self, file: str, reason: str):
        super().__init__(f"{file}: {reason}")
        self.file = file
        self.reason = reason


class EmptyCorpus(AssistantError):
    """No usable report was found."""


class BadQuestion(AssistantError):
    """The question is empty, too long or otherwise unusable."""


class ModelUnavailable(AssistantError):
    """The embedding model cannot be loaded."""


class QuoteMismatch(AssistantError):
    """A quote is not verbatim in its report: a bug, never shown to users as an answer."""


class ConversionMismatch(AssistantError):
    """A converted model does not reproduce the embeddings of the model it was converted from."""


class ScorerMismatch(AssistantError):
    """The evidence scorer file is missing, unreadable, or was trained on other features or another model."""


class BackendUnavailable(AssistantError):
    """The retrieval backend (a Milvus server, or its client library) cannot be reached or used."""
