"""A linear unit scorer trained listwise: among one question's candidate units, the ones holding the
answer should win a softmax (a conditional logit), which is what picking the top unit needs; a pointwise
logistic regression instead spends its fit on telling the many easy negatives apart. The score is then
turned into a probability by a one-feature logistic fit over every row (Platt scaling), so the fitted
model has the plain logistic form the answerer already reads: `scaler`, `coef_` and `intercept_` shaped
as scikit-learn's, exported by train_scorer.logistic_params like a pointwise fit.

Written here rather than taken from a library: scikit-learn has no conditional logit, and LightGBM's
lambdarank gives trees, not the linear form; the loss and its gradient are a few lines of numpy,
minimized by scipy's L-BFGS (deterministic for the same input).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler


class ListwiseLinear:
    """fit(X, y, lists): `lists` gives each row's candidate list (rows of a list are contiguous)."""

    def __init__(self, C: float = 1.0):
        self.C = C

    def fit(self, X: np.ndarray, y: np.ndarray, lists: np.ndarray) -> ListwiseLinear:
        self.scaler = StandardScaler().fit(X)
        Z = self.scaler.transform(X)
        starts = np.flatnonzero(np.r_[True, lists[1:] != lists[:-1]])
        has_pos = np.add.reduceat(y, starts) > 0
        keep = np.repeat(has_pos, np.diff(np.r_[starts, len(y)]))
        Zk, yk = Z[keep], y[keep].astype(bool)
        seg = np.flatnonzero(np.r_[True, lists[keep][1:] != lists[keep][:-1]])
        w = minimize(_loss_and_grad, np.zeros(Z.shape[1]), args=(Zk, yk, seg, self.C), jac=True, method="L-BFGS-B").x
        s = (Z @ w)[:, None]
        platt = LogisticRegression(C=1e6, max_iter=5000).fit(s, y)
        self.coef_ = (w * float(platt.coef_[0, 0]))[None, :]
        self.intercept_ = platt.intercept_.astype(np.float64)
        return self

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        return self.scaler.transform(X) @ self.coef_[0] + self.intercept_[0]

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        p = 1.0 / (1.0 + np.exp(-self.decision_function(X)))
        return np.column_stack([1 - p, p])


def _loss_and_grad(w: np.ndarray, Z: np.ndarray, y: np.ndarray, seg: np.ndarray, C: float):
    """Sum over lists of -log(softmax mass on the positives), plus |w|^2 / 2C, and its gradient."""
    s = Z @ w
    sizes = np.diff(np.r_[seg, len(s)])
    top = np.repeat(np.maximum.reduceat(s, seg), sizes)
    e = np.exp(s - top)
    all_sum = np.add.reduceat(e, seg)
    pos_sum = np.add.reduceat(np.where(y, e, 0.0), seg)
    loss = float(np.sum(np.log(all_sum) - np.log(pos_sum))) + float(w @ w) / (2 * C)
    p_all = e / np.repeat(all_sum, sizes)
    p_pos = np.where(y, e, 0.0) / np.repeat(pos_sum, sizes)
    grad = Z.T @ (p_all - p_pos) + w / C
    return loss, grad
