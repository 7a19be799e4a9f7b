"""Dense retrieval: a FAISS inner-product index over L2-normalized vectors, keyed by chunk row ids."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import IndexCorrupt

KINDS = ("flat", "ivf", "hnsw", "auto")
STORES = ("float32", "float16", "auto")
# Share of IVF cells searched when nprobe is 0: the least that kept recall@10 >= 0.97 against exact
# search at 10^6 synthetic e5-like vectors (448 of 1000 cells: 0.975; 256: 0.927), evals/bench_scale.py.
AUTO_NPROBE_SHARE = 0.45


def resolve_kind(kind: str, size: int, threshold: int) -> str:
    """The index type to build: "auto" is exact (flat) up to `threshold` vectors, IVF above (at 10^6 it
    met the recall, latency and memory targets, builds in seconds where HNSW took ~10 minutes, and an
    update keeps its cells, where an HNSW graph is rebuilt)."""
    if kind not in KINDS:
        raise ValueError(f"dense_index must be one of {', '.join(KINDS)} (got {kind!r})")
    if kind == "auto":
        return "ivf" if size > threshold else "flat"
    return kind


def resolve_store(store: str, kind: str) -> str:
    """Vector storage: "auto" keeps exact float32 for flat, float16 for the approximate types (half the
    memory; recall@10 unchanged at 10^6)."""
    if store not in STORES:
        raise ValueError(f"dense_store must be one of {', '.join(STORES)} (got {store!r})")
    if store == "auto":
        return "float32" if kind == "flat" else "float16"
    return store


def ivf_lists(size: int) -> int:
    """Number of IVF lists for `size` vectors: ~sqrt(n) (1000 at 10^6: k-means stays under a minute on
    2 cores), at least 1, with 40+ points per list."""
    return int(max(1, min(round(np.sqrt(max(size, 1))), size // 40)))


class DenseIndex:
    """FAISS inner product over normalized vectors, ids = chunk row numbers.

    "flat" is exact. "ivf" (inverted lists over k-means cells, `nprobe` cells searched) and "hnsw" (a
    graph, `ef_search` wide) are approximate and fast at 10^5-10^6 vectors; evals/bench_scale.py measures
    their recall against flat. `store` "float16" halves the memory of the stored vectors. Every type keeps
    the vectors, so updates rebuild from them without re-embedding; an IVF update reuses the trained cells.
    """

    FILE = "dense.faiss"

    def __init__(
        self,
        dim: int,
        index=None,
        kind: str = "flat",
        hnsw_m: int = 32,
        ef_construction: int = 80,
        ef_search: int = 64,
        nprobe: int = 0,
        store: str = "float32",
        nlist: int = 0,
    ):
        import faiss

        self.dim = dim
        self.kind = kind
        self.store = resolve_store(store, kind)
        # An IVF index is made on the first add(), when its cells can follow the data.
        if index is None and kind != "ivf":
            index = faiss.IndexIDMap2(self._make_inner(kind, hnsw_m, ef_construction, ef_search))
        self._index = index
        self._nprobe = nprobe
        self._nlist = nlist
        self._ef_search = ef_search
        if index is not None:
            self._detect()

    def _make_inner(self, kind: str, hnsw_m: int, ef_construction: int, ef_search: int):
        import faiss

        ip = faiss.METRIC_INNER_PRODUCT
        if kind == "hnsw":
            if self.store == "float16":
                inner = faiss.IndexHNSWSQ(self.dim, faiss.ScalarQuantizer.QT_fp16, hnsw_m, ip)
            else:
                inner = faiss.IndexHNSWFlat(self.dim, hnsw_m, ip)
            inner.hnsw.efConstruction = ef_construction
            inner.hnsw.efSearch = ef_search
            return inner
        if self.store == "float16":
            return faiss.IndexScalarQuantizer(self.dim, faiss.ScalarQuantizer.QT_fp16, ip)
        return faiss.IndexFlatIP(self.dim)

    def _make_ivf(self, centroids: np.ndarray):
        import faiss

        quantizer = faiss.IndexFlatIP(self.dim)
        quantizer.add(np.ascontiguousarray(centroids, dtype=np.float32))
        nlist = len(centroids)
        ip = faiss.METRIC_INNER_PRODUCT
        if self.store == "float16":
            inner = faiss.IndexIVFScalarQuantizer(
                quantizer, self.dim, nlist, faiss.ScalarQuantizer.QT_fp16, ip, False
            )  # by_residual=False: plain fp16 vectors, which need no training
        else:
            inner = faiss.IndexIVFFlat(quantizer, self.dim, nlist, ip)
        inner.is_trained = True
        inner.own_fields = True
        quantizer.this.disown()
        inner.set_direct_map_type(faiss.DirectMap.Hashtable)
        inner.nprobe = self._probes(nlist)
        return inner

    def _detect(self) -> None:
        """Read the type and store of a loaded index, and apply the search-time settings to it."""
        import faiss

        inner = faiss.downcast_index(self._index)
        if isinstance(inner, faiss.IndexIDMap2):
            inner = faiss.downcast_index(inner.index)
        if hasattr(inner, "hnsw"):
            self.kind = "hnsw"
            inner.hnsw.efSearch = self._ef_search
        elif hasattr(inner, "nprobe"):
            self.kind = "ivf"
            inner.nprobe = self._probes(inner.nlist)
        else:
            self.kind = "flat"
        self.store = (
            "float16"
            if isinstance(inner, (faiss.IndexScalarQuantizer, faiss.IndexHNSWSQ, faiss.IndexIVFScalarQuantizer))
            else "float32"
        )
        self._inner = inner

    def set_ef_search(self, ef_search: int) -> None:
        """Search breadth of an HNSW index (recall vs speed); nothing for other types."""
        self._ef_search = ef_search
        if self._index is not None and self.kind == "hnsw":
            self._inner.hnsw.efSearch = ef_search

    def _probes(self, nlist: int) -> int:
        """Cells to search: the nprobe setting, or AUTO_NPROBE_SHARE of them when it is 0."""
        wanted = self._nprobe if self._nprobe > 0 else int(np.ceil(AUTO_NPROBE_SHARE * nlist))
        return max(1, min(nlist, wanted))

    def set_nprobe(self, nprobe: int) -> None:
        """Cells an IVF index searches (0: a share of them; recall vs speed); nothing for other types."""
        self._nprobe = nprobe
        if self._index is not None and self.kind == "ivf":
            self._inner.nprobe = self._probes(self._inner.nlist)

    def centroids(self) -> np.ndarray | None:
        """The trained IVF cells (reused by updates), or None for other types."""
        if self._index is None or self.kind != "ivf":
            return None
        quantizer = self._inner.quantizer
        return quantizer.reconstruct_n(0, quantizer.ntotal)

    @property
    def size(self) -> int:
        return 0 if self._index is None else int(self._index.ntotal)

    def add(self, vectors: np.ndarray, ids: np.ndarray, centroids: np.ndarray | None = None) -> None:
        """Add vectors under ids. An empty IVF index is trained first: on `centroids` if given (an update
        keeps its cells), else by k-means on the vectors themselves."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise ValueError(f"expected vectors of shape (n, {self.dim}), got {vectors.shape}")
        if self._index is None:
            if centroids is None or len(centroids) == 0:
                nlist = min(self._nlist, len(vectors)) if self._nlist > 0 else ivf_lists(len(vectors))
                centroids = train_centroids(vectors, nlist)
            self._index = self._make_ivf(centroids)
            self._detect()
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
                params = faiss.SearchParametersHNSW(sel=selector, efSearch=max(self._ef_search, k))
            elif self.kind == "ivf":
                # A filter can leave the probed cells nearly empty: probe more of them.
                params = faiss.SearchParametersIVF(sel=selector, nprobe=min(self._inner.nlist, 4 * self._inner.nprobe))
            else:
                params = faiss.SearchParameters(sel=selector)
        scores, ids = self._index.search(q, k, params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def save(self, folder: Path) -> None:
        import faiss

        if self._index is None:  # an IVF index that never received a vector
            self._index = faiss.IndexIDMap2(self._make_inner("flat", 0, 0, 0))
            self._detect()
        faiss.write_index(self._index, str(folder / self.FILE))

    @classmethod
    def load(cls, folder: Path, dim: int, ef_search: int = 64, nprobe: int = 0) -> DenseIndex:
        import faiss

        try:
            index = faiss.read_index(str(folder / cls.FILE))
        except RuntimeError as exc:
            raise IndexCorrupt(f"Cannot read {folder / cls.FILE}: {exc}. Run: assistant index build") from None
        if index.d != dim:
            raise IndexCorrupt(f"{folder / cls.FILE} has dimension {index.d}, the manifest says {dim}.")
        return cls(dim, index, ef_search=ef_search, nprobe=nprobe)


def train_centroids(vectors: np.ndarray, nlist: int, sample: int = 128, seed: int = 1234) -> np.ndarray:
    """Spherical k-means cells for an IVF index, trained on at most `sample` points per cell."""
    import faiss

    rng = np.random.default_rng(seed)
    n = len(vectors)
    points = vectors if n <= nlist * sample else vectors[np.sort(rng.choice(n, nlist * sample, replace=False))]
    kmeans = faiss.Kmeans(vectors.shape[1], nlist, niter=20, spherical=True, seed=seed, verbose=False)
    kmeans.train(np.ascontiguousarray(points, dtype=np.float32))
    return kmeans.centroids
