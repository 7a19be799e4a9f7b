"""Corpus -> index: ingest, chunk, embed, index (FAISS + BM25), save atomically."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .chunk import chunk_documents
from .config import Settings
from .dense import DenseIndex, ivf_lists, resolve_kind
from .embed import Embedder, make_embedder
from .errors import BadReport
from .ingest import read_corpus
from .records import Chunk, Document
from .sparse import SparseIndex
from .store import IndexData, build_manifest, checkpoint, chunk_term_counts, save_index, writer_lock
from .units import build_units
from .vietnamese import folded_terms


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
            f"(embedding {t.get('embed', 0):.1f} s, {self.chunks / max(t.get('embed', 1e-9), 1e-9):.1f} chunks/s; "
            f"sentence units {t.get('embed_units', 0):.1f} s).",
            f"Index: {self.path}",
        ]
        if self.skipped:
            lines.append(f"Skipped {len(self.skipped)} file(s):")
            lines += [f"  {s.file}: {s.reason}" for s in self.skipped]
        return "\n".join(lines)


def _term_counts(
    old: IndexData | None, chunks: list[Chunk], reuse: list[tuple[int, int]], fresh: list[int]
) -> dict[str, int]:
    """Chunks per answer term: the old counts, minus the chunks that left, plus the new ones."""
    if old is None or old.term_df is None:
        return chunk_term_counts(c.text for c in chunks)
    counts = Counter(old.term_df)
    kept = {o for _, o in reuse}
    for row, chunk in enumerate(old.chunks):
        if row not in kept:
            counts.subtract(set(folded_terms(chunk.text)))
    for row in fresh:
        counts.update(set(folded_terms(chunks[row].text)))
    return {t: n for t, n in counts.items() if n > 0}


def _reusable_cells(settings: Settings, old: IndexData | None, kind: str, size: int) -> np.ndarray | None:
    """An update keeps the IVF cells it had while the data has not outgrown them (k-means is the slow
    part of an IVF build); past twice or half the cells the data calls for, they are trained again."""
    if old is None or kind != "ivf":
        return None
    cells = old.dense.centroids()
    wanted = settings.ivf_nlist or ivf_lists(size)
    if cells is None or not (wanted / 2 <= len(cells) <= 2 * wanted):
        return None
    return cells


def build_index_data(
    settings: Settings,
    embedder: Embedder,
    documents: list[Document],
    progress: bool = False,
    old: IndexData | None = None,
    timings: dict[str, float] | None = None,
    file_stats: dict[str, tuple[int, int]] | None = None,
) -> tuple[IndexData, int]:
    """Chunk, embed and index documents in memory (nothing is written).

    Chunks whose id and text `old` already holds keep their stored vectors, so an update embeds
    only new content. Documents are ordered by file name: the same corpus always gives the same rows.

    Returns:
        The index data and how many chunks were embedded.
    """
    timings = timings if timings is not None else {}
    t0 = time.perf_counter()
    documents = sorted(documents, key=lambda d: d.file)
    # Reports the old index holds keep their chunks (same text, same settings: same chunks).
    old_chunks: dict[str, list[Chunk]] = {}
    if old is not None:
        for c in old.chunks:
            old_chunks.setdefault(c.doc_id, []).append(c)
    fresh: dict[str, list[Chunk]] = {}
    for c in chunk_documents([d for d in documents if d.doc_id not in old_chunks], settings):
        fresh.setdefault(c.doc_id, []).append(c)
    chunks = []
    for d in documents:
        kept = old_chunks.get(d.doc_id)
        if kept is not None:
            chunks += [c if c.file == d.file else replace(c, file=d.file) for c in kept]
        else:
            chunks += fresh.get(d.doc_id, [])
    timings["chunk"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    vectors = np.zeros((len(chunks), embedder.dim), dtype=np.float32)
    to_embed: list[int] = []
    reuse: list[tuple[int, int]] = []
    for row, chunk in enumerate(chunks):
        old_row = old.chunk_rows.get(chunk.chunk_id) if old is not None else None
        if old_row is not None and old.chunks[old_row].text == chunk.text:
            reuse.append((row, old_row))
        else:
            to_embed.append(row)
    if reuse:
        vectors[[r for r, _ in reuse]] = old.dense.vectors(np.array([o for _, o in reuse]))
    checkpoint("embed")
    if to_embed:
        vectors[to_embed] = embedder.encode_passages([passage_text(chunks[i]) for i in to_embed], progress=progress)
    timings["embed"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    checkpoint("embed_units")
    units, embedded_units = build_units(
        documents,
        embedder,
        settings.unit_max_chars,
        settings.unit_min_chars,
        old=old.units if old is not None else None,
        progress=progress,
        old_texts={d.doc_id: d.text for d in old.documents.values()} if old is not None else None,
    )
    timings["embed_units"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    milvus = settings.backend == "milvus"
    # On Milvus the local vectors are only kept (for updates and moves), never searched: exact float32 rows.
    kind = "flat" if milvus else resolve_kind(settings.dense_index, len(chunks), settings.ann_threshold)
    dense = DenseIndex(
        embedder.dim,
        kind=kind,
        hnsw_m=settings.hnsw_m,
        ef_construction=settings.hnsw_ef_construction,
        ef_search=settings.hnsw_ef_search,
        nprobe=settings.ivf_nprobe,
        store="float32" if milvus else settings.dense_store,
        nlist=settings.ivf_nlist,
    )
    dense.add(vectors, np.arange(len(chunks)), centroids=_reusable_cells(settings, old, kind, len(chunks)))
    reused = dict(reuse)
    sparse = None
    if not milvus:
        sparse = SparseIndex.build(
            [passage_text(c) for c in chunks],
            settings.bm25_bigrams,
            previous=old.sparse if old is not None else None,
            reuse_rows=[reused.get(row) for row in range(len(chunks))] if reused else None,
        )
    timings["index"] = time.perf_counter() - t0
    # A report keeps the time it first entered the index across updates.
    added_at = {d["doc_id"]: d["added_at"] for d in old.manifest.get("documents", []) if "added_at" in d} if old else {}
    manifest = build_manifest(
        settings, embedder.model_id, embedder.dim, documents, chunks, added_at=added_at, file_stats=file_stats
    )
    manifest["dense"] = {"kind": kind, "store": dense.store}
    manifest["backend"] = {"name": settings.backend}
    if milvus:
        from .milvus.collection import collection_name

        manifest["backend"]["collection"] = collection_name(settings)
    if kind == "hnsw":
        manifest["dense"]["hnsw_m"] = settings.hnsw_m
    if kind == "ivf":
        manifest["dense"]["nlist"] = len(dense.centroids())
    term_df = _term_counts(old, chunks, reuse, to_embed)
    manifest["units"]["count"] = len(units)
    data = IndexData(
        manifest,
        {d.doc_id: d for d in documents},
        chunks,
        dense,
        sparse,
        term_df=term_df,
        units=units,
        previous=old.path if old is not None else None,
    )
    return data, len(to_embed)


def publish(settings: Settings, data: IndexData) -> Path:
    """Save `data` as the new index version; on Milvus, its chunks reach the collection before the switch
    and the rows it no longer holds leave after (assistant/milvus/sync.py: kill-safe, re-runnable)."""
    if data.manifest["backend"]["name"] != "milvus":
        return save_index(settings.index, data)
    from .milvus.sync import prune, push

    collection = push(settings, data, data.manifest["backend"]["collection"])
    path = save_index(settings.index, data)
    prune(collection, data)
    return path


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
        data, _ = build_index_data(
            settings, embedder, report.documents, progress, timings=timings, file_stats=report.stats
        )
        t0 = time.perf_counter()
        data.manifest["skipped"] = [{"file": s.file, "reason": s.reason} for s in report.skipped]
        path = publish(settings, data)
        timings["save"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - start
    return BuildResult(path, len(report.documents), len(data.chunks), report.skipped, timings)
