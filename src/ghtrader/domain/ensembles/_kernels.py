"""Numba kernels of the ensembles package: arrays in, arrays out, no state, no I/O."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def dynamic_weights_kernel(
    member_probs: np.ndarray, labels: np.ndarray, horizon: int, alpha: float, eta: float, eps: float, prior: np.ndarray
) -> np.ndarray:
    """(n, K) causal weights: row t uses the exponentially weighted mean log-loss of each member
    over rows s <= t - horizon (their labels are realised by row t); ``prior`` is the starting
    loss level of every member."""
    n, k = member_probs.shape[0], member_probs.shape[1]
    loss = prior.copy()
    out = np.empty((n, k))
    for t in range(n):
        s = t - horizon
        if s >= 0:
            y = labels[s]
            if y == y:  # a label (not NaN)
                c = int(y)
                finite = True
                for m in range(k):
                    v = member_probs[s, m, c]
                    if not v == v:
                        finite = False
                if finite:
                    for m in range(k):
                        loss[m] = (1.0 - alpha) * loss[m] - alpha * np.log(max(member_probs[s, m, c], eps))
        best = loss[0]
        for m in range(1, k):
            if loss[m] < best:
                best = loss[m]
        total = 0.0
        for m in range(k):
            out[t, m] = np.exp(-eta * (loss[m] - best))
            total += out[t, m]
        for m in range(k):
            out[t, m] /= total
    return out
