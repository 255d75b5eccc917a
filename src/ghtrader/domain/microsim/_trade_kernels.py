"""Numba kernels inferring trades from consecutive L5 snapshots (see trades.py for the rules)."""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def split_vwap(qty: float, vwap: float, tick: float) -> tuple[float, float, float, float]:
    """Split ``qty`` traded at average ``vwap`` over the two ticks around it.

    Returns ``(lo, q_lo, hi, q_hi)`` with ``q_lo + q_hi == qty`` and
    ``lo * q_lo + hi * q_hi == vwap * qty``; a VWAP on a tick gives ``lo == hi`` and ``q_hi == 0``.
    """
    x = vwap / tick
    k = math.floor(x + 1e-9)
    frac = x - k
    lo = k * tick
    if frac < 1e-6 or frac > 1.0 - 1e-6:
        lo = math.floor(x + 0.5) * tick
        return lo, qty, lo, 0.0
    q_hi = qty * frac
    return lo, qty - q_hi, lo + tick, q_hi


@njit(cache=True)
def infer_trades_kernel(
    volume: np.ndarray, amount: np.ndarray, day_start: np.ndarray, multiplier: float
) -> tuple[np.ndarray, np.ndarray]:
    """Traded quantity and VWAP between snapshot ``i - 1`` and ``i`` (0 and NaN when none)."""
    n = volume.shape[0]
    qty = np.zeros(n)
    vwap = np.full(n, np.nan)
    for i in range(1, n):
        if day_start[i]:
            continue
        dv = volume[i] - volume[i - 1]
        da = amount[i] - amount[i - 1]
        if not (dv > 0.0) or not (da > 0.0):
            continue
        qty[i] = dv
        vwap[i] = da / (dv * multiplier)
    return qty, vwap
