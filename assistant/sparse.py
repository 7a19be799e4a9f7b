"""Sparse retrieval: bm25s over our own Vietnamese tokens (never bm25s's English defaults)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .errors import IndexCorrupt
from .vietnamese import bm25_tokens

_BLOCK_DOCS = 20_000


def _fast_bm25():
    """A bm25s.BM25 whose index build is vectorized with numpy.

    bm25s documents build_index_from_ids as the hook to override; its own version loops over documents
    in Python, which made rebuilding BM25 most of the time of an index update. The scores are the same
    (Lucene variant: the default), checked against bm25s in the tests.
    """
    import bm25s
    import scipy.sparse as sp

    class FastBM25(bm25s.BM25):
        def build_index_from_ids(self, unique_token_ids, corpus_token_ids, show_progress=True, leave_progress=False):
            if self.method not in ("lucene", "robertson") or self.idf_method not in ("lucene", "robertson"):
                return super().build_index_from_ids(unique_token_ids, corpus_token_ids, show_progress, leave_progress)
            self.nonoccurrence_array = None
            n_docs, n_vocab = len(corpus_token_ids), len(unique_token_ids)
            lens = np.fromiter((len(d) for d in corpus_token_ids), dtype=np.int64, count=n_docs)
            # Term counts per (document, term), a block of documents at a time, kept as int32/float32:
            # one pass over all tokens at once needed ~25 bytes per token (over 20 GB at 10^6 chunks).
            doc_parts, voc_parts, tf_parts = [], [], []
            for start in range(0, n_docs, _BLOCK_DOCS):
                block = corpus_token_ids[start : start + _BLOCK_DOCS]
                flat = np.concatenate([np.asarray(d, dtype=np.int64) for d in block])
                local = np.repeat(np.arange(len(block), dtype=np.int64), lens[start : start + len(block)])
                pairs, tf = np.unique(local * n_vocab + flat, return_counts=True)
                doc_parts.append((pairs // n_vocab + start).astype(np.int32))
                voc_parts.append((pairs % n_vocab).astype(np.int32))
                tf_parts.append(tf.astype(self.dtype))
            doc_idx, voc_idx, tf = (np.concatenate(p) for p in (doc_parts, voc_parts, tf_parts))
            del doc_parts, voc_parts, tf_parts
            df = np.bincount(voc_idx, minlength=n_vocab)
            idf = np.zeros(n_vocab, dtype=self.dtype)
            present = df > 0
            idf[present] = np.log(1 + (n_docs - df[present] + 0.5) / (df[present] + 0.5))
            norm = (self.k1 * ((1 - self.b) + self.b * lens / lens.mean())).astype(self.dtype)
            tf /= norm[doc_idx] + tf
            tf *= idf[voc_idx]
            # COO -> CSC is a counting sort that keeps document order inside each term's column.
            matrix = sp.coo_matrix((tf, (doc_idx, voc_idx)), shape=(n_docs, n_vocab), dtype=self.dtype).tocsc()
            matrix.sort_indices()
            return {"data": matrix.data, "indices": matrix.indices, "indptr": matrix.indptr, "num_docs": n_docs}

    return FastBM25()


def _advise_random_access(arrays: dict) -> None:
    """Posting lists are read at scattered offsets: without this the kernel reads ahead around each
    one, and at 10^6 chunks a server ended up mapping most of the matrix (1.5-2.3 GB) for 200 questions."""
    import mmap

    for array in arrays.values():
        handle = getattr(array, "_mmap", None)
        if handle is not None and hasattr(handle, "madvise"):
            handle.madvise(mmap.MADV_RANDOM)


class SparseIndex:
    """BM25 over chunk texts; row i of the index is chunk row i.

    Beside the bm25s index it keeps every chunk's tokens as ids into one vocabulary, so an update
    re-tokenizes only new chunks (tokenizing is most of the cost of rebuilding BM25).
    """

    FOLDER = "bm25"

    def __init__(
        self,
        retriever,
        size: int,
        bigrams: bool,
        folder: Path | None = None,
        vocab: list[str] | None = None,
        ids: list[np.ndarray] | None = None,
    ):
        self._retriever = retriever
        self.size = size
        self.bigrams = bigrams
        self._folder = folder
        self._vocab = vocab
        self._ids = ids

    @classmethod
    def build(
        cls,
        texts: list[str],
        bigrams: bool = True,
        previous: SparseIndex | None = None,
        reuse_rows: list[int | None] | None = None,
    ) -> SparseIndex:
        """Index texts; row i reuses `previous`'s tokens for row reuse_rows[i] when given."""
        from bm25s.tokenization import Tokenized

        vocab: list[str] = []
        lookup: dict[str, int] = {}
        old_vocab, old_ids = previous.tokens() if previous is not None and reuse_rows else ([], [])
        if old_vocab:
            vocab = list(old_vocab)
            lookup = {t: i for i, t in enumerate(vocab)}
        ids: list[np.ndarray] = []
        for row, text in enumerate(texts):
            old_row = reuse_rows[row] if reuse_rows else None
            if old_row is not None and old_vocab and old_row < len(old_ids):
                ids.append(old_ids[old_row])
                continue
            # bm25s needs a non-empty vocabulary; an all-punctuation chunk gets one empty token.
            toks = bm25_tokens(text, bigrams) or [""]
            row_ids = np.empty(len(toks), dtype=np.int32)
            for j, tok in enumerate(toks):
                idx = lookup.get(tok)
                if idx is None:
                    idx = lookup[tok] = len(vocab)
                    vocab.append(tok)
                row_ids[j] = idx
            ids.append(row_ids)
        retriever = _fast_bm25()
        if texts:
            retriever.index(Tokenized(ids=ids, vocab=lookup), show_progress=False)
        return cls(retriever, len(texts), bigrams, vocab=vocab, ids=ids)

    def tokens(self) -> tuple[list[str], list[np.ndarray]]:
        """(vocabulary, token ids per row), loaded from disk the first time they are needed."""
        if self._ids is None:
            target = (self._folder or Path(".")) / self.FOLDER
            try:
                self._vocab = json.loads((target / "token_vocab.json").read_text(encoding="utf-8"))
                flat = np.load(target / "token_ids.npy")
                offsets = np.load(target / "token_offsets.npy")
                self._ids = [flat[offsets[i] : offsets[i + 1]] for i in range(len(offsets) - 1)]
            except (OSError, ValueError):
                self._vocab, self._ids = [], []  # an older index: updates re-tokenize everything
        return self._vocab or [], self._ids

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk for the query (unknown terms are ignored)."""
        if self.size == 0:
            return np.zeros(0, dtype=np.float32)
        vocab = self._retriever.vocab_dict
        tokens = [t for t in bm25_tokens(query, self.bigrams) if t in vocab]
        if not tokens:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._retriever.get_scores(tokens), dtype=np.float32)

    def search(
        self, query: str, k: int, allowed: np.ndarray | None = None, scores: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """Top-k (row, score) with a positive score, optionally restricted to `allowed` rows.

        `scores` is self.scores(query) when the caller already has it."""
        scores = self.scores(query) if scores is None else scores
        if allowed is not None:
            mask = np.zeros_like(scores, dtype=bool)
            mask[np.asarray(allowed, dtype=np.int64)] = True
            scores = np.where(mask, scores, 0.0)
        positive = np.flatnonzero(scores > 0)
        if len(positive) == 0:
            return []
        if len(positive) > k:
            # Only rows scoring at least the k-th best can be in the top k (ties included): sorting all
            # positives cost tens of ms at 10^6 chunks.
            kth = np.partition(scores[positive], len(positive) - k)[len(positive) - k]
            positive = positive[scores[positive] >= kth]
        # Stable order: score descending, then row ascending, so ties are reproducible.
        order = positive[np.lexsort((positive, -scores[positive]))][:k]
        return [(int(i), float(scores[i])) for i in order]

    def save(self, folder: Path) -> None:
        target = folder / self.FOLDER
        target.mkdir(parents=True, exist_ok=True)
        if self.size:
            self._retriever.save(str(target), show_progress=False)
        vocab, ids = self.tokens()
        if ids:
            (target / "token_vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
            np.save(target / "token_ids.npy", np.concatenate(ids).astype(np.int32))
            np.save(target / "token_offsets.npy", np.cumsum([0] + [len(a) for a in ids]).astype(np.int64))
        (target / "meta.json").write_text(json.dumps({"size": self.size, "bigrams": self.bigrams}))

    @classmethod
    def load(cls, folder: Path, mmap: bool = False) -> SparseIndex:
        """Load a saved index; with `mmap` the score matrix stays on disk and only the posting lists that
        questions touch are paged in (what keeps 10^6 chunks within a few GB of memory)."""
        import bm25s

        target = folder / cls.FOLDER
        try:
            meta = json.loads((target / "meta.json").read_text())
            retriever = bm25s.BM25.load(str(target), mmap=mmap, show_progress=False) if meta["size"] else bm25s.BM25()
        except (OSError, ValueError, KeyError) as exc:
            raise IndexCorrupt(f"Cannot read the BM25 index in {target}: {exc}. Run: assistant index build") from None
        if mmap and meta["size"]:
            _advise_random_access(retriever.scores)
        return cls(retriever, int(meta["size"]), bool(meta["bigrams"]), folder=folder)
