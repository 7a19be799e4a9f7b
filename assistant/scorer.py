"""The trained evidence scorer: P(this unit holds the answer | its features), applied with numpy alone.

The model file is written by evals/train_scorer.py: a logistic regression (standardization + weights)
or gradient-boosted trees (LightGBM's own dump, walked here), the abstention threshold chosen by
cross-validation, and the feature set it was trained on. Neither scikit-learn nor LightGBM is imported
when answering: a cold `assistant ask` must not pay for them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ScorerMismatch
from .features import FEATURES, feature_set_id

MODELS = Path(__file__).resolve().parent / "models"
DEFAULT_MODEL = MODELS / "evidence.json"
FORMAT = 1


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))


@dataclass
class _Tree:
    """One regression tree as flat arrays: internal nodes first, leaves encoded as ~index."""

    feature: np.ndarray
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    leaf_value: np.ndarray

    def predict(self, X: np.ndarray) -> np.ndarray:
        if len(self.feature) == 0:  # a single leaf
            return np.full(len(X), self.leaf_value[0])
        node = np.zeros(len(X), dtype=np.int64)
        active = np.ones(len(X), dtype=bool)
        out = np.zeros(len(X))
        while active.any():
            idx = np.nonzero(active)[0]
            n = node[idx]
            go_left = X[idx, self.feature[n]] <= self.threshold[n]
            nxt = np.where(go_left, self.left[n], self.right[n])
            leaf = nxt < 0
            out[idx[leaf]] = self.leaf_value[~nxt[leaf]]
            active[idx[leaf]] = False
            node[idx[~leaf]] = nxt[~leaf]
        return out


def _flatten(structure: dict[str, Any]) -> _Tree:
    """LightGBM's nested tree_structure -> flat arrays (numerical splits, `<=` goes left)."""
    feature: list[int] = []
    threshold: list[float] = []
    left: list[int] = []
    right: list[int] = []
    leaves: list[float] = []

    def walk(node: dict[str, Any]) -> int:
        if "leaf_value" in node:
            leaves.append(float(node["leaf_value"]))
            return ~(len(leaves) - 1)
        if node.get("decision_type", "<=") != "<=":
            raise ScorerMismatch(f"Unsupported tree split {node.get('decision_type')!r} in the scorer file.")
        i = len(feature)
        feature.append(int(node["split_feature"]))
        threshold.append(float(node["threshold"]))
        left.append(0)
        right.append(0)
        left[i] = walk(node["left_child"])
        right[i] = walk(node["right_child"])
        return i

    root = walk(structure)
    if root < 0:
        return _Tree(np.zeros(0, int), np.zeros(0), np.zeros(0, int), np.zeros(0, int), np.array(leaves))
    return _Tree(np.array(feature), np.array(threshold), np.array(left), np.array(right), np.array(leaves))


