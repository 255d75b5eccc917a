"""Numba kernels of the synthetic market: arrays in, arrays out, no state, no I/O.

The equations are documented in docs/synthetic_market.md; the symbols used here follow it.
Every random input is drawn by the caller from counter-seeded streams, so these functions are
deterministic and give the same result with ``NUMBA_DISABLE_JIT=1``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# Column layout of the float block returned by build_contract_day (datetime_ns travels apart).
COL_LAST = 0
COL_AVERAGE = 1
COL_HIGHEST = 2
COL_LOWEST = 3
COL_VOLUME = 4
COL_AMOUNT = 5
COL_OPEN_INTEREST = 6
COL_LEVEL0 = 7  # then per level l (0..4): bid_price, bid_volume, ask_price, ask_volume
N_COLS = 27
N_UNIFORMS = 21
N_NORMALS = 11
MAX_SPREAD_TICKS = 20
_MAX_GAP_TICKS = 10


@njit(cache=True)
def daily_skeleton(
    z_intraday: np.ndarray,
    z_gap: np.ndarray,
    var_bar: float,
    alpha: float,
    beta: float,
    gap_fraction: float,
    mean_reversion: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Daily recursion of one variety from the anchor day.

    Returns ``(m, q, T)`` per trading day: ``m`` = log(open / base price) at the day's first
    step, ``q`` = the day's variance (daily GARCH), ``T`` = the intraday log move the day's
    path is bridged to (open -> close). The next open is ``m + T + G - theta * m``.
    """
    n = z_intraday.shape[0]
    m_out = np.empty(n)
    q_out = np.empty(n)
    t_out = np.empty(n)
    omega = var_bar * (1.0 - alpha - beta)
    m = 0.0
    q = var_bar
    prev_d2 = var_bar
    for j in range(n):
        if j > 0:
            q = omega + alpha * prev_d2 + beta * q
        m_out[j] = m
        q_out[j] = q
        t = math.sqrt(q * (1.0 - gap_fraction)) * z_intraday[j]
        g = math.sqrt(q * gap_fraction) * z_gap[j]
        t_out[j] = t
        d = t + g
        prev_d2 = d * d
        m = m + d - mean_reversion * m
    return m_out, q_out, t_out


@njit(cache=True)
def garch_omega(alpha: float, beta: float, jump_p: float, jump_scale: float) -> float:
    """Intercept of the intraday GARCH, net of the jumps' share of the step variance (floored)."""
    omega = (1.0 - alpha - beta) - alpha * jump_p * jump_scale * jump_scale
    return max(omega, 0.1 * (1.0 - alpha - beta))


