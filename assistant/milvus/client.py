"""Connecting to Milvus, with its failures turned into the library's typed errors."""

from __future__ import annotations

import logging
from typing import Any

from ..config import Settings
from ..errors import BackendUnavailable

_clients: dict[tuple[str, str], Any] = {}


def is_embedded(uri: str) -> bool:
    """A file path is milvus-lite, run inside this process."""
    return not uri.startswith(("http://", "https://", "tcp://", "unix:"))


def connect(settings: Settings):
    """A MilvusClient for settings' URI, one per process and address.

    milvus-lite lets one process at a time open its file, and a second client in the same process would
    open it again: reusing the client keeps the chat, its uploads and its reloads on one connection.

    Raises:
        BackendUnavailable: pymilvus is missing, the server does not answer, or the milvus-lite file is held
            by another process.
    """
    uri = settings.resolved_milvus_uri()
    key = (uri, settings.milvus_token)
    if key in _clients:
        return _clients[key]
    try:
        from pymilvus import MilvusClient
    except ImportError:
        raise BackendUnavailable(
            "The Milvus backend needs pymilvus and milvus-lite: pip install 'report-assistant[milvus]'."
        ) from None
    # pymilvus logs every failed request with its traceback, and warns on each milvus-lite listing; the
    # failures reach the user as one typed error instead.
    logging.getLogger("pymilvus").setLevel(logging.CRITICAL)
    try:
        client = MilvusClient(uri=uri, token=settings.milvus_token, timeout=settings.milvus_timeout)
    except Exception as exc:  # pymilvus raises several unrelated types for one cause: no connection
        raise BackendUnavailable(_explain(uri, exc)) from None
    _clients[key] = client
    return client


def _explain(uri: str, exc: Exception) -> str:
    reason = getattr(exc, "message", None) or str(exc)
    if is_embedded(uri):
        return (
            f"Cannot open the embedded Milvus file {uri}: {reason}. milvus-lite lets one process at a time use it "
            "(stop the other one, e.g. a running chat), or serve from a Milvus server: --milvus-uri http://host:19530"
        )
    return f"Cannot reach Milvus at {uri}: {reason}. Start the server or set --milvus-uri / ASSISTANT_MILVUS_URI."


def backend_error(uri: str, action: str, exc: Exception) -> BackendUnavailable:
    """A failed Milvus request as a typed error naming what was being done."""
    reason = getattr(exc, "message", None) or str(exc)
    return BackendUnavailable(f"Milvus at {uri} failed to {action}: {reason}")
