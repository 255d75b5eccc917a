"""Numba kernels of the TCA package: arrays in, arrays out, no state, no I/O.

Prices are in ticks (integers, mids on the half-tick grid), quantities in lots (integers) and the
impact model's per-lot cost is rounded to ``1 / IMPACT_QUANTUM`` of a tick, so every sum below is
a sum of dyadic rationals far below 2**53: float64 adds them exactly, in any order.
"""

from __future__ import annotations

import numpy as np
from numba import njit

IMPACT_QUANTUM = 1024.0

# columns of the attribution kernel's output (ticks x lots, except VWAP in ticks)
C_FILLED, C_EXEC, C_SPREAD, C_IMPACT, C_TIMING, C_OPPORTUNITY, C_TOTAL, C_VWAP = range(8)
N_COLUMNS = 8


@njit(cache=True)
def impact_per_lot(cum_qty: float, eta: float, beta: float) -> float:
    """The impact model's cost per lot (ticks, on the dyadic grid) once ``cum_qty`` own lots have
    been executed: ``eta * cum_qty ** beta``."""
    if cum_qty <= 0.0 or eta == 0.0:
        return 0.0
    return np.rint(eta * cum_qty**beta * IMPACT_QUANTUM) / IMPACT_QUANTUM


@njit(cache=True)
def spread_sign(paid: float) -> float:
    """+1 for a fill beyond the arrival mid on the paying side (it crossed: the half-spread is a
    cost), -1 on the own side (it provided: the half-spread is earned), 0 at the mid."""
    if paid > 0.0:
        return 1.0
    if paid < 0.0:
        return -1.0
    return 0.0


@njit(cache=True)
def attribute_kernel(
    side: np.ndarray,  # int64 per parent: +1 buy, -1 sell
    qty: np.ndarray,  # float64 per parent: lots wanted
    arrival_mid: np.ndarray,  # float64 per parent: ticks (half-tick grid)
    arrival_half_spread: np.ndarray,  # float64 per parent: ticks (half-tick grid)
    end_mid: np.ndarray,  # float64 per parent: ticks, mid when the parent ended
    fill_parent: np.ndarray,  # int64 per fill, fills of a parent in time order
    fill_qty: np.ndarray,  # float64 per fill: lots
    fill_price: np.ndarray,  # float64 per fill: ticks (integers)
    eta: float,
    beta: float,
) -> np.ndarray:
    """Implementation shortfall of each parent and its four components (see attribution.py)."""
    n = side.shape[0]
    out = np.zeros((n, N_COLUMNS), dtype=np.float64)
    value = np.zeros(n, dtype=np.float64)
    for j in range(fill_parent.shape[0]):
        k = fill_parent[j]
        q = fill_qty[j]
        s = float(side[k])
        cum = out[k, C_FILLED] + q
        out[k, C_FILLED] = cum
        paid = s * (fill_price[j] - arrival_mid[k])
        out[k, C_EXEC] += q * paid
        out[k, C_SPREAD] += q * spread_sign(paid) * arrival_half_spread[k]
        out[k, C_IMPACT] += q * impact_per_lot(cum, eta, beta)
        value[k] += q * fill_price[j]
    for k in range(n):
        s = float(side[k])
        filled = out[k, C_FILLED]
        out[k, C_TIMING] = out[k, C_EXEC] - out[k, C_SPREAD] - out[k, C_IMPACT]
        left = qty[k] - filled
        if left < 0.0:
            left = 0.0
        # + 0.0: no negative zero (a sell whose mid did not move) in the output
        out[k, C_OPPORTUNITY] = s * left * (end_mid[k] - arrival_mid[k]) + 0.0 if left > 0.0 else 0.0
        out[k, C_TOTAL] = out[k, C_EXEC] + out[k, C_OPPORTUNITY]
        out[k, C_VWAP] = value[k] / filled if filled > 0.0 else np.nan
    return out


@njit(cache=True)
def depth_within_kernel(
    best: np.ndarray,  # float64 (n,): the touch on the side that would be taken
    prices: np.ndarray,  # float64 (n, levels)
    volumes: np.ndarray,  # float64 (n, levels)
    direction: float,  # +1: asks (deeper levels are higher), -1: bids
    offsets: np.ndarray,  # float64 (m,): price distance from the touch, in price units
) -> np.ndarray:
    """Lots quoted within each offset of the touch, per snapshot: (n, m); NaN where no touch."""
    n = best.shape[0]
    m = offsets.shape[0]
    out = np.full((n, m), np.nan)
    for i in range(n):
        if not np.isfinite(best[i]):
            continue
        for c in range(m):
            limit = best[i] + direction * offsets[c]
            total = 0.0
            for lev in range(prices.shape[1]):
                p = prices[i, lev]
                v = volumes[i, lev]
                if np.isfinite(p) and np.isfinite(v) and direction * (limit - p) >= -1e-9:
                    total += v
            out[i, c] = total
    return out
