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


@njit(cache=True)
def sharpe_weights_kernel(
    signal: np.ndarray,
    mid: np.ndarray,
    segment_id: np.ndarray,
    horizon: int,
    alpha: float,
    eta: float,
    cost: float,
    scale: float,
) -> np.ndarray:
    """(n, K) causal weights ``exp(eta * scale * S_k)`` (normalised), where S_k is member k's
    exponentially weighted mean / std of its cost-aware return ``signal[s, k] * (mid[s + h] -
    mid[s]) - cost * |signal[s, k] - signal[s - 1, k]|`` over rows s <= t - horizon (realised
    by row t); rows whose horizon crosses a segment are skipped."""
    n, k = signal.shape[0], signal.shape[1]
    mean = np.zeros(k)
    var = np.zeros(k)
    seen = 0
    out = np.empty((n, k))
    score = np.zeros(k)
    for t in range(n):
        s = t - horizon
        if s >= 0 and segment_id[s] == segment_id[t] and mid[t] == mid[t] and mid[s] == mid[s]:
            move = mid[t] - mid[s]
            finite = True
            for m in range(k):
                if not signal[s, m] == signal[s, m]:
                    finite = False
            if finite:
                seen += 1
                for m in range(k):
                    turn = 0.0
                    if s > 0 and segment_id[s - 1] == segment_id[s] and signal[s - 1, m] == signal[s - 1, m]:
                        turn = abs(signal[s, m] - signal[s - 1, m])
                    r = signal[s, m] * move - cost * turn
                    if seen == 1:
                        mean[m] = r
                        var[m] = 0.0
                    else:
                        d = r - mean[m]
                        mean[m] += alpha * d
                        var[m] = (1.0 - alpha) * (var[m] + alpha * d * d)
                for m in range(k):
                    sd = np.sqrt(var[m])
                    score[m] = mean[m] / sd if sd > 0.0 else 0.0
        best = score[0]
        for m in range(1, k):
            if score[m] > best:
                best = score[m]
        total = 0.0
        for m in range(k):
            out[t, m] = np.exp(eta * scale * (score[m] - best))
            total += out[t, m]
        for m in range(k):
            out[t, m] /= total
    return out
