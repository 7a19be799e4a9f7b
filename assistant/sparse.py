"""Sparse retrieval: bm25s over our own Vietnamese tokens (never bm25s's English defaults)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .errors import IndexCorrupt
from .vietnamese import bm25_tokens


class SparseIndex:
    """BM25 over chunk texts; row i of the index is chunk row i."""

    FOLDER = "bm25"

    def __init__(self, retriever, size: int, bigrams: bool):
        self._retriever = retriever
        self.size = size
        self.bigrams = bigrams

    @classmethod
    def build(cls, texts: list[str], bigrams: bool = True) -> SparseIndex:
        import bm25s

        retriever = bm25s.BM25()
        if texts:
            # bm25s needs a non-empty vocabulary; an all-punctuation chunk gets one empty token.
            retriever.index([bm25_tokens(t, bigrams) or [""] for t in texts], show_progress=False)
        return cls(retriever, len(texts), bigrams)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk for the query (unknown terms are ignored)."""
        if self.size == 0:
            return np.zeros(0, dtype=np.float32)
        vocab = self._retriever.vocab_dict
        tokens = [t for t in bm25_tokens(query, self.bigrams) if t in vocab]
        if not tokens:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._retriever.get_scores(tokens), dtype=np.float32)

    def search(self, query: str, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Top-k (row, score) with a positive score, optionally restricted to `allowed` rows."""
        scores = self.scores(query)
        if allowed is not None:
            mask = np.zeros_like(scores, dtype=bool)
            mask[np.asarray(allowed, dtype=np.int64)] = True
            scores = np.where(mask, scores, 0.0)
        positive = np.flatnonzero(scores > 0)
        if len(positive) == 0:
            return []
        # Stable order: score descending, then row ascending, so ties are reproducible.
        order = positive[np.lexsort((positive, -scores[positive]))][:k]
        return [(int(i), float(scores[i])) for i in order]

    def save(self, folder: Path) -> None:
        target = folder / self.FOLDER
        target.mkdir(parents=True, exist_ok=True)
        if self.size:
            self._retriever.save(str(target), show_progress=False)
        (target / "meta.json").write_text(json.dumps({"size": self.size, "bigrams": self.bigrams}))

    @classmethod
    def load(cls, folder: Path) -> SparseIndex:
        import bm25s

        target = folder / cls.FOLDER
        try:
            meta = json.loads((target / "meta.json").read_text())
            retriever = bm25s.BM25.load(str(target), show_progress=False) if meta["size"] else bm25s.BM25()
        except (OSError, ValueError, KeyError) as exc:
            raise IndexCorrupt(f"Cannot read the BM25 index in {target}: {exc}. Run: assistant index build") from None
        return cls(retriever, int(meta["size"]), bool(meta["bigrams"]))
