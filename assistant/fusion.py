"""Rank fusion: plain functions over ranked id lists."""

from __future__ import annotations

from collections.abc import Sequence


def rrf(rankings: Sequence[Sequence[int]], weights: Sequence[float] | None = None, k: int = 60) -> dict[int, float]:
    """Weighted reciprocal rank fusion: sum of w / (k + rank) over the rankings an id appears in.

    Args:
        rankings: lists of ids, best first.
        weights: one weight per ranking (default 1.0 each); a zero weight removes that ranking.
        k: the RRF constant (60 in Cormack et al. 2009).

    Returns:
        id -> fused score (ids only in zero-weight rankings are left out).
    """
    weights = [1.0] * len(rankings) if weights is None else list(weights)
    if len(weights) != len(rankings):
        raise ValueError("one weight per ranking")
    fused: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights):
        if weight == 0:
            continue
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + weight / (k + rank)
    return fused
