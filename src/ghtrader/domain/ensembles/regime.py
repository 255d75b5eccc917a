"""Regime-conditional member weights: one weight vector per regime state, mixed by the regime
probabilities of each row.

Fitting (on a holdout after the members' training): member k's loss in regime r is its mean
log-loss over the labelled rows weighted by their probability of being in r,
``L[r, k] = sum_t pi[t, r] * l[t, k] / sum_t pi[t, r]``, shrunk towards its loss over all rows
by ``prior_rows`` pseudo-rows (a regime seen on few rows keeps close to the global weights);
``W[r] = softmax(-eta * L[r])``. Serving row t: the members' weights are ``pi[t] @ W`` (a
mixture of weight vectors is a weight vector), so the vote is a probability vector and, with
causal regime probabilities (a forward filter), the combination is causal too.
"""

from __future__ import annotations

import numpy as np

from ghtrader.domain.ensembles._checks import EnsembleError, member_array

__all__ = ["fit_regime_weights", "regime_row_weights", "regime_vote"]


def _regime_array(regime_probs: np.ndarray, n: int) -> np.ndarray:
    pi = np.asarray(regime_probs, dtype=np.float64)
    if pi.ndim != 2 or pi.shape[0] != n or pi.shape[1] < 1:
        raise EnsembleError(f"regime probabilities must have shape ({n}, regimes >= 1); got {pi.shape}")
    return pi


def fit_regime_weights(
    member_probs: np.ndarray,
    labels: np.ndarray,
    regime_probs: np.ndarray,
    *,
    eta: float = 1.0,
    prior_rows: float = 200.0,
    eps: float = 1e-6,
) -> np.ndarray:
    """(R, K) member weights per regime (rows sum to 1) from the rows' labels and regime
    probabilities (see the module docstring); rows with a NaN label, member or regime
    probability are left out."""
    p = member_array(member_probs)
    n = p.shape[0]
    pi = _regime_array(regime_probs, n)
    y = np.asarray(labels, dtype=np.float64)
    if y.shape != (n,):
        raise EnsembleError(f"{y.shape[0]} labels for {n} rows")
    if not eta >= 0 or not prior_rows >= 0:
        raise EnsembleError(f"need eta >= 0 and prior_rows >= 0 (got {eta}, {prior_rows})")
    ok = np.isfinite(y) & np.isfinite(p).all(axis=(1, 2)) & np.isfinite(pi).all(axis=1)
    if not ok.any():
        raise EnsembleError("no labelled rows with member and regime probabilities to fit regime weights on")
    idx = y[ok].astype(np.int64)
    if not np.isin(idx, (0, 1, 2)).all():
        raise EnsembleError("labels must be 0, 1, 2 or NaN")
    loss = -np.log(np.maximum(p[ok][np.arange(idx.shape[0]), :, idx], eps))  # (m, K)
    mass = pi[ok]  # (m, R)
    overall = loss.mean(axis=0)  # (K,)
    per_regime = (mass.T @ loss + prior_rows * overall) / (mass.sum(axis=0)[:, None] + prior_rows)  # (R, K)
    if prior_rows == 0:
        per_regime = np.where(mass.sum(axis=0)[:, None] > 0, per_regime, overall)
    z = -eta * (per_regime - per_regime.min(axis=1, keepdims=True))
    w = np.exp(z)
    return w / w.sum(axis=1, keepdims=True)


def regime_row_weights(regime_probs: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(n, K) each row's member weights ``pi[t] @ W`` (regime probabilities normalised per row)."""
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 2:
        raise EnsembleError(f"regime weights must be (regimes, members); got {w.shape}")
    pi = _regime_array(regime_probs, np.asarray(regime_probs).shape[0])
    if pi.shape[1] != w.shape[0]:
        raise EnsembleError(f"{pi.shape[1]} regime probabilities for {w.shape[0]} regime weight rows")
    total = pi.sum(axis=1, keepdims=True)
    return (pi / np.where(total > 0, total, np.nan)) @ w


def regime_vote(member_probs: np.ndarray, regime_probs: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(n, 3) the vote with each row's regime-mixed member weights (NaN where a row's regime
    probabilities are missing or a member is NaN)."""
    p = member_array(member_probs)
    rw = regime_row_weights(regime_probs, weights)
    if rw.shape != p.shape[:2]:
        raise EnsembleError(f"regime row weights {rw.shape} do not match member probabilities {p.shape}")
    return np.einsum("nkc,nk->nc", p, rw)
