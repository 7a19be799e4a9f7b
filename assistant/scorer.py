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

from .adapter import QuestionAdapter
from .errors import ScorerMismatch
from .features import FEATURES, feature_set_id

MODELS = Path(__file__).resolve().parent / "models"
DEFAULT_MODEL = MODELS / "evidence.json"
FORMAT = 1


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))


class _Forest:
    """Regression trees as padded arrays, walked all at once: one numpy step per tree level, not per tree.

    Each tree is stored flat (flatten_tree): internal nodes first, a child < 0 is the leaf ~child.
    """

    def __init__(self, trees: list[dict[str, list]]):
        n_trees = len(trees)
        width = max([1] + [len(t["feature"]) for t in trees])
        n_leaves = max(len(t["leaf_value"]) for t in trees)
        self.feature = np.zeros((n_trees, width), dtype=np.int64)
        self.threshold = np.zeros((n_trees, width))
        self.left = np.zeros((n_trees, width), dtype=np.int64)
        self.right = np.zeros((n_trees, width), dtype=np.int64)
        self.leaf = np.zeros((n_trees, n_leaves))
        self.root = np.zeros(n_trees, dtype=np.int64)
        for i, t in enumerate(trees):
            k = len(t["feature"])
            self.feature[i, :k], self.threshold[i, :k] = t["feature"], t["threshold"]
            self.left[i, :k], self.right[i, :k] = t["left"], t["right"]
            self.leaf[i, : len(t["leaf_value"])] = t["leaf_value"]
            self.root[i] = 0 if k else -1  # a tree that is one leaf starts at leaf ~0
        self.depth = width  # no path is longer than the number of internal nodes

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Sum of the trees' leaf values for each row of X."""
        n_trees, width = self.feature.shape
        # Every split of every tree decided at once, then each row follows its path through the answers.
        goes_left = X[:, self.feature.ravel()] <= self.threshold.ravel()
        left, right = self.left.ravel(), self.right.ravel()
        base = (np.arange(n_trees) * width)[None, :]
        node = np.broadcast_to(self.root, (len(X), n_trees)).copy()
        for _ in range(self.depth):
            active = node >= 0
            if not active.any():
                break
            at = np.where(active, node, 0) + base
            step = np.where(np.take_along_axis(goes_left, at, axis=1), left[at], right[at])
            node = np.where(active, step, node)
        return self.leaf[np.arange(n_trees)[None, :], ~node].sum(axis=1)


def flatten_tree(structure: dict[str, Any]) -> dict[str, list]:
    """LightGBM's nested tree_structure -> flat lists (numerical splits, `<=` goes left): what the scorer
    file stores, a tenth of LightGBM's own dump."""
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

    walk(structure)
    return {"feature": feature, "threshold": threshold, "left": left, "right": right, "leaf_value": leaves}


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
    # The threshold for one province of a question asked across provinces ("những tỉnh nào ..."): most
    # provinces' reports do not hold the answer, so the same precision needs a higher bar (fitted with a
    # larger unanswerable share).
    threshold_each: float | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    # The question adapter (adapter.py) the cosine features were computed with; None: the plain question.
    adapter: dict[str, Any] | None = None
    _forest: _Forest | None = field(default=None, repr=False)
    _adapter: QuestionAdapter | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.kind == "gbdt":
            if "trees" not in self.params:
                raise ScorerMismatch("The scorer file's trees are not in the flat form this version reads. Retrain it.")
            self._forest = _Forest(self.params["trees"])
        elif self.kind != "logistic":
            raise ScorerMismatch(f"Unknown scorer kind {self.kind!r} (expected logistic or gbdt).")
        if self.adapter is not None:
            try:
                self._adapter = QuestionAdapter.from_dict(self.adapter)
            except (KeyError, TypeError, ValueError) as exc:
                raise ScorerMismatch(f"The scorer file's question adapter is unreadable: {exc}") from None

    def adapt(self, qvec: np.ndarray) -> np.ndarray:
        """The question vector the cosine features read (the plain one when there is no adapter)."""
        return self._adapter.apply(qvec) if self._adapter is not None else qvec

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
        return self._forest.predict(X)

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
            "threshold_each": self.threshold_each,
            "adapter": self.adapter,
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
            threshold_each=d.get("threshold_each"),
            meta=d.get("meta", {}),
            adapter=d.get("adapter"),
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
    dim = manifest.get("embedder", {}).get("dim")
    if model._adapter is not None and dim and model._adapter.weight.shape[0] != int(dim):
        raise ScorerMismatch(
            f"Evidence scorer {model.version} adapts {model._adapter.weight.shape[0]}-dimensional questions; "
            f"the index at {root}/ holds {dim}-dimensional vectors. Train a scorer for it: python "
            f"evals/train_scorer.py --index {root} --out my-scorer.json."
        )
