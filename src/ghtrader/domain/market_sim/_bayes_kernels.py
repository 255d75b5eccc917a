"""Numba kernel of the Bayes oracle: class probabilities by Monte Carlo continuation of the generator.

For a tick ``i`` at grid step ``k`` the generator's state is ``(x_k, f_k, h_{k+1})`` plus the
day's bridge slope (taken as a known constant drift per step), the tick's observed mid and the
book's spread law. Each continuation draws the grid steps ``dk`` to the ``H``-th next snapshot,
runs the latent recursion of :func:`ghtrader.domain.market_sim._kernels.latent_path` forward and
returns the exact label probabilities given the path up to step ``k + dk - 1``: the last step's
Gaussian shock and the final spread are integrated analytically (Rao-Blackwellisation). Pairs of
antithetic paths (all normals negated) form one sampling unit. Draws come from a counter-based
hash of ``(seed, i, unit, draw)``, so results do not depend on the rows asked for. The row loop is
serial on purpose: ``parallel=True`` gained nothing measurable on the 2-core host, and numba's
default threading layer aborts when two threads (e.g. gRPC workers) launch parallel kernels at once.
See docs/synthetic_market.md, "The Bayes oracle".
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ghtrader.domain.market_sim._kernels import garch_omega
from ghtrader.domain.market_sim._random import _GOLDEN, _INV_2_53, _MIX1, _MIX2

_ROW_SALT = np.uint64(0xD1B54A32D192ED03)
_DK_SALT = np.uint64(0x8CB92BA72F3D8DD7)
_JUMP_SALT = np.uint64(0xA0761D6478BD642F)
_TWO_PI = 2.0 * math.pi
_INV_SQRT2 = 1.0 / math.sqrt(2.0)
#: Tolerance of the label rule in ticks (as ghtrader.domain.labels: in favour of UP/DOWN).
_TOL_TICKS = 1e-6
#: Attempts at drawing a dk that ends inside the day before clamping it to the day's end.
_MAX_DK_TRIES = 1000


@njit(cache=True, inline="always")
def _mix(z: np.uint64) -> np.uint64:
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


@njit(cache=True, inline="always")
def _uniform(key: np.uint64, counter: int) -> float:
    """Uniform in (0, 1): splitmix64 of ``key + (counter + 1) * golden``."""
    bits = _mix(key + np.uint64(counter + 1) * _GOLDEN)
    return (float(bits >> np.uint64(11)) + 0.5) * _INV_2_53


@njit(cache=True, inline="always")
def _phi(z: float) -> float:
    return 0.5 * math.erfc(-z * _INV_SQRT2)


@njit(cache=True)
def odd_spread_probability(p_one: float, extra_mean: float, max_spread: int) -> float:
    """P(spread is an odd number of ticks) under the book's spread law.

    One tick with probability ``p_one``, else ``min(2 + floor(E * extra_mean), max_spread)``
    with ``E ~ Exp(1)``. Only the parity matters for the mid (see :func:`_class_probs`).
    """
    if extra_mean <= 0.0:
        return p_one
    odd = 0.0
    for j in range(1, max_spread - 2, 2):  # spread 2 + j odd, below the cap
        odd += math.exp(-j / extra_mean) - math.exp(-(j + 1) / extra_mean)
    if max_spread % 2 == 1:  # the capped tail lands on an odd spread
        odd += math.exp(-(max_spread - 2) / extra_mean)
    return p_one + (1.0 - p_one) * odd


@njit(cache=True)
def _p_above(level_ticks: float, tick: float, mean: float, sd: float) -> float:
    """P(exp(X) / tick >= level_ticks) for X ~ N(mean, sd^2)."""
    if level_ticks <= 0.0:
        return 1.0
    return _phi((mean - math.log(level_ticks * tick)) / sd)


@njit(cache=True)
def _class_probs(
    mean: float, sd: float, mid0: float, k_ticks: float, tick: float, p_odd: float, out: np.ndarray
) -> None:
    """Exact (DOWN, FLAT, UP) probabilities of the label given the end log price ~ N(mean, sd^2).

    With ``P = exp(x) / tick`` the book's mid in ticks is ``floor(P) + 1/2`` for an odd spread
    and ``floor(P + 1/2)`` for an even one (``bid1 = floor(P - s/2 + 1/2)``). UP when
    ``mid - mid0 >= k - tol``, DOWN when ``<= -(k - tol)``, each an interval of ``P``.
    """
    up_at = mid0 + k_ticks - _TOL_TICKS
    down_at = mid0 - k_ticks + _TOL_TICKS
    up_odd = _p_above(math.ceil(up_at - 0.5), tick, mean, sd)
    up_even = _p_above(math.ceil(up_at) - 0.5, tick, mean, sd)
    down_odd = 1.0 - _p_above(math.floor(down_at - 0.5) + 1.0, tick, mean, sd)
    down_even = 1.0 - _p_above(math.floor(down_at) + 0.5, tick, mean, sd)
    up = p_odd * up_odd + (1.0 - p_odd) * up_even
    down = p_odd * down_odd + (1.0 - p_odd) * down_even
    out[0] = down
    out[2] = up
    out[1] = max(0.0, 1.0 - up - down)


@njit(cache=True)
def _draw_dk(key: np.uint64, horizon: int, p_tick: float, room: int) -> int:
    """Grid steps to the ``horizon``-th next snapshot (Bernoulli(p_tick) per step), drawn as a sum
    of geometric gaps and redrawn until it ends within ``room`` steps (then clamped)."""
    if p_tick >= 1.0:
        return horizon
    log_q = math.log1p(-p_tick)
    counter = 0
    dk = horizon
    for _ in range(_MAX_DK_TRIES):
        dk = 0
        for _g in range(horizon):
            dk += 1 + int(math.floor(math.log(_uniform(key, counter)) / log_q))
            counter += 1
        if dk <= room:
            return dk
    return min(dk, room)


@njit(cache=True)
def _unit(
    key: np.uint64,
    x0: float,
    f0: float,
    h1: float,
    dk: int,
    slope: float,
    step_sd: float,
    kappa: float,
    phi: float,
    alpha: float,
    beta: float,
    omega: float,
    jump_p: float,
    jump_scale: float,
    eps2_cap: float,
    mid0: float,
    k_ticks: float,
    tick: float,
    p_odd: float,
    acc: np.ndarray,
    tmp: np.ndarray,
) -> None:
    """Set ``acc`` to one sampling unit's class probabilities: the average over an antithetic
    pair of continuations, minus the same average under the control model, plus the control's
    exact expectation (:func:`_control_expectation`)."""
    innov = math.sqrt(1.0 - phi * phi)
    jkey = _mix(key ^ _JUMP_SALT)
    log_nj = math.log1p(-jump_p) if 0.0 < jump_p < 1.0 else 0.0
    jump_var = jump_p * jump_scale * jump_scale
    _control_expectation(x0, f0, h1, dk, slope, step_sd, kappa, phi, alpha, beta, omega, jump_var, mid0, k_ticks,
                         tick, p_odd, acc)  # fmt: skip
    for sign_i in range(2):
        sign = 1.0 if sign_i == 0 else -1.0
        x = x0
        xa = x0  # the control model's log price: same shocks, volatility on its mean path
        hb = h1
        f_prev = f0
        h = h1
        eps2 = 0.0
        # Jumps: the steps to the next one are geometric (one draw per jump, not per step).
        n_jump = 0
        next_jump = _next_jump(jkey, 0, 0, jump_p, log_nj, dk)
        for s in range(1, dk + 1):
            if s > 1:
                h = omega + alpha * min(eps2, eps2_cap) + beta * h
                hb = omega + alpha * (hb + jump_var) + beta * hb
            sig = step_sd * math.sqrt(h)
            sb = step_sd * math.sqrt(hb)
            jump = 0.0
            if s == next_jump:
                u1 = _uniform(jkey, 3 * n_jump + 1)
                u2 = _uniform(jkey, 3 * n_jump + 2)
                jump = sign * step_sd * jump_scale * math.sqrt(-2.0 * math.log(u1)) * math.cos(_TWO_PI * u2)
                n_jump += 1
                next_jump = _next_jump(jkey, n_jump, s, jump_p, log_nj, dk)
            base = x + kappa * sig * f_prev + slope + jump
            base_a = xa + kappa * sb * f_prev + slope
            if s == dk:
                _class_probs(base, sig, mid0, k_ticks, tick, p_odd, tmp)
                for c in range(3):
                    acc[c] += 0.5 * tmp[c]
                _class_probs(base_a, sb, mid0, k_ticks, tick, p_odd, tmp)
                for c in range(3):
                    acc[c] -= 0.5 * tmp[c]
                break
            u1 = _uniform(key, 2 * s)
            u2 = _uniform(key, 2 * s + 1)
            r = math.sqrt(-2.0 * math.log(u1))
            z = sign * r * math.cos(_TWO_PI * u2)
            eta = sign * r * math.sin(_TWO_PI * u2)
            x = base + sig * z
            xa = base_a + sb * z
            eps = (sig * z + jump) / step_sd
            eps2 = eps * eps
            f_prev = phi * f_prev + innov * eta


@njit(cache=True)
def _control_expectation(
    x0: float,
    f0: float,
    h1: float,
    dk: int,
    slope: float,
    step_sd: float,
    kappa: float,
    phi: float,
    alpha: float,
    beta: float,
    omega: float,
    jump_var: float,
    mid0: float,
    k_ticks: float,
    tick: float,
    p_odd: float,
    out: np.ndarray,
) -> None:
    """Exact class probabilities under the control model, a linear-Gaussian copy of the
    continuation: no jumps and the variance multiplier on its expected path ``hb`` (so the
    shocks do not feed back). Its end log price is ``N(mu, V)`` with
    ``mu = x0 + dk slope + kappa f0 sum_s sb_s phi^(s-1)`` and
    ``V = sum_s sb_s^2 + kappa^2 (1 - phi^2) sum_j w_j^2``, ``w_j = sum_{s>j} sb_s phi^(s-1-j)``.
    Subtracting the control computed on the same draws and adding this leaves the estimator
    unbiased while removing most of its variance."""
    sb = np.empty(dk + 1)
    hb = h1
    mu = x0 + slope * dk
    var = 0.0
    decay = 1.0
    for s in range(1, dk + 1):
        if s > 1:
            hb = omega + alpha * (hb + jump_var) + beta * hb
        sb[s] = step_sd * math.sqrt(hb)
        mu += kappa * f0 * sb[s] * decay
        decay *= phi
        var += sb[s] * sb[s]
    w = 0.0
    acc = 0.0
    for j in range(dk - 1, 0, -1):
        w = sb[j + 1] + phi * w
        acc += w * w
    var += kappa * kappa * (1.0 - phi * phi) * acc
    _class_probs(mu, math.sqrt(var), mid0, k_ticks, tick, p_odd, out)


@njit(cache=True)
def _next_jump(jkey: np.uint64, n_jump: int, step: int, jump_p: float, log_nj: float, dk: int) -> int:
    """Step of the next jump after ``step`` (beyond ``dk`` when none falls inside)."""
    if jump_p >= 1.0:
        return step + 1
    if jump_p <= 0.0:
        return dk + 1
    return step + 1 + int(math.floor(math.log(_uniform(jkey, 3 * n_jump)) / log_nj))


@njit(cache=True)
def bayes_class_probabilities(
    rows: np.ndarray,
    kidx: np.ndarray,
    log_price: np.ndarray,
    mid_ticks: np.ndarray,
    f: np.ndarray,
    h: np.ndarray,
    slope: float,
    step_sd: float,
    kappa: float,
    phi: float,
    alpha: float,
    beta: float,
    jump_p: float,
    jump_scale: float,
    eps2_cap: float,
    p_tick: float,
    p_odd: float,
    tick: float,
    k_ticks: float,
    horizon: int,
    seed: int,
    se_target: float,
    batch_units: int,
    max_units: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(probs, se, paths)`` for the ticks ``rows`` of one contract-day.

    ``kidx`` / ``log_price`` / ``mid_ticks``: per tick of the day, its grid step, contract log
    price and observed mid in ticks; ``f`` / ``h``: the day's latent grid arrays. ``probs`` and
    ``se`` are ``(m, 3)`` (DOWN, FLAT, UP; NaN where ``i + horizon`` is past the day or the mid is
    NaN); ``paths`` the continuations used per row. Batches of ``batch_units`` antithetic pairs
    run until every class's standard error is ``<= se_target`` or ``max_units`` pairs are used.
    Each unit's three values sum to 1 but may leave [0, 1] by the control variate's noise, so the
    means are clipped to [0, 1] and renormalised (a change below one SE, only near 0 or 1).
    """
    m = rows.shape[0]
    n = kidx.shape[0]
    n_grid = f.shape[0]
    probs = np.full((m, 3), np.nan)
    se = np.full((m, 3), np.nan)
    paths = np.zeros(m, dtype=np.int64)
    omega = garch_omega(alpha, beta, jump_p, jump_scale)
    seed_key = _mix(np.uint64(seed) ^ _ROW_SALT)
    for r in range(m):
        i = rows[r]
        if i < 0 or i + horizon >= n or np.isnan(mid_ticks[i]):
            continue
        k = kidx[i]
        room = n_grid - 1 - k
        row_key = _mix(seed_key + np.uint64(i) * _GOLDEN)
        acc = np.empty(3)
        tmp = np.empty(3)
        s1 = np.zeros(3)
        s2 = np.zeros(3)
        units = 0
        while units < max_units:
            stop = min(units + batch_units, max_units)
            while units < stop:
                key = _mix(row_key + np.uint64(units + 1) * _GOLDEN)
                dk = _draw_dk(_mix(key ^ _DK_SALT), horizon, p_tick, room)
                _unit(
                    key, log_price[i], f[k], h[k + 1], dk, slope, step_sd, kappa, phi, alpha, beta, omega,
                    jump_p, jump_scale, eps2_cap, mid_ticks[i], k_ticks, tick, p_odd, acc, tmp,
                )  # fmt: skip
                for c in range(3):
                    s1[c] += acc[c]
                    s2[c] += acc[c] * acc[c]
                units += 1
            worst = 0.0
            for c in range(3):
                mean = s1[c] / units
                var = max(0.0, (s2[c] - units * mean * mean) / (units - 1)) if units > 1 else 1.0
                worst = max(worst, math.sqrt(var / units))
            if worst <= se_target:
                break
        total = 0.0
        for c in range(3):
            mean = s1[c] / units
            var = max(0.0, (s2[c] - units * mean * mean) / (units - 1)) if units > 1 else np.nan
            probs[r, c] = min(1.0, max(0.0, mean))  # the control variate may overshoot by < an SE
            total += probs[r, c]
            se[r, c] = math.sqrt(var / units)
        for c in range(3):
            probs[r, c] /= total
        paths[r] = 2 * units
    return probs, se, paths
