"""Numba kernels turning fills into round trips and an equity curve into risk figures."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def round_trips_kernel(
    f_time: np.ndarray, f_side: np.ndarray, f_price: np.ndarray, f_qty: np.ndarray, f_fee: np.ndarray, mult: float
) -> tuple[np.ndarray, np.ndarray]:
    """Match fills first-in first-out on the net position into round trips.

    Returns ``(ints, floats)``: ints rows ``[entry_ns, exit_ns, side]`` (side +1 a long trip),
    floats rows ``[qty, entry_price, exit_price, pnl_gross, fees]``; fees of a fill are shared
    per lot between the trips it takes part in.
    """
    n = f_time.shape[0]
    lot_side = np.zeros(n, dtype=np.int64)
    lot_time = np.zeros(n, dtype=np.int64)
    lot_price = np.zeros(n)
    lot_qty = np.zeros(n)
    lot_fee = np.zeros(n)
    head = 0
    tail = 0
    out_i = np.zeros((2 * n + 1, 3), dtype=np.int64)
    out_f = np.zeros((2 * n + 1, 5))
    nt = 0
    for j in range(n):
        q = f_qty[j]
        if q <= 0.0:
            continue
        fee_per = f_fee[j] / q
        side = f_side[j]
        while q > 0.0 and head < tail and lot_side[head] == -side:
            take = min(q, lot_qty[head])
            out_i[nt, 0] = lot_time[head]
            out_i[nt, 1] = f_time[j]
            out_i[nt, 2] = lot_side[head]
            out_f[nt, 0] = take
            out_f[nt, 1] = lot_price[head]
            out_f[nt, 2] = f_price[j]
            out_f[nt, 3] = lot_side[head] * (f_price[j] - lot_price[head]) * take * mult
            out_f[nt, 4] = take * (lot_fee[head] + fee_per)
            nt += 1
            lot_qty[head] -= take
            q -= take
            if lot_qty[head] <= 0.0:
                head += 1
        if q > 0.0:
            lot_side[tail] = side
            lot_time[tail] = f_time[j]
            lot_price[tail] = f_price[j]
            lot_qty[tail] = q
            lot_fee[tail] = fee_per
            tail += 1
    return out_i[:nt], out_f[:nt]


@njit(cache=True)
def max_drawdown_kernel(equity: np.ndarray) -> float:
    """Largest fall of ``equity`` from a running peak (>= 0, in the curve's units)."""
    peak = -np.inf
    worst = 0.0
    for x in equity:
        if x > peak:
            peak = x
        if peak - x > worst:
            worst = peak - x
    return worst
