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


# --- online (streaming) evaluation -------------------------------------------------------------
# A compiled plan is one int64 row per generated feature (columns below); the float state holds,
# per feature, its ring buffer (lag / diff: K values, mean / std: W values) then its accumulators
# (mean / std: sum, sum of squares, finite count; ewm: the state). All features of a plan restart
# together (a segment change), so one row counter (rows since the segment start) serves them all.
OP_LAG = 0
OP_DIFF = 1
OP_MEAN = 2
OP_STD = 3
OP_EWM = 4
OP_MUL = 5
OP_DIV = 6
C_OP = 0  # operator code
C_A = 1  # first parent's column in the base factor row
C_B = 2  # second parent's column (pair operators)
C_K = 3  # parameter (lag / window / span)
C_MINN = 4  # finite values a window needs (mean / std)
C_OFF = 5  # offset of the feature's float state
N_COL = 6
# the int state: [rows since the segment start, current segment id, 1 once a segment is open]
I_ROW = 0
I_SEG = 1
I_OPEN = 2
N_ISTATE = 3
ROWS_BELOW = 8  # calls of fewer rows take the row-by-row path


@njit(cache=True)
def state_size(op: int, k: int) -> int:
    """Float state slots of one operator."""
    if op == OP_LAG or op == OP_DIFF:
        return k
    if op == OP_MEAN or op == OP_STD:
        return k + 3
    if op == OP_EWM:
        return 1
    return 0


@njit(cache=True)
def _column(
    op: int,
    k: int,
    minn: int,
    off: int,
    a: np.ndarray,
    b: np.ndarray,
    row: np.ndarray,
    eps: float,
    fstate: np.ndarray,
    out: np.ndarray,
) -> None:
    """One feature over the rows of a call: ``a`` / ``b`` its parents' columns (float32-rounded
    here), ``row`` each row's index in its segment (0 restarts the state)."""
    n = a.shape[0]
    if op == OP_LAG or op == OP_DIFF:
        for i in range(n):
            x = np.float64(np.float32(a[i]))
            slot = off + row[i] % k
            v = np.nan
            if row[i] >= k:
                v = fstate[slot] if op == OP_LAG else x - fstate[slot]
            fstate[slot] = x
            out[i] = v
    elif op == OP_MEAN or op == OP_STD:
        acc = off + k
        s = fstate[acc]
        ss = fstate[acc + 1]
        c = fstate[acc + 2]
        for i in range(n):
            r = row[i]
            if r == 0:
                s = 0.0
                ss = 0.0
                c = 0.0
            x = np.float64(np.float32(a[i]))
            if np.isfinite(x):
                s += x
                ss += x * x
                c += 1.0
            slot = off + r % k
            if r >= k:
                u = fstate[slot]
                if np.isfinite(u):
                    s -= u
                    ss -= u * u
                    c -= 1.0
            fstate[slot] = x
            v = np.nan
            if r + 1 >= k and c >= minn and c > 0:
                mean = s / c
                if op == OP_MEAN:
                    v = mean
                else:
                    var = ss / c - mean * mean
                    v = np.sqrt(var) if var > 0.0 else 0.0
            out[i] = v
        fstate[acc] = s
        fstate[acc + 1] = ss
        fstate[acc + 2] = c
    elif op == OP_EWM:
        alpha = 2.0 / (k + 1.0)
        state = fstate[off]
        for i in range(n):
            if row[i] == 0:
                state = np.nan
            x = np.float64(np.float32(a[i]))
            if np.isfinite(x):
                state = x if not np.isfinite(state) else state + alpha * (x - state)
            out[i] = state
        fstate[off] = state
    elif op == OP_MUL:
        for i in range(n):
            out[i] = np.float64(np.float32(a[i])) * np.float64(np.float32(b[i]))
    else:
        for i in range(n):
            y = np.float64(np.float32(b[i]))
            out[i] = np.float64(np.float32(a[i])) / y if np.abs(y) > eps else np.nan


