"""Numba kernels of the generated features: causal, per segment, NaN-aware, O(n) each.

Every kernel takes one float64 column and the int64 segment ids of its rows and restarts at
each segment change (a window never spans two segments). Windowed values are NaN until the
window holds ``w`` rows of the segment, and NaN observations inside a full window are skipped
(NaN when fewer than ``min_valid`` finite ones remain). All kernels live in this one module so
numba's on-disk cache never runs a stale callee.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _run_start(segment: np.ndarray) -> np.ndarray:
    """Row where each row's segment run starts."""
    n = segment.shape[0]
    out = np.empty(n, dtype=np.int64)
    start = 0
    for i in range(n):
        if i > 0 and segment[i] != segment[i - 1]:
            start = i
        out[i] = start
    return out


@njit(cache=True)
def lag(x: np.ndarray, segment: np.ndarray, k: int) -> np.ndarray:
    """``x[i - k]`` within the segment, NaN before ``k`` rows of it."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    start = _run_start(segment)
    for i in range(n):
        if i - k >= start[i]:
            out[i] = x[i - k]
    return out


@njit(cache=True)
def diff(x: np.ndarray, segment: np.ndarray, k: int) -> np.ndarray:
    """``x[i] - x[i - k]`` within the segment."""
    return x - lag(x, segment, k)


@njit(cache=True)
def rolling_moments(x: np.ndarray, segment: np.ndarray, w: int, min_valid: int) -> tuple[np.ndarray, np.ndarray]:
    """(mean, population std) of the finite values among the last ``w`` rows of the segment."""
    n = x.shape[0]
    mean = np.full(n, np.nan)
    std = np.full(n, np.nan)
    s = 0.0
    ss = 0.0
    c = 0
    start = 0
    for i in range(n):
        if i == 0 or segment[i] != segment[i - 1]:
            s = 0.0
            ss = 0.0
            c = 0
            start = i
        v = x[i]
        if np.isfinite(v):
            s += v
            ss += v * v
            c += 1
        j = i - w
        if j >= start:
            u = x[j]
            if np.isfinite(u):
                s -= u
                ss -= u * u
                c -= 1
        if i - start + 1 >= w and c >= min_valid and c > 0:
            m = s / c
            mean[i] = m
            var = ss / c - m * m
            std[i] = np.sqrt(var) if var > 0.0 else 0.0
    return mean, std


@njit(cache=True)
def ewm(x: np.ndarray, segment: np.ndarray, span: int) -> np.ndarray:
    """Exponentially weighted mean with ``alpha = 2 / (span + 1)``, restarted per segment; a NaN
    observation keeps the state; NaN until the segment's first finite value."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    alpha = 2.0 / (span + 1.0)
    state = np.nan
    for i in range(n):
        if i == 0 or segment[i] != segment[i - 1]:
            state = np.nan
        v = x[i]
        if np.isfinite(v):
            state = v if not np.isfinite(state) else state + alpha * (v - state)
        out[i] = state
    return out


@njit(cache=True)
def ratio(a: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    """``a / b``, NaN where ``|b| <= eps``."""
    n = a.shape[0]
    out = np.full(n, np.nan)
    for i in range(n):
        if np.abs(b[i]) > eps:
            out[i] = a[i] / b[i]
    return out
