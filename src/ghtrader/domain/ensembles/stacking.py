"""Stacking: a multinomial logistic meta-learner over the members' log-probabilities, fitted on
OUT-OF-FOLD member predictions, and the purged splits that produce them.

The meta-learner's inputs for one row are ``log(max(p_k, eps))`` of every member k, flattened
to ``3K`` values; its output is ``softmax(x @ W + b)``. It is fitted by damped Newton steps on
the mean log-loss plus ``0.5 * l2 * ||W||^2`` (pure NumPy: at most a few dozen parameters).

Out-of-fold means every base prediction the meta-learner sees comes from a member fitted on
rows that end at least ``gap`` rows (the label horizon) before the predicted rows start: a
member that memorised its training labels cannot look better than it is out of sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ghtrader.domain.ensembles._checks import EnsembleError, member_array

__all__ = [
    "EPS",
    "MetaLearner",
    "fit_meta_learner",
    "holdout_split",
    "oof_splits",
    "stack_features",
]

EPS = 1e-6


def stack_features(member_probs: np.ndarray, eps: float = EPS) -> np.ndarray:
    """(n, 3K) meta-learner inputs: each member's floored log-probabilities, member-major."""
    p = member_array(member_probs)
    return np.log(np.maximum(p, eps)).reshape(p.shape[0], -1)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class MetaLearner:
    """A fitted stacker: ``weights`` (3K, 3), ``bias`` (3,), the ``eps`` floor of its inputs."""

    weights: np.ndarray
    bias: np.ndarray
    eps: float = EPS
    rows: int = 0
    log_loss: float = float("nan")

    @property
    def members(self) -> int:
        return int(self.weights.shape[0] // 3)

    def apply(self, member_probs: np.ndarray) -> np.ndarray:
        """(n, 3) stacked probabilities (NaN rows stay NaN)."""
        p = member_array(member_probs)
        if p.shape[1] != self.members:
            raise EnsembleError(f"the meta-learner takes {self.members} members, got {p.shape[1]}")
        return _softmax(stack_features(p, self.eps) @ self.weights + self.bias)

    def to_dict(self) -> dict[str, Any]:
        return {
            "weights": self.weights.tolist(),
            "bias": self.bias.tolist(),
            "eps": self.eps,
            "rows": self.rows,
            "log_loss": self.log_loss,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MetaLearner:
        w = np.asarray(data["weights"], dtype=np.float64)
        b = np.asarray(data["bias"], dtype=np.float64)
        if w.ndim != 2 or w.shape[1] != 3 or w.shape[0] % 3 or b.shape != (3,):
            raise EnsembleError(f"meta-learner weights {w.shape} / bias {b.shape} are not (3K, 3) / (3,)")
        return cls(w, b, float(data.get("eps", EPS)), int(data.get("rows", 0)), float(data.get("log_loss", "nan")))


def _objective(theta: np.ndarray, x1: np.ndarray, onehot: np.ndarray, l2: float) -> float:
    p = _softmax(x1 @ theta)
    nll = -np.log(np.maximum((p * onehot).sum(axis=1), 1e-300)).mean()
    return float(nll + 0.5 * l2 * (theta[:-1] ** 2).sum())


def fit_meta_learner(
    member_probs: np.ndarray,
    labels: np.ndarray,
    *,
    l2: float = 1e-2,
    eps: float = EPS,
    max_iter: int = 50,
    tol: float = 1e-9,
) -> MetaLearner:
    """Fit the stacker on rows with a label (0/1/2) and finite member probabilities.

    ``member_probs`` must be out-of-fold predictions (see :func:`oof_splits`). EnsembleError
    when fewer than 2 classes or no rows are usable.
    """
    p = member_array(member_probs)
    y = np.asarray(labels, dtype=np.float64)
    if y.shape != (p.shape[0],):
        raise EnsembleError(f"{y.shape[0]} labels for {p.shape[0]} rows of member probabilities")
    ok = np.isfinite(y) & np.isfinite(p).all(axis=(1, 2))
    if ok.sum() == 0 or np.unique(y[ok]).shape[0] < 2:
        raise EnsembleError("stacking needs out-of-fold rows of at least two classes")
    x = stack_features(p[ok], eps)
    n, d = x.shape
    x1 = np.hstack([x, np.ones((n, 1))])
    onehot = np.eye(3)[y[ok].astype(np.int64)]
    theta = np.zeros((d + 1, 3))
    theta[-1] = np.log((onehot.sum(axis=0) + 1.0) / (n + 3.0))
    reg = np.full(d + 1, l2)
    reg[-1] = 1e-8  # the bias is (almost) free; the tiny ridge removes softmax's shift invariance
    loss = _objective(theta, x1, onehot, l2)
    for _ in range(max_iter):
        prob = _softmax(x1 @ theta)
        grad = x1.T @ (prob - onehot) / n + reg[:, None] * theta
        hess = np.empty((3, d + 1, 3, d + 1))
        for a in range(3):
            for b in range(3):
                s = prob[:, a] * ((a == b) - prob[:, b])
                hess[a, :, b, :] = (x1 * s[:, None]).T @ x1 / n
            hess[a, :, a, :] += np.diag(reg)
        h = hess.reshape(3 * (d + 1), 3 * (d + 1))
        g = grad.T.reshape(-1)
        step = np.linalg.lstsq(h, g, rcond=None)[0].reshape(3, d + 1).T
        t = 1.0
        while t > 1e-6:
            candidate = theta - t * step
            new_loss = _objective(candidate, x1, onehot, l2)
            if new_loss <= loss:
                break
            t *= 0.5
        else:
            break
        theta, improvement, loss = candidate, loss - new_loss, new_loss
        if improvement < tol:
            break
    nll = _objective(theta, x1, onehot, 0.0)
    return MetaLearner(theta[:-1].copy(), theta[-1].copy(), eps, int(n), nll)


def oof_splits(n: int, folds: int, gap: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Expanding walk-forward splits of ``n`` time-ordered rows for out-of-fold predictions.

    The rows are cut into ``folds + 1`` equal contiguous blocks; split j trains on blocks
    0..j minus their last ``gap`` rows (the purge: no training label reaches into the predicted
    block) and predicts block j + 1. Block 0 is never predicted. EnsembleError when a split
    would have no training rows.
    """
    if folds < 1:
        raise EnsembleError(f"out-of-fold stacking needs at least 1 fold (got {folds})")
    edges = np.linspace(0, n, folds + 2).round().astype(np.int64)
    out: list[tuple[np.ndarray, np.ndarray]] = []
    for j in range(folds):
        start, stop = int(edges[j + 1]), int(edges[j + 2])
        train_end = start - max(int(gap), 0)
        if train_end < 1 or stop <= start:
            raise EnsembleError(f"{n} rows are too few for {folds} out-of-fold splits with a purge gap of {gap} rows")
        out.append((np.arange(train_end), np.arange(start, stop)))
    return out


def holdout_split(n: int, fraction: float, gap: int) -> tuple[np.ndarray, np.ndarray]:
    """Blending's ``(head, tail)`` of ``n`` time-ordered rows: the tail is the last
    ``round(n * fraction)`` rows, the head ends ``gap`` rows before it."""
    if not 0.0 < fraction < 1.0:
        raise EnsembleError(f"the holdout fraction must be between 0 and 1 (got {fraction})")
    cut = n - int(round(n * fraction))
    head_end = cut - max(int(gap), 0)
    if head_end < 1 or cut >= n:
        raise EnsembleError(f"{n} rows are too few for a holdout of {fraction:g} with a purge gap of {gap} rows")
    return np.arange(head_end), np.arange(cut, n)