@njit(cache=True)
def latent_path(
    eta: np.ndarray,
    e_idio: np.ndarray,
    c_common: np.ndarray,
    jump_u: np.ndarray,
    jump_z: np.ndarray,
    loading: float,
    phi: float,
    kappa: float,
    step_sd: float,
    alpha: float,
    beta: float,
    jump_p: float,
    jump_scale: float,
    eps2_cap: float,
    target: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Latent log-price path of one variety-day on the 500 ms grid.

    Returns ``(x, f, h, slope)``: ``x`` = log price relative to the day's open (bridged so that
    ``x[-1] == target``), ``f`` = order-flow imbalance state, ``h`` = GARCH variance
    multiplier (the step volatility is ``step_sd * sqrt(h[k])``, known one step ahead),
    ``slope`` = the bridge's drift added per step (0 for fewer than two steps).
    """
    n = eta.shape[0]
    x = np.empty(n)
    f = np.empty(n)
    h = np.empty(n)
    if n == 0:
        return x, f, h, 0.0
    innov = math.sqrt(1.0 - phi * phi)
    idio = math.sqrt(max(0.0, 1.0 - loading * loading))
    omega = garch_omega(alpha, beta, jump_p, jump_scale)
    f[0] = eta[0]
    h[0] = 1.0
    x[0] = 0.0
    eps2 = 1.0
    for k in range(1, n):
        f[k] = phi * f[k - 1] + innov * eta[k]
        hk = omega + alpha * min(eps2, eps2_cap) + beta * h[k - 1]
        h[k] = hk
        sig = step_sd * math.sqrt(hk)
        shock = sig * (loading * c_common[k] + idio * e_idio[k])
        if jump_u[k] < jump_p:
            shock += step_sd * jump_scale * jump_z[k]
        x[k] = x[k - 1] + kappa * sig * f[k - 1] + shock
        eps = shock / step_sd
        eps2 = eps * eps
    slope = 0.0
    if n > 1:
        slope = (target - x[n - 1]) / (n - 1)
        for k in range(n):
            x[k] += slope * k
    return x, f, h, slope


@njit(cache=True)
def oracle_log_drift(
    kidx: np.ndarray, f: np.ndarray, h: np.ndarray, step_sd: float, kappa: float, phi: float, horizon: int
) -> np.ndarray:
    """Expected signal-driven log change from tick ``i`` to tick ``i + horizon`` (NaN past the day).

    ``mu_i = kappa * sigma_{k+1} * f_k * (1 - phi**dk) / (1 - phi)`` with ``k`` the grid step of
    tick ``i`` and ``dk`` the number of grid steps to tick ``i + horizon``.
    """
    n = kidx.shape[0]
    out = np.empty(n)
    for i in range(n):
        j = i + horizon
        if j >= n:
            out[i] = np.nan
            continue
        k = kidx[i]
        dk = kidx[j] - k
        if phi > 0.0:
            geo = (1.0 - phi**dk) / (1.0 - phi)
        else:
            geo = 1.0
        out[i] = kappa * step_sd * math.sqrt(h[k + 1]) * f[k] * geo
    return out


@njit(cache=True)
def _intraday_open_interest(oi_prev: float, oi_eod: float, z: np.ndarray, noise_sd: float) -> np.ndarray:
    """Integer open-interest path from the previous close to ``oi_eod`` (hit exactly at the end)."""
    n = z.shape[0]
    out = np.empty(n)
    if n == 0:
        return out
    w = np.empty(n)
    acc = 0.0
    for i in range(n):
        acc += z[i]
        w[i] = acc
    step = noise_sd / math.sqrt(n)
    for i in range(n):
        frac = (i + 1.0) / n
        v = oi_prev + (oi_eod - oi_prev) * frac + step * (w[i] - frac * w[n - 1])
        out[i] = max(0.0, math.floor(v + 0.5))
    out[n - 1] = oi_eod
    return out


@njit(cache=True)
def build_contract_day(
    kidx: np.ndarray,
    grid_t: np.ndarray,
    jitter_ns: np.ndarray,
    log_price: np.ndarray,
    f: np.ndarray,
    h: np.ndarray,
    u: np.ndarray,
    z: np.ndarray,
    tick: float,
    multiplier: float,
    oi_prev: float,
    oi_eod: float,
    oi_noise_sd: float,
    p_one_tick_spread: float,
    extra_spread_mean: float,
    depth_presence: float,
    extra_gap_mean: float,
    queue_lots: float,
    imbalance_sens: float,
    direction_sens: float,
    p_trade: float,
    trade_size_mean: float,
) -> tuple[np.ndarray, np.ndarray]:
    """L5 snapshots of one contract-day at grid steps ``kidx``.

    ``log_price`` is the contract's latent log price on the grid; ``u`` (n x N_UNIFORMS) and
    ``z`` (n x N_NORMALS) are the contract-day's random draws. Returns ``(datetime_ns, block)``
    with ``block`` laid out as the COL_* constants; prices are in CNY (multiples of ``tick``
    up to float rounding), empty deeper levels have price NaN and volume 0.
    """
    n = kidx.shape[0]
    times = np.empty(n, dtype=np.int64)
    out = np.empty((n, N_COLS))
    oi = _intraday_open_interest(oi_prev, oi_eod, z[:, 10], oi_noise_sd)
    volume = 0.0
    amount = 0.0
    last = np.nan
    high = -np.inf
    low = np.inf
    prev_oi = oi_prev
    size_scale = max(trade_size_mean - 1.0, 0.0)
    for i in range(n):
        k = kidx[i]
        times[i] = grid_t[k] + jitter_ns[i]
        p_ticks = math.exp(log_price[k]) / tick
        if u[i, 0] < p_one_tick_spread:
            spread = 1
        else:
            spread = min(2 + int(-math.log(u[i, 1]) * extra_spread_mean), MAX_SPREAD_TICKS)
        bid1 = math.floor(p_ticks - 0.5 * spread + 0.5)
        ask1 = bid1 + spread
        fk = f[k]

        # Trade (volume, amount, last) first: it is what the snapshot reports since the last one.
        dv = 0.0
        if i == 0 or u[i, 2] < p_trade:
            dv = 1.0 + math.floor(-math.log(u[i, 3]) * size_scale * math.sqrt(h[k]))
        d_oi = abs(oi[i] - prev_oi)
        dv = max(dv, d_oi)
        prev_oi = oi[i]
        if dv > 0.0:
            p_buy = 0.5 * (1.0 + math.tanh(direction_sens * fk))
            price = (ask1 if u[i, 4] < p_buy else bid1) * tick
            last = price
            volume += dv
            amount += price * dv * multiplier
            high = max(high, price)
            low = min(low, price)
        out[i, COL_LAST] = last
        out[i, COL_AVERAGE] = amount / (volume * multiplier)
        out[i, COL_HIGHEST] = high
        out[i, COL_LOWEST] = low
        out[i, COL_VOLUME] = volume
        out[i, COL_AMOUNT] = amount
        out[i, COL_OPEN_INTEREST] = oi[i]

        # Level 1: queue tilt carries the order-flow imbalance (the planted, visible signal).
        c0 = COL_LEVEL0
        out[i, c0] = bid1 * tick
        tilt = imbalance_sens * fk
        out[i, c0 + 1] = max(1.0, math.floor(queue_lots * math.exp(tilt + 0.35 * z[i, 0]) + 0.5))
        out[i, c0 + 2] = ask1 * tick
        out[i, c0 + 3] = max(1.0, math.floor(queue_lots * math.exp(-tilt + 0.35 * z[i, 1]) + 0.5))

        # Levels 2-5: each present only if the one above is; gaps of one tick or more.
        for side in range(2):
            level_price = bid1 if side == 0 else ask1
            present = True
            for lvl in range(1, 5):
                ucol = 5 + side * 8 + 2 * (lvl - 1)
                col = c0 + 4 * lvl + 2 * side
                present = present and u[i, ucol] < depth_presence
                if present:
                    gap = 1 + min(int(-math.log(u[i, ucol + 1]) * extra_gap_mean), _MAX_GAP_TICKS)
                    level_price = level_price - gap if side == 0 else level_price + gap
                    if level_price <= 0.0:
                        present = False
                if present:
                    out[i, col] = level_price * tick
                    qz = z[i, 2 + side * 4 + (lvl - 1)]
                    depth = queue_lots * (1.0 + 0.3 * lvl) * math.exp(0.5 * qz)
                    out[i, col + 1] = max(1.0, math.floor(depth + 0.5))
                else:
                    out[i, col] = np.nan
                    out[i, col + 1] = 0.0
    return times, out
