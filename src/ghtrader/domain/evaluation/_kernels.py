"""Numba kernels of the evaluation package: arrays in, arrays out, no state, no I/O."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def on_signal_entries(can_enter: np.ndarray, horizon: int) -> np.ndarray:
    """Row indices of non-overlapping trades taken at the first row that can enter, held
    ``horizon`` rows; the next entry is considered from the exit row on.

    ``can_enter[t]`` must already be False where the exit ``t + horizon`` leaves the run.
    """
    n = can_enter.shape[0]
    out = np.empty(n, dtype=np.int64)
    k = 0
    t = 0
    while t < n:
        if can_enter[t]:
            out[k] = t
            k += 1
            t += horizon
        else:
            t += 1
    return out[:k]


@njit(cache=True)
def _macro_f1_of_confusion(cm: np.ndarray) -> float:
    total = 0.0
    for k in range(3):
        tp = cm[k, k]
        predicted = cm[0, k] + cm[1, k] + cm[2, k]
        actual = cm[k, 0] + cm[k, 1] + cm[k, 2]
        if predicted > 0 and actual > 0 and tp > 0:
            precision = tp / predicted
            recall = tp / actual
            total += 2.0 * precision * recall / (precision + recall)
    return total / 3.0


@njit(cache=True)
def weighted_argmax_f1_grid(probs: np.ndarray, labels: np.ndarray, w_down: np.ndarray, w_up: np.ndarray) -> np.ndarray:
    """Macro-F1 (fixed three classes, an absent class scores 0) of ``argmax(w * p)`` with
    ``w = (w_down[i], 1, w_up[j])`` for every grid pair; ties go to the lowest class index.

    ``probs`` (n, 3) and int64 ``labels`` (n,) must be free of NaN. Returns (len(w_down), len(w_up)).
    """
    n = labels.shape[0]
    out = np.empty((w_down.shape[0], w_up.shape[0]), dtype=np.float64)
    cm = np.zeros((3, 3), dtype=np.float64)
    for i in range(w_down.shape[0]):
        for j in range(w_up.shape[0]):
            cm[:, :] = 0.0
            for r in range(n):
                s0 = w_down[i] * probs[r, 0]
                s1 = probs[r, 1]
                s2 = w_up[j] * probs[r, 2]
                c = 0
                best = s0
                if s1 > best:
                    c = 1
                    best = s1
                if s2 > best:
                    c = 2
                cm[labels[r], c] += 1.0
            out[i, j] = _macro_f1_of_confusion(cm) if n > 0 else np.nan
    return out


@njit(cache=True)
def isotonic_blocks(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Isotonic (non-decreasing) least-squares fit of ``y`` on ``x`` sorted ascending, by pool
    adjacent violators. Returns per block ``(mean x, fitted y, row count)``; blocks follow ``x``."""
    n = y.shape[0]
    sx = np.empty(n)
    sy = np.empty(n)
    cnt = np.empty(n)
    k = 0
    for i in range(n):
        sx[k] = x[i]
        sy[k] = y[i]
        cnt[k] = 1.0
        k += 1
        while k > 1 and sy[k - 2] * cnt[k - 1] > sy[k - 1] * cnt[k - 2]:
            sx[k - 2] += sx[k - 1]
            sy[k - 2] += sy[k - 1]
            cnt[k - 2] += cnt[k - 1]
            k -= 1
    return sx[:k] / cnt[:k], sy[:k] / cnt[:k], cnt[:k]
