"""The question adapter: a learned linear correction of the question's vector, q' = norm(q + qW).

e5's question and passage towers were trained on web search; a staff member's question about a report
("... đạt bao nhiêu ...", "ai là ...") and the sentence that answers it sit further apart than they
should. W is fitted (evals/train_scorer.py) so that the gold unit wins a softmax over each training
question's candidate units, with W pulled towards 0 (the plain question) by an L2 penalty. The unit
vectors in the index stay as they are: only the scorer's cosine features read the adapted question, so
an index needs no rebuild and retrieval is untouched.

Fitting needs torch (installed with the project); applying it is one matrix product in numpy.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class AdapterSettings:
    """How W is fitted; evals/train_scorer.py chooses temperature, l2 and epochs by cross-validation (ADAPTER_GRID)."""

    temperature: float = 0.02
    l2: float = 0.01
    epochs: int = 5
    learning_rate: float = 1e-3
    batch: int = 64
    seed: int = 0


class QuestionAdapter:
    """W, stored as float16 (what is shipped is what is applied, in training too)."""

    def __init__(self, weight: np.ndarray):
        self.weight = np.asarray(weight, dtype=np.float16).astype(np.float32)

    def apply(self, qvec: np.ndarray) -> np.ndarray:
        q = np.asarray(qvec, dtype=np.float32)
        adapted = q + q @ self.weight
        norm = float(np.linalg.norm(adapted))
        return (adapted / norm).astype(np.float32) if norm > 0 else q

    def to_dict(self) -> dict[str, Any]:
        raw = self.weight.astype(np.float16).tobytes()
        return {
            "shape": list(self.weight.shape),
            "dtype": "float16",
            "sha256": hashlib.sha256(raw).hexdigest()[:16],
            "data": base64.b64encode(raw).decode("ascii"),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> QuestionAdapter:
        raw = base64.b64decode(d["data"])
        if hashlib.sha256(raw).hexdigest()[:16] != d.get("sha256"):
            raise ValueError("the question adapter's weights do not match their checksum")
        shape = tuple(int(x) for x in d["shape"])
        return cls(np.frombuffer(raw, dtype=np.float16).reshape(shape))


def fit_adapter(
    pairs: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]], settings: AdapterSettings
) -> QuestionAdapter:
    """Fit W on (question vector (d,), candidate unit vectors (n, d), labels (n,)) triples whose labels
    hold at least one positive. Seeded and single-threaded: the same pairs give the same W."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        d = int(pairs[0][0].shape[0])
        width = max(len(p[2]) for p in pairs)
        Q = torch.tensor(np.stack([p[0] for p in pairs]).astype(np.float32))
        U = torch.zeros(len(pairs), width, d)
        mask = torch.full((len(pairs), width), -1e9)
        Y = torch.zeros(len(pairs), width)
        for i, (_, units, labels) in enumerate(pairs):
            U[i, : len(labels)] = torch.tensor(np.asarray(units, dtype=np.float32))
            mask[i, : len(labels)] = 0.0
            Y[i, : len(labels)] = torch.tensor(np.asarray(labels, dtype=np.float32))
        W = torch.zeros(d, d, requires_grad=True)
        opt = torch.optim.Adam([W], lr=settings.learning_rate)
        order = torch.Generator().manual_seed(settings.seed)
        for _ in range(settings.epochs):
            perm = torch.randperm(len(pairs), generator=order)
            for b in range(0, len(pairs), settings.batch):
                idx = perm[b : b + settings.batch]
                q = Q[idx] + Q[idx] @ W
                q = q / q.norm(dim=1, keepdim=True)
                logits = torch.einsum("bd,bnd->bn", q, U[idx]) / settings.temperature + mask[idx]
                logp = torch.log_softmax(logits, dim=1)
                # the probability of the positives together: any unit holding the answer is a right pick
                gold = torch.logsumexp(logp + torch.log(Y[idx].clamp_min(1e-30)), dim=1)
                loss = -gold.mean() + settings.l2 * (W**2).sum()
                opt.zero_grad()
                loss.backward()
                opt.step()
        return QuestionAdapter(W.detach().numpy())
    finally:
        torch.set_num_threads(threads)
