"""Soft voting over K members' class probabilities and the members' disagreement.

Member probabilities are one array ``(n, K, 3)`` (rows, members, DOWN/FLAT/UP). A row where
any member is NaN (a deep member without a full window) is NaN in every output.
"""

from __future__ import annotations

import numpy as np

from ghtrader.domain.ensembles._checks import member_array, weight_vector

__all__ = ["disagreement", "soft_vote"]


def soft_vote(member_probs: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """(n, 3) weighted mean of the members' probability vectors (equal weights when None);
    a mixture of probability vectors is a probability vector."""
    p = member_array(member_probs)
    w = weight_vector(weights, p.shape[1])
    return np.einsum("nkc,k->nc", p, w)


def disagreement(member_probs: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """(n,) weighted mean total-variation distance between each member and the weighted vote,
    in [0, 1]: 0 when the members agree exactly, near 1 when confident members contradict."""
    p = member_array(member_probs)
    w = weight_vector(weights, p.shape[1])
    vote = np.einsum("nkc,k->nc", p, w)
    tv = 0.5 * np.abs(p - vote[:, None, :]).sum(axis=2)
    return tv @ w
