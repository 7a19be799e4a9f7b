"""Question answering with verbatim citations over Vietnamese provincial reports."""

from __future__ import annotations

from .config import Settings, load_settings
from .errors import AssistantError
from .records import Answer, Chunk, Citation, Document, Hit

__all__ = ["Answer", "Assistant", "AssistantError", "Chunk", "Citation", "Document", "Hit", "Settings", "load_settings"]
__version__ = "0.1.0"


def __getattr__(name: str):
    # The facade pulls in numpy/faiss: import it only when asked for, to keep `assistant --help` fast.
    if name == "Assistant":
        from .service import Assistant

        return Assistant
    raise AttributeError(name)
