"""Dense retrieval: a FAISS inner-product index over L2-normalized vectors, keyed by chunk row ids."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import IndexCorrupt


class DenseIndex:
    """FAISS IndexIDMap2(IndexFlatIP): exact cosine search; ids are chunk row numbers."""

    FILE = "dense.faiss"

    def __init__(self, dim: int, index=None):
        import faiss

        self.dim = dim
        self._index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))

    @property
    def size(self) -> int:
        return int(self._index.ntotal)

    def add(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise ValueError(f"expected vectors of shape (n, {self.dim}), got {vectors.shape}")
        self._index.add_with_ids(vectors, np.asarray(ids, dtype=np.int64))

    def remove(self, ids: np.ndarray) -> int:
        import faiss

        return int(self._index.remove_ids(faiss.IDSelectorBatch(np.asarray(ids, dtype=np.int64))))

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
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64)))
        scores, ids = self._index.search(q, k, params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def save(self, folder: Path) -> None:
        import faiss

        faiss.write_index(self._index, str(folder / self.FILE))

    @classmethod
    def load(cls, folder: Path, dim: int) -> DenseIndex:
        import faiss

        try:
            index = faiss.read_index(str(folder / cls.FILE))
        except RuntimeError as exc:
            raise IndexCorrupt(f"Cannot read {folder / cls.FILE}: {exc}. Run: assistant index build") from None
        if index.d != dim:
            raise IndexCorrupt(f"{folder / cls.FILE} has dimension {index.d}, the manifest says {dim}.")
        return cls(dim, index)