@dataclass
class EvidenceModel:
    """A fitted scorer and the decisions fitted with it."""

    kind: str  # "logistic" | "gbdt"
    features: tuple[str, ...]
    feature_set: str
    threshold: float  # answer when the best unit's probability reaches it
    params: dict[str, Any]
    second_ratio: float = 1.0  # quote another unit when its probability is at least this share of the best's
    span: dict[str, Any] | None = None  # the short-answer model (span.py)
    # P(the answer holds the answer) from the best unit's features and the top probabilities; `threshold`
    # applies to it when present (else to the best unit's probability).
    abstain: dict[str, Any] | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    _trees: list[_Tree] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        if self.kind == "gbdt":
            self._trees = [_flatten(t["tree_structure"]) for t in self.params["tree_info"]]
        elif self.kind != "logistic":
            raise ScorerMismatch(f"Unknown scorer kind {self.kind!r} (expected logistic or gbdt).")

    @property
    def version(self) -> str:
        return str(self.meta.get("version", "?"))

    def raw(self, X: np.ndarray) -> np.ndarray:
        """Log-odds for each row of X (columns in self.features order)."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != len(self.features):
            raise ScorerMismatch(f"Scorer expects {len(self.features)} features, got an array of shape {X.shape}.")
        if self.kind == "logistic":
            mean = np.asarray(self.params["mean"])
            scale = np.asarray(self.params["scale"])
            return ((X - mean) / scale) @ np.asarray(self.params["coef"]) + float(self.params["intercept"])
        total = np.zeros(len(X))
        for tree in self._trees:
            total += tree.predict(X)
        return total

    def predict(self, X: np.ndarray) -> np.ndarray:
        """P(unit holds the answer) for each row."""
        return _sigmoid(self.raw(X))

    def confidence(self, best_row: np.ndarray, probs: np.ndarray) -> float:
        """P(answering with the best unit is right): the calibrated number the threshold applies to."""
        if not len(probs):
            return 0.0
        top = np.sort(probs)[::-1]
        p1, p2 = float(top[0]), float(top[1]) if len(top) > 1 else 0.0
        if self.abstain is None:
            return p1
        x = np.concatenate([np.asarray(best_row, dtype=np.float64), [p1, p2, p1 - p2]])
        a = self.abstain
        z = ((x - np.asarray(a["mean"])) / np.asarray(a["scale"])) @ np.asarray(a["coef"]) + float(a["intercept"])
        return float(_sigmoid(np.array([z]))[0])

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "kind": self.kind,
            "features": list(self.features),
            "feature_set": self.feature_set,
            "threshold": self.threshold,
            "second_ratio": self.second_ratio,
            "params": self.params,
            "span": self.span,
            "abstain": self.abstain,
            "meta": self.meta,
        }

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.to_dict(), ensure_ascii=False, indent=1, sort_keys=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text + "\n", encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EvidenceModel:
        return cls(
            kind=d["kind"],
            features=tuple(d["features"]),
            feature_set=d["feature_set"],
            threshold=float(d["threshold"]),
            params=d["params"],
            second_ratio=float(d.get("second_ratio", 1.0)),
            span=d.get("span"),
            abstain=d.get("abstain"),
            meta=d.get("meta", {}),
        )


def load_model(path: Path | None = None) -> EvidenceModel:
    """Read a scorer file and check it reads the features this version computes.

    Raises:
        ScorerMismatch: unreadable file, or a model trained on another feature set.
    """
    path = Path(path) if path else DEFAULT_MODEL
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScorerMismatch(
            f"Evidence scorer {path} does not exist. Train one: python evals/train_scorer.py --out {path}"
        ) from None
    except (OSError, ValueError) as exc:
        raise ScorerMismatch(f"Cannot read the evidence scorer {path}: {exc}") from None
    if data.get("format") != FORMAT:
        raise ScorerMismatch(f"Evidence scorer {path} has format {data.get('format')}; this version reads {FORMAT}.")
    model = EvidenceModel.from_dict(data)
    wanted = feature_set_id()
    if model.feature_set != wanted or tuple(model.features) != FEATURES:
        raise ScorerMismatch(
            f"Evidence scorer {path} was trained on feature set {model.feature_set}; this version computes "
            f"{wanted}. Retrain it: python evals/train_scorer.py --out {path}"
        )
    return model


def check_index(model: EvidenceModel, manifest: dict[str, Any], root: Path) -> None:
    """Refuse an index whose unit vectors come from another embedding model than the scorer saw.

    The cosine features are only meaningful in the space the scorer was trained in.
    """
    trained = model.meta.get("embedder")
    built = manifest.get("embedder", {}).get("id")
    if trained and built and trained != built:
        raise ScorerMismatch(
            f"Evidence scorer {model.version} was trained on units embedded by {trained}; the index at {root}/ "
            f"was built with {built}. Train a scorer for it: python evals/train_scorer.py --index {root} "
            '--out my-scorer.json, then set evidence_model = "my-scorer.json".'
        )
