"""Dense retrieval: a FAISS inner-product index over L2-normalized vectors, keyed by chunk row ids."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import IndexCorrupt

KINDS = ("flat", "hnsw", "auto")


def resolve_kind(kind: str, size: int, threshold: int) -> str:
    """The index type to build: "auto" is exact (flat) up to `threshold` vectors, HNSW above."""
    if kind not in KINDS:
        raise ValueError(f"dense_index must be one of {', '.join(KINDS)} (got {kind!r})")
    if kind == "auto":
        return "hnsw" if size > threshold else "flat"
    return kind


class DenseIndex:
    """FAISS inner product over normalized vectors, ids = chunk row numbers.

    "flat" (IndexFlatIP) is exact; "hnsw" (IndexHNSWFlat) is approximate and fast at 10^5-10^6 vectors.
    Both keep the full vectors, so updates can rebuild from them without re-embedding.
    """

    FILE = "dense.faiss"

    def __init__(
        self, dim: int, index=None, kind: str = "flat", hnsw_m: int = 32, ef_construction: int = 80, ef_search: int = 64
    ):
        import faiss

        self.dim = dim
        self.kind = kind
        if index is None:
            if kind == "hnsw":
                inner = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
                inner.hnsw.efConstruction = ef_construction
                inner.hnsw.efSearch = ef_search
            else:
                inner = faiss.IndexFlatIP(dim)
            index = faiss.IndexIDMap2(inner)
        self._index = index
        self.set_ef_search(ef_search)

    def set_ef_search(self, ef_search: int) -> None:
        """Search breadth of an HNSW index (recall vs speed); nothing for a flat index."""
        import faiss

        inner = faiss.downcast_index(self._index.index) if hasattr(self._index, "index") else None
        if inner is not None and hasattr(inner, "hnsw"):
            inner.hnsw.efSearch = ef_search
            self.kind = "hnsw"

    @property
    def size(self) -> int:
        return int(self._index.ntotal)

    def add(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise ValueError(f"expected vectors of shape (n, {self.dim}), got {vectors.shape}")
        self._index.add_with_ids(vectors, np.asarray(ids, dtype=np.int64))

    def vectors(self, ids: np.ndarray) -> np.ndarray:
        """Stored vectors for the given ids (used to carry vectors over in updates)."""
        if len(ids) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._index.reconstruct_batch(np.asarray(ids, dtype=np.int64))

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Top-k (id, cosine) for one query vector, optionally restricted to `allowed` ids."""
        import faiss

        if self.size == 0 or k <= 0:
            return []
        q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        k = min(k, self.size)
        params = None
        if allowed is not None:
            if len(allowed) == 0:
                return []
            selector = faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64))
            if self.kind == "hnsw":
                inner = faiss.downcast_index(self._index.index)
                params = faiss.SearchParametersHNSW(sel=selector, efSearch=max(inner.hnsw.efSearch, k))
            else:
                params = faiss.SearchParameters(sel=selector)
        scores, ids = self._index.search(q, k, params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def save(self, folder: Path) -> None:
        import faiss

        faiss.write_index(self._index, str(folder / self.FILE))

    @classmethod
    def load(cls, folder: Path, dim: int, ef_search: int = 64) -> DenseIndex:
        import faiss

        try:
            index = faiss.read_index(str(folder / cls.FILE))
        except RuntimeError as exc:
            raise IndexCorrupt(f"Cannot read {folder / cls.FILE}: {exc}. Run: assistant index build") from None
        if index.d != dim:
            raise IndexCorrupt(f"{folder / cls.FILE} has dimension {index.d}, the manifest says {dim}.")
        return cls(dim, index, ef_search=ef_search)
