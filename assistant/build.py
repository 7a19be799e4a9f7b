"""Corpus -> index: ingest, chunk, embed, index (FAISS + BM25), save atomically."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .chunk import chunk_documents
from .config import Settings
from .dense import DenseIndex
from .embed import Embedder, make_embedder
from .errors import BadReport
from .ingest import read_corpus
from .records import Chunk
from .sparse import SparseIndex
from .store import IndexData, build_manifest, save_index, writer_lock


def passage_text(chunk: Chunk) -> str:
    """What is embedded and BM25-indexed for a chunk: its report title gives it context
    ("Bắc Giang" is often only in the title); offsets still refer to the chunk text alone."""
    return f"{chunk.title}\n{chunk.text}"


@dataclass
class BuildResult:
    """What a build did, for the CLI summary and benchmarks."""

    path: Path
    documents: int
    chunks: int
    skipped: list[BadReport] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        t = self.seconds
        lines = [
            f"Indexed {self.documents} report(s), {self.chunks} chunks in {t.get('total', 0):.1f} s "
            f"(embedding {t.get('embed', 0):.1f} s, {self.chunks / max(t.get('embed', 1e-9), 1e-9):.1f} chunks/s).",
            f"Index: {self.path}",
        ]
        if self.skipped:
            lines.append(f"Skipped {len(self.skipped)} file(s):")
            lines += [f"  {s.file}: {s.reason}" for s in self.skipped]
        return "\n".join(lines)


def build_index_data(
    settings: Settings, embedder: Embedder, documents, progress: bool = False, timings: dict[str, float] | None = None
) -> IndexData:
    """Chunk, embed and index documents in memory (nothing is written)."""
    timings = timings if timings is not None else {}
    t0 = time.perf_counter()
    chunks = chunk_documents(documents, settings)
    timings["chunk"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    texts = [passage_text(c) for c in chunks]
    vectors = embedder.encode_passages(texts, progress=progress) if texts else np.zeros((0, embedder.dim), np.float32)
    timings["embed"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    dense = DenseIndex(embedder.dim)
    dense.add(vectors, np.arange(len(chunks)))
    sparse = SparseIndex.build(texts, settings.bm25_bigrams)
    timings["index"] = time.perf_counter() - t0
    manifest = build_manifest(settings, embedder.model_id, embedder.dim, documents, chunks)
    return IndexData(manifest, {d.doc_id: d for d in documents}, chunks, dense, sparse)


def build_index(settings: Settings, embedder: Embedder | None = None, progress: bool | None = None) -> BuildResult:
    """Full build of settings.corpus into settings.index.

    Args:
        settings: corpus and index paths, chunking and model settings.
        embedder: reuse a loaded model (default: load the one the settings name).
        progress: show a progress bar (default: settings.show_progress).

    Raises:
        EmptyCorpus, IndexLocked, ModelUnavailable.
    """
    progress = settings.show_progress if progress is None else progress
    timings: dict[str, float] = {}
    start = time.perf_counter()
    with writer_lock(settings.index):
        t0 = time.perf_counter()
        report = read_corpus(settings.corpus, settings)
        timings["ingest"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        embedder = embedder or make_embedder(settings)
        timings["model_load"] = time.perf_counter() - t0
        data = build_index_data(settings, embedder, report.documents, progress, timings)
        t0 = time.perf_counter()
        data.manifest["skipped"] = [{"file": s.file, "reason": s.reason} for s in report.skipped]
        path = save_index(settings.index, data)
        timings["save"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - start
    return BuildResult(path, len(report.documents), len(data.chunks), report.skipped, timings)
