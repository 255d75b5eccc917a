"""Multinomial logistic regression with an L2 penalty, fitted by L-BFGS (scipy.optimize).

Objective on standardised inputs ``z`` (m, f) with one-hot targets ``Y`` and row weights ``w``:
``sum_i w_i * CE(softmax(z_i W + b), Y_i) / sum(w) + 0.5 * l2 * ||W||^2`` (bias not penalised).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

__all__ = ["fit_softmax", "log_loss", "softmax"]


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


def log_loss(probabilities: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Mean (weighted) negative log-likelihood of the true classes, probabilities clipped at 1e-15."""
    p = np.clip(probabilities[np.arange(y.shape[0]), y], 1e-15, 1.0)
    nll = -np.log(p)
    if weights is None:
        return float(nll.mean())
    return float((nll * weights).sum() / weights.sum())


def _objective(
    theta: np.ndarray, z: np.ndarray, onehot: np.ndarray, w: np.ndarray, l2: float
) -> tuple[float, np.ndarray]:
    f, k = z.shape[1], onehot.shape[1]
    weights = theta[: f * k].reshape(f, k)
    bias = theta[f * k :]
    logits = z @ weights + bias
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    log_p = shifted - log_norm
    loss = -(w * (onehot * log_p).sum(axis=1)).sum() + 0.5 * l2 * float((weights * weights).sum())
    residual = (np.exp(log_p) - onehot) * w[:, None]
    grad_w = z.T @ residual + l2 * weights
    grad_b = residual.sum(axis=0)
    return float(loss), np.concatenate([grad_w.ravel(), grad_b])


def fit_softmax(
    z: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    l2: float,
    *,
    weights: np.ndarray | None = None,
    init: tuple[np.ndarray, np.ndarray] | None = None,
    max_iter: int = 300,
    tol: float = 1e-7,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Fit ``(W (f, k), b (k,))`` on standardised float64 inputs; returns them and the iterations used.

    ``weights`` are normalised to sum to 1 so ``l2`` means the same for any row count.
    """
    m, f = z.shape
    w = np.ones(m) if weights is None else np.asarray(weights, dtype=np.float64)
    w = w / w.sum()
    onehot = np.zeros((m, n_classes))
    onehot[np.arange(m), y] = 1.0
    if init is None:
        prior = np.bincount(y, weights=w, minlength=n_classes) + 1e-6
        theta0 = np.concatenate([np.zeros(f * n_classes), np.log(prior / prior.sum())])
    else:
        theta0 = np.concatenate([init[0].ravel(), init[1]])
    result = minimize(
        _objective,
        theta0,
        args=(z, onehot, w, float(l2)),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": int(max_iter), "gtol": tol, "ftol": 1e-12},
    )
    theta = result.x
    return theta[: f * n_classes].reshape(f, n_classes).copy(), theta[f * n_classes :].copy(), int(result.nit)