@njit(cache=True)
def _rows(base: np.ndarray, row: np.ndarray, plan: np.ndarray, eps: float, fstate: np.ndarray, gen: np.ndarray) -> None:
    """Every feature row by row (the few-rows path: a tick's call), state in ``fstate``."""
    for i in range(base.shape[0]):
        r = row[i]
        for j in range(plan.shape[0]):
            op = plan[j, C_OP]
            k = plan[j, C_K]
            off = plan[j, C_OFF]
            x = np.float64(np.float32(base[i, plan[j, C_A]]))
            v = np.nan
            if op == OP_LAG or op == OP_DIFF:
                slot = off + r % k
                if r >= k:
                    v = fstate[slot] if op == OP_LAG else x - fstate[slot]
                fstate[slot] = x
            elif op == OP_MEAN or op == OP_STD:
                acc = off + k
                if r == 0:
                    fstate[acc] = 0.0
                    fstate[acc + 1] = 0.0
                    fstate[acc + 2] = 0.0
                if np.isfinite(x):
                    fstate[acc] += x
                    fstate[acc + 1] += x * x
                    fstate[acc + 2] += 1.0
                slot = off + r % k
                if r >= k:
                    u = fstate[slot]
                    if np.isfinite(u):
                        fstate[acc] -= u
                        fstate[acc + 1] -= u * u
                        fstate[acc + 2] -= 1.0
                fstate[slot] = x
                cnt = fstate[acc + 2]
                if r + 1 >= k and cnt >= plan[j, C_MINN] and cnt > 0:
                    mean = fstate[acc] / cnt
                    if op == OP_MEAN:
                        v = mean
                    else:
                        var = fstate[acc + 1] / cnt - mean * mean
                        v = np.sqrt(var) if var > 0.0 else 0.0
            elif op == OP_EWM:
                if r == 0:
                    fstate[off] = np.nan
                if np.isfinite(x):
                    st = fstate[off]
                    fstate[off] = x if not np.isfinite(st) else st + (2.0 / (k + 1.0)) * (x - st)
                v = fstate[off]
            else:
                y = np.float64(np.float32(base[i, plan[j, C_B]]))
                if op == OP_MUL:
                    v = x * y
                elif np.abs(y) > eps:
                    v = x / y
            gen[j, i] = v


@njit(cache=True)
def run_online(
    base: np.ndarray,
    segment: np.ndarray,
    plan: np.ndarray,
    eps: float,
    fstate: np.ndarray,
    istate: np.ndarray,
    select: np.ndarray,
    out: np.ndarray,
    row: np.ndarray,
    gen: np.ndarray,
) -> None:
    """Advance the generated features of ``plan`` over the rows of ``base`` (the registered
    factors, ``(n, n_base)`` float64, column-major best) and write ``out[:, c] =
    value[select[c]]`` where values ``0..n_base-1`` are the base factors and ``n_base + j`` the
    plan's feature ``j``.

    Parents are rounded to float32 first, as the stored factor columns the batch version reads
    are; the state in ``fstate`` / ``istate`` carries over calls, so a tick-by-tick run equals
    the batch kernels on the same rows. A call of ``ROWS_BELOW`` rows or more runs each feature
    over its rows as one loop with the state in locals (fast batches); a shorter one (a tick)
    runs the rows one by one over all features (no per-feature call overhead). ``row`` (int64, ``n``) and ``gen``
    (``(m, n)``) are scratch space."""
    n = base.shape[0]
    nb = base.shape[1]
    m = plan.shape[0]
    r = istate[I_ROW]
    for i in range(n):
        if istate[I_OPEN] == 0 or segment[i] != istate[I_SEG]:
            r = 0
            istate[I_SEG] = segment[i]
            istate[I_OPEN] = 1
        row[i] = r
        r += 1
    istate[I_ROW] = r
    if n < ROWS_BELOW:
        _rows(base, row, plan, eps, fstate, gen)
    else:
        for j in range(m):
            _column(
                plan[j, C_OP], plan[j, C_K], plan[j, C_MINN], plan[j, C_OFF],
                base[:, plan[j, C_A]], base[:, plan[j, C_B]], row, eps, fstate, gen[j],
            )  # fmt: skip
    for c in range(select.shape[0]):
        src = select[c]
        if src < nb:
            for i in range(n):
                out[i, c] = base[i, src]
        else:
            for i in range(n):
                out[i, c] = gen[src - nb, i]
