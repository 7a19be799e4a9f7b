"""Quotable units (sentences, and the clauses of long sentences) with their vectors, per index version.

A unit is exactly a span the answerer may quote: it starts where a sentence or a clause starts, never
inside one. Units are cut from the whole report (not from chunks, whose edges may fall mid-sentence) and
each gets a vector from the index's embedding model ("passage: " side), computed at build time and
stored with the index version, so a question costs one dot product per candidate unit instead of
embedding sentences while the user waits (evals/bench_units.py measures both).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import IndexCorrupt
from .records import Chunk, Document
from .sentences import sentence_spans, trim_span

# Bumped whenever the way units are cut changes: an index with other units must be rebuilt.
UNITS_VERSION = 1
SPANS_FILE = "unit_spans.npy"
VECTORS_FILE = "unit_vectors.npy"

# Clause boundaries inside a long sentence: "; " and ": " (Vietnamese reports chain items with them).
_CLAUSE = re.compile(r"[;:](?=\s)")


def unit_spans(text: str, max_chars: int, min_chars: int) -> list[tuple[int, int]]:
    """(start, end) of every unit of a text, in order, covering each sentence once.

    A sentence up to `max_chars` is one unit. A longer one is cut at its clause boundaries ("; ", ": ");
    a clause shorter than `min_chars` is joined to its neighbour so no unit is a stray fragment. A
    clause with no such boundary stays whole, however long: a quote never starts after a mere comma.
    """
    out: list[tuple[int, int]] = []
    for a, b in sentence_spans(text):
        if b - a <= max_chars:
            out.append((a, b))
            continue
        cuts = [a] + [m.end() for m in _CLAUSE.finditer(text, a, b) if m.end() < b] + [b]
        pieces = [trim_span(text, x, y) for x, y in zip(cuts, cuts[1:])]
        pieces = [(x, y) for x, y in pieces if y > x]
        merged: list[tuple[int, int]] = []
        for x, y in pieces:
            if merged and merged[-1][1] - merged[-1][0] < min_chars:
                merged[-1] = (merged[-1][0], y)
            else:
                merged.append((x, y))
        if len(merged) > 1 and merged[-1][1] - merged[-1][0] < min_chars:
            x, y = merged.pop()
            merged[-1] = (merged[-1][0], y)
        out += merged
    return out


@dataclass
class UnitTable:
    """Every unit of an index: its report (row in `doc_ids`), offsets and vector.

    `vectors` may be a read-only memory map (float16): at scale only the rows questions touch are read.
    """

    doc_ids: list[str]
    doc_rows: np.ndarray  # int32, one per unit: index into doc_ids
    starts: np.ndarray  # int32
    ends: np.ndarray  # int32
    vectors: np.ndarray  # (n, dim) float16

    def __post_init__(self) -> None:
        self._doc_row = {d: i for i, d in enumerate(self.doc_ids)}
        # Units of one report are contiguous and in reading order: its range is [first, last).
        n_docs = len(self.doc_ids)
        self._first = np.searchsorted(self.doc_rows, np.arange(n_docs), side="left")
        self._last = np.searchsorted(self.doc_rows, np.arange(n_docs), side="right")

    def __len__(self) -> int:
        return len(self.starts)

    def doc_range(self, doc_id: str) -> tuple[int, int]:
        """Unit rows [lo, hi) of a report (empty when it has none)."""
        row = self._doc_row.get(doc_id)
        if row is None:
            return 0, 0
        return int(self._first[row]), int(self._last[row])

    def for_span(self, doc_id: str, start: int, end: int) -> range:
        """Unit rows of a report that overlap text[start:end] (a chunk's units)."""
        lo, hi = self.doc_range(doc_id)
        if lo == hi:
            return range(0, 0)
        first = lo + int(np.searchsorted(self.ends[lo:hi], start, side="right"))
        last = lo + int(np.searchsorted(self.starts[lo:hi], end, side="left"))
        return range(first, max(first, last))

    def for_chunk(self, chunk: Chunk) -> range:
        return self.for_span(chunk.doc_id, chunk.start, chunk.end)

    def doc_id(self, row: int) -> str:
        return self.doc_ids[int(self.doc_rows[row])]

    def save(self, folder: Path) -> None:
        spans = np.stack([self.doc_rows, self.starts, self.ends], axis=1).astype(np.int32)
        _save_npy(folder / SPANS_FILE, spans)
        _save_npy(folder / VECTORS_FILE, np.ascontiguousarray(self.vectors, dtype=np.float16))

    @classmethod
    def load(cls, folder: Path, doc_ids: list[str], dim: int, mmap: bool = True) -> UnitTable:
        try:
            spans = np.load(folder / SPANS_FILE)
            vectors = np.load(folder / VECTORS_FILE, mmap_mode="r" if mmap else None)
        except (OSError, ValueError) as exc:
            raise IndexCorrupt(
                f"Cannot read the sentence units in {folder}: {exc}. Run: assistant index build"
            ) from None
        if spans.ndim != 2 or spans.shape[1] != 3 or vectors.shape != (len(spans), dim):
            raise IndexCorrupt(
                f"Sentence units in {folder} are inconsistent ({len(spans)} spans, vectors {vectors.shape}). "
                "Run: assistant index build"
            )
        if len(spans) and (spans[:, 0].max() >= len(doc_ids) or np.any(np.diff(spans[:, 0]) < 0)):
            raise IndexCorrupt(f"Sentence units in {folder} do not match its reports. Run: assistant index build")
        return cls(doc_ids, spans[:, 0].copy(), spans[:, 1].copy(), spans[:, 2].copy(), vectors)


def _save_npy(path: Path, array: np.ndarray) -> None:
    with path.open("wb") as fh:
        np.save(fh, array)
        fh.flush()
        os.fsync(fh.fileno())


def build_units(
    documents: Sequence[Document],
    embedder,
    max_chars: int,
    min_chars: int,
    old: UnitTable | None = None,
    progress: bool = False,
    old_texts: dict[str, str] | None = None,
) -> tuple[UnitTable, int]:
    """Cut and embed the units of `documents` (in the given order).

    A report `old` already holds with the same text (`old_texts`: doc_id -> text; a BEIR row keeps its
    `_id` when its text changes) keeps its stored vectors, so an update embeds only the units of new or
    changed reports and equals a full build.

    Returns:
        The table and how many units were embedded.
    """
    doc_ids = [d.doc_id for d in documents]
    rows: list[int] = []
    starts: list[int] = []
    ends: list[int] = []
    texts_to_embed: list[str] = []
    embed_rows: list[int] = []
    reuse_new: list[int] = []
    reuse_old: list[int] = []
    for row, doc in enumerate(documents):
        spans = unit_spans(doc.text, max_chars, min_chars)
        base = len(starts)
        kept = None
        if old is not None and old_texts is not None and old_texts.get(doc.doc_id) == doc.text:
            lo, hi = old.doc_range(doc.doc_id)
            if hi - lo == len(spans) and all(
                old.starts[lo + i] == a and old.ends[lo + i] == b for i, (a, b) in enumerate(spans)
            ):
                kept = lo
        for i, (a, b) in enumerate(spans):
            rows.append(row)
            starts.append(a)
            ends.append(b)
            if kept is not None:
                reuse_new.append(base + i)
                reuse_old.append(kept + i)
            else:
                embed_rows.append(base + i)
                texts_to_embed.append(doc.text[a:b])
    vectors = np.zeros((len(starts), embedder.dim), dtype=np.float16)
    if reuse_new:
        vectors[reuse_new] = np.asarray(old.vectors[reuse_old], dtype=np.float16)
    if texts_to_embed:
        vectors[embed_rows] = embedder.encode_passages(texts_to_embed, progress=progress).astype(np.float16)
    table = UnitTable(
        doc_ids,
        np.asarray(rows, dtype=np.int32),
        np.asarray(starts, dtype=np.int32),
        np.asarray(ends, dtype=np.int32),
        vectors,
    )
    return table, len(texts_to_embed)
