"""Question -> ranked passages: dense + BM25 fused by RRF, with province/year boosts and filters."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from .config import Settings
from .embed import Embedder
from .fusion import rrf
from .metadata import province_mentions, question_years
from .records import Hit
from .store import IndexData
from .vietnamese import fold, nfc

MODES = ("hybrid", "dense", "bm25")


@dataclass(frozen=True)
class Filters:
    """Hard filters (the question's own province/year mentions are boosts, not filters)."""

    province: str | None = None
    year: int | None = None
    file: str | None = None

    def active(self) -> bool:
        return any(v is not None and v != "" for v in (self.province, self.year, self.file))


class Retriever:
    """Holds a loaded index and embedder; answers search requests."""

    def __init__(self, data: IndexData, embedder: Embedder, settings: Settings):
        self.data = data
        self.embedder = embedder
        self.settings = settings

    def allowed_rows(self, filters: Filters | None) -> np.ndarray | None:
        """Chunk rows passing the filters, or None when there are no filters."""
        if filters is None or not filters.active():
            return None
        rows = []
        province = fold(filters.province) if filters.province else None
        for i, c in enumerate(self.data.chunks):
            doc = self.data.documents[c.doc_id]
            if province and fold(doc.province or "") != province:
                continue
            if filters.year and filters.year not in doc.years:
                continue
            if filters.file and c.file != filters.file:
                continue
            rows.append(i)
        return np.asarray(rows, dtype=np.int64)

    def search(
        self,
        question: str,
        k: int | None = None,
        mode: str | None = None,
        filters: Filters | None = None,
        boost: bool = True,
        timings: dict[str, float] | None = None,
        query_vector: np.ndarray | None = None,
    ) -> list[Hit]:
        """Rank chunks for a question.

        Args:
            question: the text to search (NFC-normalized here).
            k: how many hits (settings.top_k by default).
            mode: hybrid | dense | bm25 (settings.mode by default).
            filters: hard province/year/file filters.
            boost: boost reports of the province/year the question names.
            timings: filled with per-stage milliseconds when given.
            query_vector: the question's embedding when the caller already has it.

        Returns:
            Hits, best first, ranks from 1.
        """
        s = self.settings
        k = k or s.top_k
        mode = mode or s.mode
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)} (got {mode!r})")
        timings = timings if timings is not None else {}
        return self._rank(nfc(question), k, mode, filters, boost, timings, query_vector)

    def _rank(
        self,
        question: str,
        k: int,
        mode: str,
        filters: Filters | None,
        boost: bool,
        timings: dict[str, float],
        query_vector: np.ndarray | None,
    ) -> list[Hit]:
        """search() once its arguments are resolved: the part each backend does its own way."""
        s = self.settings
        allowed = self.allowed_rows(filters)
        depth = max(s.candidates, k)

        dense_hits: list[tuple[int, float]] = []
        sparse_hits: list[tuple[int, float]] = []
        w_dense = s.dense_weight if mode in ("hybrid", "dense") else 0.0
        w_sparse = s.sparse_weight if mode in ("hybrid", "bm25") else 0.0
        if mode == "dense":
            w_dense = w_dense or 1.0
        if mode == "bm25":
            w_sparse = w_sparse or 1.0
        if w_dense > 0:
            qv = query_vector if query_vector is not None else self.embed(question, timings)
            t0 = time.perf_counter()
            dense_hits = self.data.dense.search(qv, depth, allowed)
            timings["dense"] = (time.perf_counter() - t0) * 1000
        all_sparse = None
        if w_sparse > 0:
            t0 = time.perf_counter()
            all_sparse = self.data.sparse.scores(question)
            sparse_hits = self.data.sparse.search(question, depth, allowed, scores=all_sparse)
            timings["bm25"] = (time.perf_counter() - t0) * 1000

        fused = rrf([[i for i, _ in dense_hits], [i for i, _ in sparse_hits]], [w_dense, w_sparse], k=s.rrf_k)
        if boost and fused:
            fused = self._boost(question, fused)
        dense_score = dict(dense_hits)
        sparse_score = dict(sparse_hits)
        order = sorted(fused, key=lambda i: (-fused[i], i))[:k]
        return [
            Hit(
                rank=r,
                chunk=self.data.chunks[i],
                score=fused[i],
                dense_score=dense_score.get(i),
                # every hit's BM25 score, also for those BM25 alone did not rank (the evidence reads it)
                sparse_score=sparse_score.get(i, float(all_sparse[i]) if all_sparse is not None else None),
            )
            for r, i in enumerate(order, start=1)
        ]

    def complete_scores(self, question: str, query_vector: np.ndarray, hits: list[Hit]) -> list[Hit]:
        """The hits with both retrievers' scores, whichever mode found them: the evidence features read
        both, and a dense-only or BM25-only search leaves one of them out."""
        rows = [self.data.chunk_rows[h.chunk.chunk_id] for h in hits]
        if not rows:
            return hits
        dense = sparse = None
        if any(h.dense_score is None for h in hits):
            dense = self.data.dense.vectors(np.asarray(rows)) @ np.asarray(query_vector, dtype=np.float32)
        if any(h.sparse_score is None for h in hits):
            sparse = self.data.sparse.scores(nfc(question))[rows]
        return [
            replace(
                h,
                dense_score=h.dense_score if h.dense_score is not None or dense is None else float(dense[i]),
                sparse_score=h.sparse_score if h.sparse_score is not None or sparse is None else float(sparse[i]),
            )
            for i, h in enumerate(hits)
        ]

    def embed(self, question: str, timings: dict[str, float] | None = None) -> np.ndarray:
        """The question's vector (query side of the model)."""
        t0 = time.perf_counter()
        qv = self.embedder.encode_queries([nfc(question)])[0]
        if timings is not None:
            timings["embed_query"] = (time.perf_counter() - t0) * 1000
        return qv

    def _boost(self, question: str, fused: dict[int, float]) -> dict[int, float]:
        """Multiply scores of chunks whose report matches a province or year the question names."""
        provinces = set(province_mentions(question))
        years = set(question_years(question))
        if not provinces and not years:
            return fused
        s = self.settings
        out = {}
        for i, score in fused.items():
            doc = self.data.documents[self.data.chunks[i].doc_id]
            factor = 1.0
            if provinces and doc.province in provinces:
                factor += s.province_boost
            if years and years & set(doc.years):
                factor += s.year_boost
            out[i] = score * factor
        return out


def make_retriever(data: IndexData, embedder: Embedder, settings: Settings) -> Retriever:
    """The retriever of the backend the index version is served by (its manifest says which).

    Raises:
        BackendUnavailable, IndexNotFound, IndexMismatch: Milvus is unreachable or its collection does not fit.
    """
    if data.manifest.get("backend", {}).get("name") == "milvus":
        from .milvus.retriever import MilvusRetriever

        return MilvusRetriever(data, embedder, settings)
    return Retriever(data, embedder, settings)
