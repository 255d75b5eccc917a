"""Numba kernels of the anomaly detectors: causal rolling statistics, one step per value.

The batch kernels are loops of the step kernels, so a detector run over a day of ticks and
the runtime's one-tick-at-a-time monitor share one definition (parity test in the unit tests).

Rolling-median state (for a window of ``w`` values): ``ring`` (w,) the values in arrival order,
``ordered`` (w,) the same values sorted, ``st`` (2,) int64 ``[count, next ring slot]``.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def median_of(ordered, count):
    """Median of the first ``count`` values of the sorted buffer (NaN when empty)."""
    if count == 0:
        return np.nan
    h = count // 2
    if count % 2 == 1:
        return ordered[h]
    return 0.5 * (ordered[h - 1] + ordered[h])


@njit(cache=True)
def median_step(ring, ordered, st, x):
    """The median of the window BEFORE ``x`` (causal), then ``x`` enters the window.

    Non-finite ``x`` returns the median and leaves the window unchanged."""
    w = ring.shape[0]
    count = st[0]
    med = median_of(ordered, count)
    if not np.isfinite(x):
        return med
    if count == w:  # evict the oldest value from the sorted buffer
        old = ring[st[1]]
        j = np.searchsorted(ordered[:count], old)
        for k in range(j, count - 1):
            ordered[k] = ordered[k + 1]
        count -= 1
    j = np.searchsorted(ordered[:count], x)
    for k in range(count, j, -1):
        ordered[k] = ordered[k - 1]
    ordered[j] = x
    ring[st[1]] = x
    st[1] = (st[1] + 1) % w
    st[0] = count + 1
    return med


@njit(cache=True)
def rolling_median_causal(x, window, min_periods):
    """``out[i]`` = median of the last ``window`` finite values before ``i`` (NaN while fewer
    than ``min_periods``)."""
    n = x.shape[0]
    out = np.empty(n)
    ring = np.zeros(window)
    ordered = np.zeros(window)
    st = np.zeros(2, dtype=np.int64)
    for i in range(n):
        have = st[0]
        med = median_step(ring, ordered, st, x[i])
        out[i] = med if have >= min_periods else np.nan
    return out


@njit(cache=True)
def robust_z_step(ring, ordered, st, x, floor, min_periods):
    """``|x| / max(1.4826 * median|x_prev|, floor)`` against the window before ``x`` (NaN while
    the window holds fewer than ``min_periods`` values), then ``|x|`` enters the window."""
    have = st[0]
    a = abs(x)
    med = median_step(ring, ordered, st, a)
    if have < min_periods or not np.isfinite(a):
        return np.nan
    scale = 1.4826 * med
    if not scale > floor:
        scale = floor
    return a / scale


@njit(cache=True)
def robust_z(x, window, floor, min_periods):
    """Batch :func:`robust_z_step` over ``x``."""
    n = x.shape[0]
    out = np.empty(n)
    ring = np.zeros(window)
    ordered = np.zeros(window)
    st = np.zeros(2, dtype=np.int64)
    for i in range(n):
        out[i] = robust_z_step(ring, ordered, st, x[i], floor, min_periods)
    return out
