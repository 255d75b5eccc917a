"""Numba kernels of the labels: arrays in, arrays out, no state, no I/O.

See ``direction.py`` and ``fill.py`` for the definitions; those modules prepare the inputs.
``run_end[t]`` is the last index of the contiguous run (segment, and trading day for fills)
that holds ``t``: no label looks past it.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: Tolerance, in price ticks, of every price comparison (float prices such as 450.04 - 0.02).
PRICE_TOL_TICKS = 1e-6

#: Order index of the fill kernel's outputs.
BUY_BEST = 0
BUY_BEHIND = 1
SELL_BEST = 2
SELL_BEHIND = 3
N_ORDERS = 4


@njit(cache=True)
def direction_class(d: float, price_tick: float, k: float) -> float:
    """Direction class of one mid move ``d``: 2.0 (UP) when ``d >= k`` ticks, 0.0 (DOWN) when
    ``d <= -k`` ticks, else 1.0 (FLAT); NaN when ``d`` is NaN. The batch kernel and the online
    delayed-label buffer both call this, so they share one definition."""
    if np.isnan(d):
        return np.nan
    thr = k - PRICE_TOL_TICKS
    x = d / price_tick
    if x >= thr:
        return 2.0
    if x <= -thr:
        return 0.0
    return 1.0


@njit(cache=True)
def direction_kernel(
    mid: np.ndarray, run_end: np.ndarray, horizons: np.ndarray, price_tick: float, k: float
) -> tuple[np.ndarray, np.ndarray]:
    """``(labels, dmid)`` of shape ``(len(horizons), n)``; NaN where undefined.

    ``dmid[a, t] = mid[t + h] - mid[t]`` with ``h = horizons[a]`` when ``t + h <= run_end[t]``;
    label 2 (UP) when ``dmid >= k`` ticks, 0 (DOWN) when ``dmid <= -k`` ticks, else 1 (FLAT),
    with a tolerance of :data:`PRICE_TOL_TICKS` ticks in favour of UP/DOWN.
    """
    n = mid.shape[0]
    m = horizons.shape[0]
    labels = np.full((m, n), np.nan)
    dmid = np.full((m, n), np.nan)
    for a in range(m):
        h = horizons[a]
        for t in range(n):
            j = t + h
            if j > run_end[t]:
                continue
            d = mid[j] - mid[t]
            if np.isnan(d):
                continue
            dmid[a, t] = d
            labels[a, t] = direction_class(d, price_tick, k)
    return labels, dmid


@njit(cache=True)
def _volume_at(prices: np.ndarray, volumes: np.ndarray, price: float, eps: float) -> float:
    """Displayed volume at ``price`` among one side's 5 levels (0 when no level holds it)."""
    for lvl in range(prices.shape[0]):
        if abs(prices[lvl] - price) <= eps:
            v = volumes[lvl]
            if v > 0:
                return v
            return 0.0
    return 0.0


@njit(cache=True)
def fill_kernel(
    bid_p: np.ndarray,
    bid_v: np.ndarray,
    ask_p: np.ndarray,
    ask_v: np.ndarray,
    last: np.ndarray,
    dvol: np.ndarray,
    datetime_ns: np.ndarray,
    run_end: np.ndarray,
    price_tick: float,
    horizons: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Walk four hypothetical passive orders placed at every tick (model in ``fill.py``).

    Args:
        bid_p, bid_v, ask_p, ask_v: ``(n, 5)`` book levels 1..5.
        last: last traded price per tick; dvol: volume traded since the previous tick (>= 0).
        datetime_ns: int64 tick times; run_end: last index an order placed at ``t`` may see.
        price_tick: the contract's tick; horizons: ascending positive tick horizons.

    Returns:
        ``(queue, ttf_ticks, ttf_ns, censored, fills)``: the first four ``(4, n)``, ``fills``
        ``(4, len(horizons), n)``; order index BUY_BEST, BUY_BEHIND, SELL_BEST, SELL_BEHIND.
    """
    n = last.shape[0]
    m = horizons.shape[0]
    max_h = horizons[m - 1]
    eps = price_tick * PRICE_TOL_TICKS
    queue = np.full((N_ORDERS, n), np.nan)
    ttf_ticks = np.full((N_ORDERS, n), np.nan)
    ttf_ns = np.full((N_ORDERS, n), np.nan)
    censored = np.full((N_ORDERS, n), np.nan)
    fills = np.full((N_ORDERS, m, n), np.nan)
    for t in range(n):
        limit = min(t + max_h, run_end[t])
        for o in range(N_ORDERS):
            is_buy = o < SELL_BEST
            behind = o in (BUY_BEHIND, SELL_BEHIND)
            if is_buy:
                best = bid_p[t, 0]
                if not best > 0.0:  # NaN or empty level: no order
                    continue
                price = best - price_tick if behind else best
                q = _volume_at(bid_p[t], bid_v[t], price, eps)
            else:
                best = ask_p[t, 0]
                if not best > 0.0:
                    continue
                price = best + price_tick if behind else best
                q = _volume_at(ask_p[t], ask_v[t], price, eps)
            if not price > 0.0:
                continue
            queue[o, t] = q
            filled_at = -1
            traded = 0.0
            for i in range(t + 1, limit + 1):
                trade = dvol[i] > 0.0
                if is_buy:
                    opp = ask_p[i, 0]
                    through = (opp > 0.0 and opp <= price + eps) or (trade and last[i] < price - eps)
                else:
                    opp = bid_p[i, 0]
                    through = (opp > 0.0 and opp >= price - eps) or (trade and last[i] > price + eps)
                if through:
                    filled_at = i
                    break
                if trade and abs(last[i] - price) <= eps:
                    traded += dvol[i]
                    if traded > q:
                        filled_at = i
                        break
            if filled_at >= 0:
                s = filled_at - t
                ttf_ticks[o, t] = s
                ttf_ns[o, t] = float(datetime_ns[filled_at] - datetime_ns[t])
                censored[o, t] = 0.0
            else:
                censored[o, t] = 1.0
            for a in range(m):
                h = horizons[a]
                if filled_at >= 0 and filled_at - t <= h:
                    fills[o, a, t] = 1.0
                elif t + h <= run_end[t]:
                    fills[o, a, t] = 0.0
    return queue, ttf_ticks, ttf_ns, censored, fills
