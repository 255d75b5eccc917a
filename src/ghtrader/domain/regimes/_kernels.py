"""Numba kernels of regime detection: arrays in, arrays out, no I/O.

Online and batch paths share one step function each (``hmm_filter_step``, ``bocpd_step``), so
feeding rows one at a time gives bit-identical results to the batch loop.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_LOG_2PI = math.log(2.0 * math.pi)


@njit(cache=True)
def logsumexp(v):
    """``log(sum(exp(v)))`` of a 1-D array, stable; ``-inf`` for an all ``-inf`` vector."""
    top = -np.inf
    for i in range(v.shape[0]):
        if v[i] > top:
            top = v[i]
    if not np.isfinite(top):
        return top
    s = 0.0
    for i in range(v.shape[0]):
        s += math.exp(v[i] - top)
    return top + math.log(s)


@njit(cache=True)
def gaussian_loglik_row(x, means, chol_inv, log_det, out):
    """Per-state Gaussian log density of one row ``x`` (D,) into ``out`` (K,).

    ``chol_inv[k]`` is the inverse of the lower Cholesky factor of state k's covariance and
    ``log_det[k]`` its covariance log-determinant. A row with a non-finite value carries no
    information: every state gets 0 (the filter then only propagates)."""
    k_states = means.shape[0]
    d = means.shape[1]
    for j in range(d):
        if not np.isfinite(x[j]):
            for k in range(k_states):
                out[k] = 0.0
            return False
    for k in range(k_states):
        q = 0.0
        for i in range(d):
            z = 0.0
            for j in range(i + 1):
                z += chol_inv[k, i, j] * (x[j] - means[k, j])
            q += z * z
        out[k] = -0.5 * (d * _LOG_2PI + log_det[k] + q)
    return True


@njit(cache=True)
def gaussian_loglik(x, means, chol_inv, log_det):
    """Log densities of every row of ``x`` (T, D) under every state: (T, K)."""
    n = x.shape[0]
    out = np.empty((n, means.shape[0]))
    for t in range(n):
        gaussian_loglik_row(x[t], means, chol_inv, log_det, out[t])
    return out


@njit(cache=True)
def hmm_filter_step(prev_log_post, first, log_start, log_trans, loglik_row, out):
    """One forward-filter step in log space: ``out = log p(s_t | x_1..t)`` (normalised).

    ``first``: ``prev_log_post`` is ignored and the prior is ``log_start``. Returns the log of
    the one-step predictive density ``log p(x_t | x_1..t-1)``."""
    k_states = log_start.shape[0]
    tmp = np.empty(k_states)
    for j in range(k_states):
        if first:
            pred = log_start[j]
        else:
            for i in range(k_states):
                tmp[i] = prev_log_post[i] + log_trans[i, j]
            pred = logsumexp(tmp)
        out[j] = pred + loglik_row[j]
    norm = logsumexp(out)
    for j in range(k_states):
        out[j] -= norm
    return norm


@njit(cache=True)
def hmm_filter_batch(loglik, log_start, log_trans):
    """Filtered log state probabilities (T, K) and the total log-likelihood."""
    n, k_states = loglik.shape
    out = np.empty((n, k_states))
    total = 0.0
    prev = np.zeros(k_states)
    for t in range(n):
        total += hmm_filter_step(prev, t == 0, log_start, log_trans, loglik[t], out[t])
        prev = out[t]
    return out, total


@njit(cache=True)
def viterbi(loglik, log_start, log_trans):
    """Most likely state path (T,) int64 given per-row log densities (T, K)."""
    n, k_states = loglik.shape
    path = np.zeros(n, dtype=np.int64)
    if n == 0:
        return path
    back = np.zeros((n, k_states), dtype=np.int64)
    delta = np.empty(k_states)
    nxt = np.empty(k_states)
    for j in range(k_states):
        delta[j] = log_start[j] + loglik[0, j]
    for t in range(1, n):
        for j in range(k_states):
            best = -np.inf
            arg = 0
            for i in range(k_states):
                v = delta[i] + log_trans[i, j]
                if v > best:
                    best = v
                    arg = i
            nxt[j] = best + loglik[t, j]
            back[t, j] = arg
        for j in range(k_states):
            delta[j] = nxt[j]
    best = -np.inf
    arg = 0
    for j in range(k_states):
        if delta[j] > best:
            best = delta[j]
            arg = j
    path[n - 1] = arg
    for t in range(n - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


@njit(cache=True)
def _student_t_logpdf(x, mu, kappa, alpha, beta):
    """Log predictive density of the Normal-Gamma model: Student-t with ``2 alpha`` dof."""
    nu = 2.0 * alpha
    scale2 = beta * (kappa + 1.0) / (alpha * kappa)
    z = (x - mu) * (x - mu) / (nu * scale2)
    return (
        math.lgamma(0.5 * (nu + 1.0))
        - math.lgamma(0.5 * nu)
        - 0.5 * math.log(nu * math.pi * scale2)
        - 0.5 * (nu + 1.0) * math.log1p(z)
    )


@njit(cache=True)
def bocpd_step(x, n_active, log_r, mu, kappa, alpha, beta, prior, log_h, log_1mh, tmp):
    """One step of Bayesian online changepoint detection (constant hazard, Normal-Gamma prior).

    State arrays have length ``R + 1`` (``R`` = max run length): ``log_r[r]`` is the log
    posterior of run length ``r`` and ``mu, kappa, alpha, beta`` the posterior parameters of
    the run of length ``r``; runs that would exceed ``R`` are merged into bin ``R``. ``prior`` =
    ``(mu0, kappa0, alpha0, beta0)``. A non-finite ``x`` leaves the state unchanged. Returns
    the new number of active bins (call with 0 before the first observation)."""
    cap = log_r.shape[0] - 1
    if not np.isfinite(x):
        return n_active
    if n_active == 0:
        log_r[0] = 0.0
        mu[0] = prior[0]
        kappa[0] = prior[1]
        alpha[0] = prior[2]
        beta[0] = prior[3]
        n_active = 1
    # predictive log densities and joint growth / changepoint masses
    cp = -np.inf
    for r in range(n_active):
        lp = _student_t_logpdf(x, mu[r], kappa[r], alpha[r], beta[r]) + log_r[r]
        tmp[r] = lp + log_1mh
        v = lp + log_h
        cp = max(cp, v) + math.log1p(math.exp(-abs(cp - v))) if np.isfinite(cp) else v
    new_active = min(n_active + 1, cap + 1)
    # shift growth masses up one bin (bin cap absorbs cap-1 and cap)
    if n_active == cap + 1:
        a = tmp[cap - 1]
        b = tmp[cap]
        merged = max(a, b) + math.log1p(math.exp(-abs(a - b)))
        # posterior of the merged bin keeps the longer run's statistics
        for r in range(cap - 1, 0, -1):
            log_r[r] = tmp[r - 1]
        log_r[cap] = merged
        src_top = cap
    else:
        for r in range(n_active, 0, -1):
            log_r[r] = tmp[r - 1]
        src_top = n_active - 1
    log_r[0] = cp
    # update sufficient statistics: bin r takes bin r-1's posterior updated with x
    if n_active == cap + 1:
        m, kp, al, be = mu[src_top], kappa[src_top], alpha[src_top], beta[src_top]
        mu[cap] = (kp * m + x) / (kp + 1.0)
        beta[cap] = be + kp * (x - m) * (x - m) / (2.0 * (kp + 1.0))
        kappa[cap] = kp + 1.0
        alpha[cap] = al + 0.5
        hi = cap - 1
    else:
        hi = n_active
    for r in range(hi, 0, -1):
        m, kp, al, be = mu[r - 1], kappa[r - 1], alpha[r - 1], beta[r - 1]
        mu[r] = (kp * m + x) / (kp + 1.0)
        beta[r] = be + kp * (x - m) * (x - m) / (2.0 * (kp + 1.0))
        kappa[r] = kp + 1.0
        alpha[r] = al + 0.5
    mu[0] = prior[0]
    kappa[0] = prior[1]
    alpha[0] = prior[2]
    beta[0] = prior[3]
    norm = logsumexp(log_r[:new_active])
    for r in range(new_active):
        log_r[r] -= norm
    return new_active


@njit(cache=True)
def bocpd_summary(log_r, n_active, short_run):
    """``(MAP run length, P(run length <= short_run))`` of the current run-length posterior."""
    best = -np.inf
    arg = 0
    short = 0.0
    for r in range(n_active):
        if log_r[r] > best:
            best = log_r[r]
            arg = r
        if r <= short_run:
            short += math.exp(log_r[r])
    return arg, short


@njit(cache=True)
def bocpd_batch(x, max_run, prior, log_h, log_1mh, short_run):
    """BOCPD over a series: MAP run length (T,) int64 and ``P(run <= short_run)`` (T,)."""
    n = x.shape[0]
    size = max_run + 1
    log_r = np.full(size, -np.inf)
    mu = np.zeros(size)
    kappa = np.zeros(size)
    alpha = np.zeros(size)
    beta = np.zeros(size)
    tmp = np.empty(size)
    run = np.zeros(n, dtype=np.int64)
    short = np.full(n, np.nan)
    active = 0
    for t in range(n):
        active = bocpd_step(x[t], active, log_r, mu, kappa, alpha, beta, prior, log_h, log_1mh, tmp)
        if active > 0:
            run[t], short[t] = bocpd_summary(log_r, active, short_run)
        else:
            run[t] = -1
    return run, short


@njit(cache=True)
def rolling_rms(r, reset, window, min_periods):
    """Causal rolling root-mean-square of ``r`` over the last ``window`` rows; the window
    restarts where ``reset`` is True; NaN values are skipped; NaN while fewer than
    ``min_periods`` finite values are in the window."""
    n = r.shape[0]
    out = np.full(n, np.nan)
    s = 0.0
    c = 0
    start = 0
    for t in range(n):
        if reset[t]:
            s = 0.0
            c = 0
            start = t
        v = r[t]
        if np.isfinite(v):
            s += v * v
            c += 1
        lo = t - window
        if lo >= start:
            w = r[lo]
            if np.isfinite(w):
                s -= w * w
                c -= 1
        if c >= min_periods and c > 0:
            out[t] = math.sqrt(max(s, 0.0) / c)
    return out


@njit(cache=True)
def rolling_mean(v, reset, window, min_periods):
    """Causal rolling mean of ``v`` over the last ``window`` rows (same rules as
    :func:`rolling_rms`)."""
    n = v.shape[0]
    out = np.full(n, np.nan)
    s = 0.0
    c = 0
    start = 0
    for t in range(n):
        if reset[t]:
            s = 0.0
            c = 0
            start = t
        x = v[t]
        if np.isfinite(x):
            s += x
            c += 1
        lo = t - window
        if lo >= start:
            w = v[lo]
            if np.isfinite(w):
                s -= w
                c -= 1
        if c >= min_periods and c > 0:
            out[t] = s / c
    return out


@njit(cache=True)
def tick_observations(mid, volume, bid1, ask1, bid_vol1, ask_vol1, reset):
    """Per-tick raw observations, causal: log return of the mid, traded volume in the tick
    (from the cumulative day volume), relative spread in basis points and the L1 order-flow
    imbalance (Cont, Kukanov and Stoikov) normalised by the previous L1 depth. Rows where
    ``reset`` is True (a new run) have NaN return, volume and imbalance."""
    n = mid.shape[0]
    ret = np.full(n, np.nan)
    vol = np.full(n, np.nan)
    spread = np.full(n, np.nan)
    ofi = np.full(n, np.nan)
    for t in range(n):
        if mid[t] > 0.0 and np.isfinite(mid[t]) and ask1[t] >= bid1[t]:
            spread[t] = (ask1[t] - bid1[t]) / mid[t] * 1e4
        if t == 0 or reset[t]:
            continue
        if mid[t] > 0.0 and mid[t - 1] > 0.0:
            ret[t] = math.log(mid[t] / mid[t - 1])
        dv = volume[t] - volume[t - 1]
        if np.isfinite(dv):
            vol[t] = math.log1p(max(dv, 0.0))
        b, b0, a, a0 = bid1[t], bid1[t - 1], ask1[t], ask1[t - 1]
        qb, qb0, qa, qa0 = bid_vol1[t], bid_vol1[t - 1], ask_vol1[t], ask_vol1[t - 1]
        e = 0.0
        if b >= b0:
            e += qb
        if b <= b0:
            e -= qb0
        if a <= a0:
            e -= qa
        if a >= a0:
            e += qa0
        depth = qb0 + qa0
        if np.isfinite(e) and depth > 0.0:
            ofi[t] = e / depth
    return ret, vol, spread, ofi
