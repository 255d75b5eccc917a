"""Diversity of an ensemble's members: how differently they predict the same rows.

Both measures use the rows where every member has finite probabilities.
"""

from __future__ import annotations

import numpy as np

from ghtrader.domain.ensembles._checks import member_array

__all__ = ["disagreement_rate", "prediction_correlation"]


def _finite_rows(p: np.ndarray) -> np.ndarray:
    return p[np.isfinite(p).all(axis=(1, 2))]


def prediction_correlation(member_probs: np.ndarray) -> np.ndarray:
    """(K, K) Pearson correlation of the members' directional signals ``p_up - p_down``;
    NaN for a pair where a member's signal is constant (or fewer than 2 rows)."""
    p = _finite_rows(member_array(member_probs))
    k = p.shape[1]
    out = np.full((k, k), np.nan)
    if p.shape[0] < 2:
        return out
    signal = p[:, :, 2] - p[:, :, 0]
    centred = signal - signal.mean(axis=0)
    scale = np.sqrt((centred * centred).sum(axis=0))
    cov = centred.T @ centred
    ok = scale > 1e-12
    out[np.ix_(ok, ok)] = cov[np.ix_(ok, ok)] / np.outer(scale[ok], scale[ok])
    return np.clip(out, -1.0, 1.0)


def disagreement_rate(member_probs: np.ndarray) -> np.ndarray:
    """(K, K) share of rows where two members' most likely classes differ (0 on the diagonal)."""
    p = _finite_rows(member_array(member_probs))
    k = p.shape[1]
    if p.shape[0] == 0:
        return np.full((k, k), np.nan)
    top = p.argmax(axis=2)
    return (top[:, :, None] != top[:, None, :]).mean(axis=0)
