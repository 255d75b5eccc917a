"""Input checks shared by the ensemble modules."""

from __future__ import annotations

import numpy as np

from ghtrader.domain.errors import DomainError

__all__ = ["EnsembleError", "member_array", "weight_vector"]


class EnsembleError(DomainError):
    """Inputs an ensemble computation cannot use (shapes, weights, labels)."""


def member_array(member_probs: np.ndarray) -> np.ndarray:
    """``member_probs`` as float64 (n, K, 3); EnsembleError on another shape or K == 0."""
    p = np.asarray(member_probs, dtype=np.float64)
    if p.ndim != 3 or p.shape[2] != 3 or p.shape[1] < 1:
        raise EnsembleError(f"member probabilities must have shape (rows, members >= 1, 3); got {p.shape}")
    return p


def weight_vector(weights: np.ndarray | None, k: int) -> np.ndarray:
    """Non-negative weights of ``k`` members normalised to sum 1 (equal when None)."""
    if weights is None:
        return np.full(k, 1.0 / k)
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    if w.shape[0] != k:
        raise EnsembleError(f"{w.shape[0]} weights for {k} members")
    if not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
        raise EnsembleError(f"weights must be finite, >= 0 and not all 0 (got {w.tolist()})")
    return w / w.sum()
