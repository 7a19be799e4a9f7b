"""Question -> ranked passages on Milvus: the same Hit records as the local Retriever, ranked by the engine."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from ..config import Settings
from ..embed import Embedder
from ..errors import BadSettings
from ..fusion import rrf
from ..records import Hit
from ..retrieve import Filters, Retriever
from ..store import IndexData
from ..vietnamese import fold, nfc
from .collection import ChunkCollection, eq_filter, in_filter, query_terms


class MilvusRetriever(Retriever):
    """Dense, BM25 and hybrid search in a Milvus collection; texts, offsets and boosts from the index folder.

    Hybrid search is one request: the engine fuses three rankings by RRF (dense; BM25 over the local index's
    token bag; BM25 over the folded tokens), each weighing `dense_weight`, so dense:BM25 is 1:2 as the local
    fusion with the tuned weights (0.5 and 1.0); its fused scores are on the local scale too.
    """

    def __init__(self, data: IndexData, embedder: Embedder, settings: Settings):
        if abs(settings.sparse_weight - 2 * settings.dense_weight) > 1e-9:
            raise BadSettings(
                "On Milvus, hybrid search fuses one dense and two BM25 rankings with equal weights in the engine: "
                f"sparse_weight must be twice dense_weight (got {settings.dense_weight} and {settings.sparse_weight})."
            )
        super().__init__(data, embedder, settings)
        self.collection = ChunkCollection(settings, data.manifest["backend"]["collection"])
        self.collection.open(data.manifest)

    def _expr(self, filters: Filters | None) -> str | None:
        """The filters as a Milvus expression ("" when they match no report)."""
        if filters is None or not filters.active():
            return None
        parts = []
        if filters.province:
            parts.append(eq_filter("province", fold(filters.province)))
        if filters.year:
            parts.append(f"array_contains(years, {int(filters.year)})")
        if filters.file:
            # file names change on a rename without touching the collection: matched in the document store
            docs = [d.doc_id for d in self.data.documents.values() if d.file == filters.file]
            if not docs:
                return ""
            parts.append(in_filter("doc_id", docs))
        return " and ".join(parts)

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
        """One engine request ranks, a second (and third) give the hits' BM25 (and dense) scores."""
        s = self.settings
        expr = self._expr(filters)
        if expr == "":
            return []
        depth = max(s.candidates, k)
        qv = None
        if mode != "bm25":
            qv = query_vector if query_vector is not None else self.embed(question, timings)
        terms, folded = query_terms(question, s.bm25_bigrams)

        t0 = time.perf_counter()
        rows = self.data.chunk_rows
        dense: dict[int, float] = {}
        sparse: dict[int, float] = {}
        if mode == "hybrid":
            requests = [(np.asarray(qv, dtype=np.float32).tolist(), "vector"), (terms, "terms"), (folded, "folded")]
            ranked = self.collection.hybrid(requests, limit=2 * depth, depth=depth, rrf_k=s.rrf_k, expr=expr)
            # rows of another version (during an update) are not this version's chunks
            fused = {rows[cid]: score * s.dense_weight for cid, score in ranked if cid in rows}
        else:
            field, data = ("vector", np.asarray(qv, dtype=np.float32).tolist()) if mode == "dense" else ("terms", terms)
            found = [
                (rows[cid], score) for cid, score in self.collection.search(data, field, depth, expr) if cid in rows
            ]
            weight = (s.dense_weight or 1.0) if mode == "dense" else (s.sparse_weight or 1.0)
            fused = rrf([[r for r, _ in found]], [weight], k=s.rrf_k)
            (dense if mode == "dense" else sparse).update(found)
        timings["milvus"] = (time.perf_counter() - t0) * 1000
        if boost and fused:
            fused = self._boost(question, fused)
        order = sorted(fused, key=lambda r: (-fused[r], r))[:k]

        t0 = time.perf_counter()
        if mode != "bm25":
            dense.update(self._scores(qv, "vector", [r for r in order if r not in dense]))
        if mode != "dense":
            # every hit's BM25 score, also for those BM25 did not rank (the evidence reads it); 0: no term matches
            sparse.update(self._scores(terms, "terms", [r for r in order if r not in sparse]))
            sparse.update({r: 0.0 for r in order if r not in sparse})
        timings["milvus_scores"] = (time.perf_counter() - t0) * 1000
        return [
            Hit(
                rank=n,
                chunk=self.data.chunks[r],
                score=fused[r],
                dense_score=dense.get(r),
                sparse_score=sparse.get(r),
            )
            for n, r in enumerate(order, start=1)
        ]

    def _scores(self, data, field: str, rows: list[int]) -> dict[int, float]:
        """Scores of given chunk rows for one ranking (rows without a BM25 match are left out)."""
        if not rows:
            return {}
        if field == "vector":
            data = np.asarray(data, dtype=np.float32).tolist()
        ids = [self.data.chunks[r].chunk_id for r in rows]
        found = self.collection.search(data, field, len(ids), in_filter("chunk_id", ids))
        return {self.data.chunk_rows[cid]: score for cid, score in found}

    def complete_scores(self, question: str, query_vector: np.ndarray, hits: list[Hit]) -> list[Hit]:
        """The hits with both retrievers' scores, whichever mode found them (see Retriever.complete_scores)."""
        rows = [self.data.chunk_rows[h.chunk.chunk_id] for h in hits]
        dense = self._scores(query_vector, "vector", [r for r, h in zip(rows, hits) if h.dense_score is None])
        missing = [r for r, h in zip(rows, hits) if h.sparse_score is None]
        sparse = self._scores(query_terms(nfc(question), self.settings.bm25_bigrams)[0], "terms", missing)
        return [
            replace(
                h,
                dense_score=h.dense_score if h.dense_score is not None else dense.get(r),
                sparse_score=h.sparse_score if h.sparse_score is not None else sparse.get(r, 0.0),
            )
            for r, h in zip(rows, hits)
        ]
