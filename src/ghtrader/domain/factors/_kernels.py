"""Numba kernels of the factor library: one tick step shared by the batch and online engines.

:func:`run_ticks` advances the factor state over any number of ticks. The batch engine calls it
once over a whole array; the online engine calls it with a one-row array per tick. Both run the
same compiled code on the same state layout, so batch == online holds by construction.

Per tick, ``run_ticks``:

1. resets every state array when the segment id differs from the previous tick's (or on the
   very first tick), so no window ever spans two segments;
2. fills the *base series* vector of the tick (``_prep_*``): mid, 1-tick return, volume and
   turnover differences, trade sign, per-level order-flow imbalance, book shape, quote arrivals,
   other-asset returns ... from the raw row, the previous row and a little carried state;
3. runs every factor op of the plan (``_op_*``): each reads base series and its own slice of the
   op state vector (ring buffers of cumulative sums, monotonic deques, EWMAs) and returns one
   value, then the affine map ``offset + scale * value`` and the warm-up rule are applied.

Base series are double-buffered (``base[k & 1]`` holds the current tick, ``base[1 - (k & 1)]``
the previous one) so "previous value" needs no copy. Rolling sums are kept as running
cumulative sums whose history sits in power-of-two ring buffers; a window sum is the difference
of two cumulative values (O(1), no drift that depends on the window phase).

Everything lives in this one module on purpose: numba's on-disk cache only notices edits to the
file of the cached function, so kernels calling kernels in other files could run stale code.
All divisions and logarithms are guarded, so ``NUMBA_DISABLE_JIT=1`` gives the same results.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

NAN = np.nan

# No kernel here allocates an array, so numba's reference counting (NRT) is switched off: it
# would otherwise incref/decref every array argument of every nested call (measured at ~35 ns
# per factor per tick, several times the cost of the factor itself). numba uses the same flag
# for its own non-allocating helpers. error_model="numpy": guarded divisions need no checks.
_JIT = {"cache": True, "error_model": "numpy", "_nrt": False}
_INLINE = {**_JIT, "inline": "always"}

# --- raw row layout: a TICK_DTYPE row viewed as 28 float64 (column 0 holds datetime bits) ----
C_LAST = 1
C_AVG = 2
C_HIGH = 3
C_LOW = 4
C_VOL = 5
C_AMT = 6
C_OI = 7
C_L0 = 8  # book level l (0-based): bid price C_L0+4l, bid volume +1, ask price +2, ask volume +3
N_ROW = 28
N_EXTRA = 3  # other-asset mids, in the order of EXTRA_INPUTS (cu, au, ag)

# --- base series (one float per tick) ---------------------------------------------------------
# group L1 (always computed)
B_MID = 0
B_LOGMID = 1
B_SPREAD = 2
B_RSPREAD = 3
B_DVOL = 4
B_DAMT_M = 5
B_NOTIONAL = 6
B_TRADEPX = 7
B_MIDPREV = 8
B_RET = 9
B_ABSRET = 10
B_RET2 = 11
B_DMID = 12
B_SIGN = 13
B_Q = 14
B_EFF = 15
B_IMB1 = 16  # 16..20: level imbalance l1..l5 (l2..l5 by group DEPTH)
B_DEP1 = 21  # 21..25: depth l1..l5 (l2..l5 by group DEPTH)
B_HDEP1 = 26  # 26..30: half depth l1..l5 (l2..l5 by group OFI)
B_OFI1 = 31  # 31..35: order-flow imbalance l1..l5 (l2..l5 by group OFI)
B_MICRO = 36
B_LASTPOS = 37
B_VWAPDEV_DAY = 38
B_LOGDVOL = 39
B_DT = 40
B_L1CHG = 41
B_MIDCHG = 42
B_OI = 43
B_DOI = 44
B_TOD = 45  # 45..47 by group CLOCK
B_TOD_SIN = 46
B_TOD_COS = 47
B_ONE = 48
B_NEWDAY = 49
# group DEPTH
B_IMBC3 = 50
B_IMBC5 = 51
B_IMBDW = 52
B_WMID5 = 53
B_BPRESS = 54
B_DEPB5 = 55
B_DEPA5 = 56
B_LOGDEP5 = 57
B_SLOPE_B = 58
B_SLOPE_A = 59
B_SLOPE_IMB = 60
B_CURV_B = 61
B_CURV_A = 62
B_CONC_B = 63
B_CONC_A = 64
B_TOPSHARE = 65
B_GAP_B = 66
B_GAP_A = 67
# group OFI
B_OFISUM = 68
B_HDEPSUM = 69
# group DYN
B_ARR = 70
B_CAN = 71
B_ARRDIFF = 72
# group X: 73..75 log other mids, 76..78 their 1-tick returns, 79..81 log spreads own - other
B_XLOG = 73
B_XRET = 76
B_XSPR = 79
NB = 82

# --- prep groups (flags array) ------------------------------------------------------------------
G_DEPTH = 0
G_OFI = 1
G_DYN = 2
G_X = 3
G_CLOCK = 4
N_GROUPS = 5

# --- global parameters (gprm) --------------------------------------------------------------------
GP_TICK = 0
GP_MULT = 1
N_GPRM = 2

# --- int state (istate) ---------------------------------------------------------------------------
I_STARTED = 0
I_NSEEN = 1
I_SEG = 2
I_DAY = 3
I_DT = 4
N_ISTATE = 5

# --- prep float state (pstate) -------------------------------------------------------------------
P_ROW = 0  # previous raw row (28)
P_MULT = 28  # inferred contract multiplier (0 = unknown)
N_PSTATE = 29

# --- op kinds -------------------------------------------------------------------------------------
K_VALUE = 0
K_LAG = 1
K_SUM = 2
K_RATIO = 3
K_MOVE = 4
K_MEANRATIO = 5
K_MOMENTS = 6
K_RANGE = 7
K_EMAGAP = 8
K_VPIN = 9
K_TODPROF = 10
K_REGIME = 11
K_REALSPREAD = 12
K_AGE = 13
K_DAYMEAN = 14
N_KINDS = 15

# --- op table columns (ops: int64, fprm: float64) -------------------------------------------
O_KIND = 0
O_A = 1  # first base series
O_B = 2  # second base series
O_C = 3  # third base series (reference)
O_W = 4  # window (ticks)
O_W2 = 5  # second window / lag / minimum updates
O_MODE = 6
O_OFF = 7  # offset of the op's state slice
O_MASK = 8  # ring mask (ring length - 1, a power of two minus one)
O_MASK2 = 9  # second ring mask
O_WARM = 10  # value NaN while fewer ticks than this were seen in the segment
O_MINN = 11  # minimum valid observations in the window
O_MINN2 = 12  # minimum valid observations in the second window
N_OCOL = 13
F_SCALE = 0
F_OFFSET = 1
F_C = 2
F_D = 3
N_FCOL = 4

TOD_BUCKET_S = 300
N_TOD = 86400 // TOD_BUCKET_S
MAX_DT_S = 600.0  # a gap longer than this between ticks is a session break
_TERCILE_Z = 0.4307272992954576  # standard normal 1/3 and 2/3 quantiles are -/+ this
_DEGENERATE = 1e-9  # variance below this fraction of the second moment counts as zero
_LN2 = math.log(2.0)


def _pow2_above(n: int) -> int:
    size = 1
    while size < n:
        size *= 2
    return size


def ring_mask(length: int) -> int:
    """Mask of the smallest power-of-two ring holding ``length`` entries."""
    return _pow2_above(max(int(length), 1)) - 1


def state_size(kind: int, w: int, w2: int, mask: int, mask2: int) -> int:
    """Floats of op state for an op of ``kind`` (must match the layouts of the ``_op_*`` kernels)."""
    ring = mask + 1
    ring2 = mask2 + 1
    if kind == K_VALUE:
        return 0
    if kind == K_LAG:
        return ring
    if kind in (K_SUM, K_MEANRATIO):
        return 2 + 2 * ring
    if kind == K_RATIO:
        return 3 + 3 * ring
    if kind == K_MOVE:
        return 2 + 3 * ring
    if kind == K_MOMENTS:
        return 3 + 6 + 6 * ring + ring2
    if kind == K_RANGE:
        return 4 + 5 * ring
    if kind == K_EMAGAP:
        return 3
    if kind == K_VPIN:
        return 8 + 2 * ring
    if kind == K_TODPROF:
        return 2 + 2 * ring + 4 * N_TOD
    if kind == K_REGIME:
        return 2 + 3 + 2 * ring
    if kind == K_REALSPREAD:
        return 2 + 2 * ring + 3 * ring2
    if kind == K_AGE:
        return 2
    if kind == K_DAYMEAN:
        return 4
    raise ValueError(f"unknown op kind {kind}")


# =============================================================================================
# base series
# =============================================================================================
@njit(**_JIT)
def _ofi_level(X, i, pstate, lvl):
    """Order-flow imbalance of one book level between the previous and the current snapshot."""
    c = C_L0 + 4 * lvl
    bp = X[i, c]
    bv = X[i, c + 1]
    ap = X[i, c + 2]
    av = X[i, c + 3]
    pbp = pstate[P_ROW + c]
    pbv = pstate[P_ROW + c + 1]
    pap = pstate[P_ROW + c + 2]
    pav = pstate[P_ROW + c + 3]
    if not (bp > 0.0 and bv > 0.0 and ap > 0.0 and av > 0.0):
        return NAN
    if not (pbp > 0.0 and pbv > 0.0 and pap > 0.0 and pav > 0.0):
        return NAN
    eb = 0.0
    if bp >= pbp:
        eb += bv
    if bp <= pbp:
        eb -= pbv
    ea = 0.0
    if ap <= pap:
        ea += av
    if ap >= pap:
        ea -= pav
    return eb - ea


@njit(**_JIT)
def _prep_l1(X, dt, day, i, k, gprm, istate, pstate, b, cur, prv):
    """Level-1, trade and clock series (group L1); ``k`` ticks were seen before this one."""
    tick = gprm[GP_TICK]
    has_prev = k > 0
    newday = (not has_prev) or day[i] != istate[I_DAY]
    bp = X[i, C_L0]
    bv = X[i, C_L0 + 1]
    ap = X[i, C_L0 + 2]
    av = X[i, C_L0 + 3]
    bid_ok = bp > 0.0 and bv > 0.0
    ask_ok = ap > 0.0 and av > 0.0
    both = bid_ok and ask_ok and ap >= bp
    mid = NAN
    logmid = NAN
    spread = NAN
    rspread = NAN
    if both:
        mid = 0.5 * (bp + ap)
        logmid = math.log(mid)
        spread = (ap - bp) / tick
        rspread = (ap - bp) / mid * 1e4
    b[cur, B_MID] = mid
    b[cur, B_LOGMID] = logmid
    b[cur, B_SPREAD] = spread
    b[cur, B_RSPREAD] = rspread

    # volume and turnover: cumulative within the trading day
    vol = X[i, C_VOL]
    amt = X[i, C_AMT]
    dvol = NAN
    damt = NAN
    if has_prev:
        if newday:
            if vol >= 0.0:
                dvol = vol
            if amt >= 0.0:
                damt = amt
        else:
            d = vol - pstate[P_ROW + C_VOL]
            if d >= 0.0:
                dvol = d
            d = amt - pstate[P_ROW + C_AMT]
            if d >= 0.0:
                damt = d
    mult = gprm[GP_MULT]
    if not mult > 0.0:
        avg = X[i, C_AVG]
        if vol > 0.0 and amt > 0.0 and avg > 0.0:
            pstate[P_MULT] = amt / (vol * avg)
        mult = pstate[P_MULT]
    notional = NAN
    if dvol >= 0.0 and damt >= 0.0 and mult > 0.0:
        notional = damt / mult
    px = NAN
    if dvol > 0.0:
        if notional > 0.0:
            px = notional / dvol
        elif X[i, C_LAST] > 0.0:
            px = X[i, C_LAST]
    b[cur, B_DVOL] = dvol
    b[cur, B_DAMT_M] = damt * 1e-6
    b[cur, B_NOTIONAL] = notional
    b[cur, B_TRADEPX] = px
    b[cur, B_LOGDVOL] = math.log1p(dvol) if dvol >= 0.0 else NAN

    midprev = NAN
    logprev = NAN
    spreadprev = NAN
    pxprev = NAN
    if has_prev:
        midprev = b[prv, B_MID]
        logprev = b[prv, B_LOGMID]
        spreadprev = b[prv, B_SPREAD]
        pxprev = b[prv, B_TRADEPX]
    b[cur, B_MIDPREV] = midprev
    ret = (logmid - logprev) * 1e4
    b[cur, B_RET] = ret
    b[cur, B_ABSRET] = abs(ret)
    b[cur, B_RET2] = ret * ret
    b[cur, B_DMID] = (mid - midprev) / tick

    # trade sign in [-1, 1]: trade price against the previous quote, else the tick rule
    sgn = NAN
    if dvol == 0.0:
        sgn = 0.0
    elif dvol > 0.0 and not math.isnan(px):
        if not math.isnan(midprev) and spreadprev > 0.0:
            sgn = (px - midprev) / (0.5 * spreadprev * tick)
            if sgn > 1.0:
                sgn = 1.0
            elif sgn < -1.0:
                sgn = -1.0
        elif not math.isnan(pxprev):
            sgn = 1.0 if px > pxprev else (-1.0 if px < pxprev else 0.0)
        else:
            sgn = 0.0
    b[cur, B_SIGN] = sgn
    b[cur, B_Q] = sgn * dvol
    eff = NAN
    if not math.isnan(px) and midprev > 0.0:
        eff = 2.0 * abs(px - midprev) / midprev * 1e4
    b[cur, B_EFF] = eff

    bvv = bv if bid_ok else 0.0
    avv = av if ask_ok else 0.0
    dep = bvv + avv
    b[cur, B_IMB1] = (bvv - avv) / dep if dep > 0.0 else NAN
    b[cur, B_DEP1] = dep
    b[cur, B_HDEP1] = 0.5 * dep
    b[cur, B_OFI1] = _ofi_level(X, i, pstate, 0) if has_prev else NAN
    micro = NAN
    if both:
        micro = ((ap * bv + bp * av) / (bv + av) - mid) / tick
    b[cur, B_MICRO] = micro
    last = X[i, C_LAST]
    lastpos = NAN
    if both and ap > bp and last > 0.0:
        lastpos = (last - bp) / (ap - bp)
    b[cur, B_LASTPOS] = lastpos
    avg = X[i, C_AVG]
    b[cur, B_VWAPDEV_DAY] = (mid / avg - 1.0) * 1e4 if avg > 0.0 else NAN

    # clock, quote changes, open interest
    gap = NAN
    l1chg = NAN
    doi = NAN
    oi = X[i, C_OI]
    if has_prev:
        d = (dt[i] - istate[I_DT]) * 1e-9
        if d >= 0.0 and d <= MAX_DT_S:
            gap = d
        pbp = pstate[P_ROW + C_L0]
        pap = pstate[P_ROW + C_L0 + 2]
        pbid_ok = pbp > 0.0 and pstate[P_ROW + C_L0 + 1] > 0.0
        pask_ok = pap > 0.0 and pstate[P_ROW + C_L0 + 3] > 0.0
        changed = (bid_ok != pbid_ok) or (ask_ok != pask_ok)
        if bid_ok and pbid_ok and bp != pbp:
            changed = True
        if ask_ok and pask_ok and ap != pap:
            changed = True
        l1chg = 1.0 if changed else 0.0
        doi = oi - pstate[P_ROW + C_OI]
    b[cur, B_DT] = gap
    b[cur, B_L1CHG] = l1chg
    midchg = NAN
    if not math.isnan(mid) and not math.isnan(midprev):
        midchg = 1.0 if mid != midprev else 0.0
    b[cur, B_MIDCHG] = midchg
    b[cur, B_OI] = oi
    b[cur, B_DOI] = doi
    b[cur, B_ONE] = 1.0
    b[cur, B_NEWDAY] = 1.0 if newday else 0.0


@njit(**_JIT)
def _prep_clock(dt, i, b, cur):
    """Beijing time of day and its sine and cosine (group CLOCK)."""
    secs = dt[i] // 1000000000
    tod = float((secs + 28800) % 86400)  # UTC+8, seconds
    b[cur, B_TOD] = tod
    phase = 2.0 * math.pi * tod / 86400.0
    b[cur, B_TOD_SIN] = math.sin(phase)
    b[cur, B_TOD_COS] = math.cos(phase)


@njit(**_JIT)
def _prep_depth(X, i, gprm, b, cur):
    """Snapshot series over book levels 1..5 (group DEPTH): imbalances, pressure, shape."""
    tick = gprm[GP_TICK]
    mid = b[cur, B_MID]
    sb = 0.0
    sa = 0.0
    sb3 = 0.0
    sa3 = 0.0
    wn = 0.0
    wd = 0.0
    wmn = 0.0
    wmd = 0.0
    pb = 0.0
    pa = 0.0
    hb = 0.0
    ha = 0.0
    # least squares of cumulative depth on distance from mid (ticks), per side
    nb_ = 0.0
    sdb = 0.0
    sDb = 0.0
    sddb = 0.0
    sdDb = 0.0
    na_ = 0.0
    sda = 0.0
    sDa = 0.0
    sdda = 0.0
    sdDa = 0.0
    fb = NAN
    lb = NAN
    ngb = 0
    fa = NAN
    la = NAN
    nga = 0
    v1b = 0.0
    v3b = 0.0
    v5b = 0.0
    v1a = 0.0
    v3a = 0.0
    v5a = 0.0
    for lvl in range(5):
        c = C_L0 + 4 * lvl
        bp = X[i, c]
        bv = X[i, c + 1]
        ap = X[i, c + 2]
        av = X[i, c + 3]
        bok = bp > 0.0 and bv > 0.0
        aok = ap > 0.0 and av > 0.0
        bvv = bv if bok else 0.0
        avv = av if aok else 0.0
        dep = bvv + avv
        if lvl >= 1:
            b[cur, B_IMB1 + lvl] = (bvv - avv) / dep if dep > 0.0 else NAN
            b[cur, B_DEP1 + lvl] = dep
        sb += bvv
        sa += avv
        if lvl < 3:
            sb3 += bvv
            sa3 += avv
        w = 1.0 / (lvl + 1.0)
        wn += w * (bvv - avv)
        wd += w * dep
        if bok and aok:
            wmn += bp * avv + ap * bvv
            wmd += dep
        hb += bvv * bvv
        ha += avv * avv
        if lvl == 0:
            v1b = bvv
            v1a = avv
        elif lvl == 2:
            v3b = bvv
            v3a = avv
        elif lvl == 4:
            v5b = bvv
            v5a = avv
        if bok:
            if ngb == 0:
                fb = bp
            lb = bp
            ngb += 1
            if not math.isnan(mid):
                d = (mid - bp) / tick
                if d > 0.0:
                    pb += bvv / d
                nb_ += 1.0
                sdb += d
                sDb += sb
                sddb += d * d
                sdDb += d * sb
        if aok:
            if nga == 0:
                fa = ap
            la = ap
            nga += 1
            if not math.isnan(mid):
                d = (ap - mid) / tick
                if d > 0.0:
                    pa += avv / d
                na_ += 1.0
                sda += d
                sDa += sa
                sdda += d * d
                sdDa += d * sa
    b[cur, B_IMBC3] = (sb3 - sa3) / (sb3 + sa3) if sb3 + sa3 > 0.0 else NAN
    b[cur, B_IMBC5] = (sb - sa) / (sb + sa) if sb + sa > 0.0 else NAN
    b[cur, B_IMBDW] = wn / wd if wd > 0.0 else NAN
    b[cur, B_WMID5] = (wmn / wmd - mid) / tick if wmd > 0.0 else NAN
    b[cur, B_BPRESS] = (pb - pa) / (pb + pa) if pb + pa > 0.0 else NAN
    b[cur, B_DEPB5] = sb
    b[cur, B_DEPA5] = sa
    b[cur, B_LOGDEP5] = math.log1p(sb + sa)
    slope_b = NAN
    den = nb_ * sddb - sdb * sdb
    if nb_ >= 2.0 and den > 0.0:
        slope_b = (nb_ * sdDb - sdb * sDb) / den
    slope_a = NAN
    den = na_ * sdda - sda * sda
    if na_ >= 2.0 and den > 0.0:
        slope_a = (na_ * sdDa - sda * sDa) / den
    b[cur, B_SLOPE_B] = slope_b
    b[cur, B_SLOPE_A] = slope_a
    ssum = slope_b + slope_a
    b[cur, B_SLOPE_IMB] = (slope_b - slope_a) / ssum if ssum > 0.0 else NAN
    b[cur, B_CURV_B] = (v1b - 2.0 * v3b + v5b) / sb if sb > 0.0 else NAN
    b[cur, B_CURV_A] = (v1a - 2.0 * v3a + v5a) / sa if sa > 0.0 else NAN
    b[cur, B_CONC_B] = hb / (sb * sb) if sb > 0.0 else NAN
    b[cur, B_CONC_A] = ha / (sa * sa) if sa > 0.0 else NAN
    b[cur, B_TOPSHARE] = (v1b + v1a) / (sb + sa) if sb + sa > 0.0 else NAN
    b[cur, B_GAP_B] = (fb - lb) / (tick * (ngb - 1)) if ngb >= 2 else NAN
    b[cur, B_GAP_A] = (la - fa) / (tick * (nga - 1)) if nga >= 2 else NAN


@njit(**_JIT)
def _prep_ofi(X, i, k, pstate, b, cur):
    """Order-flow imbalance of levels 2..5 and its sum over levels 1..5 (group OFI)."""
    has_prev = k > 0
    s = 0.0
    h = 0.0
    n = 0
    for lvl in range(5):
        c = C_L0 + 4 * lvl
        bv = X[i, c + 1] if (X[i, c] > 0.0 and X[i, c + 1] > 0.0) else 0.0
        av = X[i, c + 3] if (X[i, c + 2] > 0.0 and X[i, c + 3] > 0.0) else 0.0
        hd = 0.5 * (bv + av)
        if lvl >= 1:
            b[cur, B_HDEP1 + lvl] = hd
            b[cur, B_OFI1 + lvl] = _ofi_level(X, i, pstate, lvl) if has_prev else NAN
        o = b[cur, B_OFI1 + lvl]
        if not math.isnan(o):
            s += o
            h += hd
            n += 1
    b[cur, B_OFISUM] = s if n > 0 else NAN
    b[cur, B_HDEPSUM] = h if n > 0 else NAN


@njit(**_JIT)
def _side_flow(X, i, pstate, side, tick):
    """Volume added and removed at one side of the book between two snapshots.

    Only prices both snapshots can see are compared: for bids the prices at or above the
    higher of the two lowest visible bids, for asks at or below the lower of the two highest
    visible asks. A price absent from a snapshot inside that range holds 0 lots there.
    Returns ``(added, removed)``; NaN when either snapshot has no level on this side.
    """
    off = 2 * side  # 0: bid, 2: ask
    sgn = 1.0 if side == 0 else -1.0  # compare -price on the ask side: "deeper" is always lower
    half = 0.5 * tick
    edge_c = math.inf
    edge_p = math.inf
    nc = 0
    npv = 0
    for lvl in range(5):
        c = C_L0 + 4 * lvl + off
        if X[i, c] > 0.0 and X[i, c + 1] > 0.0:
            nc += 1
            edge_c = min(edge_c, sgn * X[i, c])
        if pstate[P_ROW + c] > 0.0 and pstate[P_ROW + c + 1] > 0.0:
            npv += 1
            edge_p = min(edge_p, sgn * pstate[P_ROW + c])
    if nc == 0 or npv == 0:
        return NAN, NAN
    bound = max(edge_c, edge_p) - half
    added = 0.0
    removed = 0.0
    for lvl in range(5):
        c = C_L0 + 4 * lvl + off
        p = X[i, c]
        v = X[i, c + 1]
        if not (p > 0.0 and v > 0.0) or sgn * p < bound:
            continue
        vp = 0.0
        for m in range(5):
            cm = C_L0 + 4 * m + off
            pp = pstate[P_ROW + cm]
            if pp > 0.0 and pstate[P_ROW + cm + 1] > 0.0 and abs(pp - p) < half:
                vp = pstate[P_ROW + cm + 1]
        d = v - vp
        if d > 0.0:
            added += d
        else:
            removed -= d
    for m in range(5):
        cm = C_L0 + 4 * m + off
        pp = pstate[P_ROW + cm]
        pv = pstate[P_ROW + cm + 1]
        if not (pp > 0.0 and pv > 0.0) or sgn * pp < bound:
            continue
        matched = False
        for lvl in range(5):
            c = C_L0 + 4 * lvl + off
            if X[i, c] > 0.0 and X[i, c + 1] > 0.0 and abs(X[i, c] - pp) < half:
                matched = True
        if not matched:
            removed += pv
    return added, removed


@njit(**_JIT)
def _prep_dyn(X, i, k, gprm, pstate, b, cur):
    """Quote arrivals and cancellations from snapshot differences (group DYN)."""
    arr = NAN
    can = NAN
    diff = NAN
    if k > 0:
        tick = gprm[GP_TICK]
        add_b, rem_b = _side_flow(X, i, pstate, 0, tick)
        add_a, rem_a = _side_flow(X, i, pstate, 1, tick)
        if not math.isnan(add_b) and not math.isnan(add_a):
            arr = add_b + add_a
            diff = add_b - add_a
            dvol = b[cur, B_DVOL]
            sgn = b[cur, B_SIGN]
            if not math.isnan(dvol) and not math.isnan(sgn):
                # traded volume removed from each side: sells hit bids, buys lift asks
                can = max(rem_b - 0.5 * dvol * (1.0 - sgn), 0.0) + max(rem_a - 0.5 * dvol * (1.0 + sgn), 0.0)
    b[cur, B_ARR] = arr
    b[cur, B_CAN] = can
    b[cur, B_ARRDIFF] = diff


@njit(**_JIT)
def _prep_x(XE, i, k, b, cur, prv):
    """Other-asset series (group X): log mid, 1-tick return (bps), log spread to own mid (bps)."""
    logmid = b[cur, B_LOGMID]
    for m in range(N_EXTRA):
        v = XE[i, m]
        xl = math.log(v) if v > 0.0 else NAN
        b[cur, B_XLOG + m] = xl
        b[cur, B_XRET + m] = (xl - b[prv, B_XLOG + m]) * 1e4 if k > 0 else NAN
        b[cur, B_XSPR + m] = (logmid - xl) * 1e4


# =============================================================================================
# rolling helpers: running cumulative sums + ring of their history (power-of-two length)
# =============================================================================================
@njit(**_INLINE)
def _finite(x):
    return math.isfinite(x)


@njit(**_INLINE)
def _ring_put(st, off, m, mask, k):
    """Copy the ``m`` running values at ``st[off:off+m]`` into ring slot ``k``."""
    s = off + m + m * (k & mask)
    for c in range(m):
        st[s + c] = st[off + c]


@njit(**_INLINE)
def _ring_delta(st, off, m, mask, k, w, c):
    """Running value ``c`` now minus its value ``w`` ticks ago (0 before the segment start)."""
    if k < w:
        return st[off + c]
    return st[off + c] - st[off + m + m * ((k - w) & mask) + c]


# =============================================================================================
# op kernels: each returns the raw value of one factor and updates its own state slice
# =============================================================================================
@njit(**_INLINE)
def _op_lag(j, ops, st, b, cur, k):
    """``x[t] - x[t-w]`` (mode 0) or ``x[t] - 2 x[t-w] + x[t-2w]`` (mode 1). State: value ring."""
    off = ops[j, O_OFF]
    mask = ops[j, O_MASK]
    w = ops[j, O_W]
    x = b[cur, ops[j, O_A]]
    st[off + (k & mask)] = x
    if ops[j, O_MODE] == 0:
        if k < w:
            return NAN
        return x - st[off + ((k - w) & mask)]
    if k < 2 * w:
        return NAN
    return x - 2.0 * st[off + ((k - w) & mask)] + st[off + ((k - 2 * w) & mask)]


@njit(**_INLINE)
def _op_sum(j, ops, st, b, cur, k):
    """Window sum (mode 0), mean (1) or log1p(sum) (2) of valid values. State: (C, N) + ring."""
    off = ops[j, O_OFF]
    mask = ops[j, O_MASK]
    w = ops[j, O_W]
    x = b[cur, ops[j, O_A]]
    if _finite(x):
        st[off] += x
        st[off + 1] += 1.0
    _ring_put(st, off, 2, mask, k)
    s = _ring_delta(st, off, 2, mask, k, w, 0)
    n = _ring_delta(st, off, 2, mask, k, w, 1)
    if n < ops[j, O_MINN] or n <= 0.0:
        return NAN
    mode = ops[j, O_MODE]
    if mode == 0:
        return s
    if mode == 1:
        return s / n
    return math.log1p(s) if s > -1.0 else NAN


@njit(**_INLINE)
def _op_ratio(j, ops, fprm, st, b, cur, k):
    """``sum a / sum b`` over ticks where both are valid (mode 0), or ``ref / (sum a / sum b) - 1``
    (mode 1). ``F_C`` > 0 floors the denominator. State: (Ca, Cb, N) + ring."""
    off = ops[j, O_OFF]
    mask = ops[j, O_MASK]
    w = ops[j, O_W]
    x = b[cur, ops[j, O_A]]
    y = b[cur, ops[j, O_B]]
    if _finite(x) and _finite(y):
        st[off] += x
        st[off + 1] += y
        st[off + 2] += 1.0
    _ring_put(st, off, 3, mask, k)
    sa = _ring_delta(st, off, 3, mask, k, w, 0)
    sb = _ring_delta(st, off, 3, mask, k, w, 1)
    n = _ring_delta(st, off, 3, mask, k, w, 2)
    if n < ops[j, O_MINN] or n <= 0.0:
        return NAN
    floor = fprm[j, F_C]
    if floor > 0.0:
        sb = max(sb, floor)
    elif sb == 0.0:
        return NAN
    v = sa / sb
    if ops[j, O_MODE] == 0:
        return v
    ref = b[cur, ops[j, O_C]]
    if not v > 0.0 or math.isnan(ref):
        return NAN
    return ref / v - 1.0


@njit(**_JIT)
def _op_move(j, ops, st, b, cur, k):
    """``|x[t] - x[t-w]| / (window sum of y)``. State: (Cy, N) + ring of (x, Cy, N)."""
    off = ops[j, O_OFF]
    mask = ops[j, O_MASK]
    w = ops[j, O_W]
    x = b[cur, ops[j, O_A]]
    y = b[cur, ops[j, O_B]]
    if _finite(y):
        st[off] += y
        st[off + 1] += 1.0
    s = off + 2 + 3 * (k & mask)
    st[s] = x
    st[s + 1] = st[off]
    st[s + 2] = st[off + 1]
    if k < w:
        return NAN
    o = off + 2 + 3 * ((k - w) & mask)
    sy = st[off] - st[o + 1]
    n = st[off + 1] - st[o + 2]
    if n < ops[j, O_MINN] or not sy > 0.0:
        return NAN
    return abs(x - st[o]) / sy


@njit(**_JIT)
def _op_meanratio(j, ops, fprm, st, b, cur, k):
    """``log((mean_w + c) / (mean_w2 + c))`` of one series. State: (C, N) + ring (w2)."""
    off = ops[j, O_OFF]
    mask = ops[j, O_MASK]
    x = b[cur, ops[j, O_A]]
    if _finite(x):
        st[off] += x
        st[off + 1] += 1.0
    _ring_put(st, off, 2, mask, k)
    w = ops[j, O_W]
    w2 = ops[j, O_W2]
    s1 = _ring_delta(st, off, 2, mask, k, w, 0)
    n1 = _ring_delta(st, off, 2, mask, k, w, 1)
    s2 = _ring_delta(st, off, 2, mask, k, w2, 0)
    n2 = _ring_delta(st, off, 2, mask, k, w2, 1)
    if n1 < ops[j, O_MINN] or n2 < ops[j, O_MINN2] or n1 <= 0.0 or n2 <= 0.0:
        return NAN
    c = fprm[j, F_C]
    num = s1 / n1 + c
    den = s2 / n2 + c
    if not (num > 0.0 and den > 0.0):
        return NAN
    return math.log(num / den)


@njit(**_JIT)
def _op_moments(j, ops, st, b, cur, k):
    """Pairs ``(x[t], y[t-lag])`` over the window: correlation (mode 0), slope of y on x (1),
    z-score of x[t] (2). Values are shifted by the first valid pair of the segment so that the
    second moments do not cancel. State: (refx, refy, has_ref), 6 running sums + ring, y lag ring.
    """
    off = ops[j, O_OFF]
    mask = ops[j, O_MASK]
    mask2 = ops[j, O_MASK2]
    w = ops[j, O_W]
    lag = ops[j, O_W2]
    x = b[cur, ops[j, O_A]]
    yc = b[cur, ops[j, O_B]]
    lr = off + 9 + 6 * (mask + 1)
    st[lr + (k & mask2)] = yc
    y = NAN
    if k >= lag:
        y = st[lr + ((k - lag) & mask2)]
    cs = off + 3
    if _finite(x) and _finite(y):
        if st[off + 2] == 0.0:
            st[off] = x
            st[off + 1] = y
            st[off + 2] = 1.0
        dx = x - st[off]
        dy = y - st[off + 1]
        st[cs] += dx
        st[cs + 1] += dy
        st[cs + 2] += dx * dx
        st[cs + 3] += dy * dy
        st[cs + 4] += dx * dy
        st[cs + 5] += 1.0
    _ring_put(st, cs, 6, mask, k)
    n = _ring_delta(st, cs, 6, mask, k, w, 5)
    if n < ops[j, O_MINN] or n < 2.0:
        return NAN
    mx = _ring_delta(st, cs, 6, mask, k, w, 0) / n
    my = _ring_delta(st, cs, 6, mask, k, w, 1) / n
    qx = _ring_delta(st, cs, 6, mask, k, w, 2) / n
    qy = _ring_delta(st, cs, 6, mask, k, w, 3) / n
    qxy = _ring_delta(st, cs, 6, mask, k, w, 4) / n
    vx = qx - mx * mx
    if not vx > _DEGENERATE * qx:
        return NAN
    mode = ops[j, O_MODE]
    if mode == 2:
        if not _finite(x):
            return NAN
        return (x - st[off] - mx) / math.sqrt(vx)
    cxy = qxy - mx * my
    if mode == 1:
        return cxy / vx
    vy = qy - my * my
    if not vy > _DEGENERATE * qy:
        return NAN
    r = cxy / math.sqrt(vx * vy)
    return max(-1.0, min(1.0, r))


@njit(**_JIT)
def _op_range(j, ops, st, b, cur, k):
    """Rolling max H and min L of x over the window (monotonic deques): position
    ``(x - L) / (H - L)`` (mode 0), Parkinson ``(H - L)^2 / (4 ln 2)`` (1) or Garman-Klass
    ``(H - L)^2 / 2 - (2 ln 2 - 1)(x - O)^2`` with O the window's first value (2).
    State: (head, size) of each deque, the two deques of (index, value), value ring.
    """
    off = ops[j, O_OFF]
    mask = ops[j, O_MASK]
    w = ops[j, O_W]
    cap = mask + 1
    dqx = off + 4
    dqn = off + 4 + 2 * cap
    vr = off + 4 + 4 * cap
    x = b[cur, ops[j, O_A]]
    st[vr + (k & mask)] = x
    kf = float(k)
    for side in range(2):
        hi = off + 2 * side
        dq = dqx if side == 0 else dqn
        head = int(st[hi])
        size = int(st[hi + 1])
        while size > 0 and st[dq + 2 * head] <= kf - w:
            head = (head + 1) & mask
            size -= 1
        if _finite(x):
            while size > 0:
                last = dq + 2 * ((head + size - 1) & mask)
                if (side == 0 and st[last + 1] <= x) or (side == 1 and st[last + 1] >= x):
                    size -= 1
                else:
                    break
            slot = dq + 2 * ((head + size) & mask)
            st[slot] = kf
            st[slot + 1] = x
            size += 1
        st[hi] = head
        st[hi + 1] = size
    if st[off + 1] == 0.0 or st[off + 3] == 0.0:
        return NAN
    hmax = st[dqx + 2 * int(st[off]) + 1]
    lmin = st[dqn + 2 * int(st[off + 2]) + 1]
    mode = ops[j, O_MODE]
    rng = hmax - lmin
    if mode == 0:
        if not (_finite(x) and rng > 0.0):
            return NAN
        return (x - lmin) / rng
    if mode == 1:
        return rng * rng / (4.0 * _LN2)
    if k < w - 1:
        return NAN
    o = st[vr + ((k - w + 1) & mask)]
    if not (_finite(x) and _finite(o)):
        return NAN
    return 0.5 * rng * rng - (2.0 * _LN2 - 1.0) * (x - o) * (x - o)


@njit(**_JIT)
def _op_emagap(j, ops, st, b, cur, k):
    """EMA(span w) - EMA(span w2) of x, both started at the segment's first valid x."""
    off = ops[j, O_OFF]
    x = b[cur, ops[j, O_A]]
    if _finite(x):
        if st[off + 2] == 0.0:
            st[off] = x
            st[off + 1] = x
            st[off + 2] = 1.0
        else:
            st[off] += 2.0 / (ops[j, O_W] + 1.0) * (x - st[off])
            st[off + 1] += 2.0 / (ops[j, O_W2] + 1.0) * (x - st[off + 1])
    if st[off + 2] == 0.0:
        return NAN
    return st[off] - st[off + 1]


@njit(**_JIT)
def _op_vpin(j, ops, fprm, st, b, cur, k):
    """VPIN over the last w volume buckets. Bucket size = F_C x EWMA(volume per tick, alpha F_D);
    each tick's volume is split buy/sell by its sign s as (1+s)/2 and poured into buckets.
    State: (ewma, started, buy, sell, vol, n_buckets, C|B-S|, C vol) + ring of the cumulative pair.
    """
    off = ops[j, O_OFF]
    mask = ops[j, O_MASK]
    w = ops[j, O_W]
    v = b[cur, ops[j, O_A]]
    sg = b[cur, ops[j, O_B]]
    if _finite(v) and v >= 0.0:
        if st[off + 1] == 0.0:
            st[off] = v
            st[off + 1] = 1.0
        else:
            st[off] += fprm[j, F_D] * (v - st[off])
        size = fprm[j, F_C] * st[off]
        if v > 0.0 and size > 0.0:
            bf = 0.5 * (1.0 + sg) if _finite(sg) else 0.5
            rem = v
            closed = 0
            while rem > 0.0 and closed <= w:
                room = size - st[off + 4]
                if room > 0.0:
                    take = min(rem, room)
                    st[off + 2] += take * bf
                    st[off + 3] += take * (1.0 - bf)
                    st[off + 4] += take
                    rem -= take
                if st[off + 4] >= size * (1.0 - 1e-12):
                    st[off + 6] += abs(st[off + 2] - st[off + 3])
                    st[off + 7] += st[off + 4]
                    st[off + 5] += 1.0
                    nbk = int(st[off + 5])
                    s = off + 8 + 2 * (nbk & mask)
                    st[s] = st[off + 6]
                    st[s + 1] = st[off + 7]
                    st[off + 2] = 0.0
                    st[off + 3] = 0.0
                    st[off + 4] = 0.0
                    closed += 1
    nbk = int(st[off + 5])
    if nbk < w:
        return NAN
    o = off + 8 + 2 * ((nbk - w) & mask)
    tot = st[off + 7] - st[o + 1]
    if not tot > 0.0:
        return NAN
    return (st[off + 6] - st[o]) / tot


@njit(**_JIT)
def _op_todprof(j, ops, st, b, cur, k):
    """Mean of x over the window / mean of x at this 5-minute time-of-day bucket on the earlier
    trading days of the segment. State: (C, N) + ring, then today's and earlier days' bucket
    sums and counts (4 x 288)."""
    off = ops[j, O_OFF]
    mask = ops[j, O_MASK]
    w = ops[j, O_W]
    prof = off + 2 + 2 * (mask + 1)
    ts = prof
    tn = prof + N_TOD
    cs = prof + 2 * N_TOD
    cn = prof + 3 * N_TOD
    if b[cur, B_NEWDAY] == 1.0:
        for m in range(N_TOD):
            st[cs + m] += st[ts + m]
            st[cn + m] += st[tn + m]
            st[ts + m] = 0.0
            st[tn + m] = 0.0
    bucket = int(b[cur, B_TOD]) // TOD_BUCKET_S
    x = b[cur, ops[j, O_A]]
    if _finite(x):
        st[ts + bucket] += x
        st[tn + bucket] += 1.0
        st[off] += x
        st[off + 1] += 1.0
    _ring_put(st, off, 2, mask, k)
    s = _ring_delta(st, off, 2, mask, k, w, 0)
    n = _ring_delta(st, off, 2, mask, k, w, 1)
    if n < ops[j, O_MINN] or n <= 0.0 or st[cn + bucket] <= 0.0:
        return NAN
    p = st[cs + bucket] / st[cn + bucket]
    if not p > 0.0:
        return NAN
    return s / n / p


@njit(**_JIT)
def _op_regime(j, ops, fprm, st, b, cur, k):
    """z of ``log(mean_w(x) + F_C)`` against its EWMA mean/variance (alpha F_D) before this tick:
    the z itself (mode 0) or its tercile bucket 0/1/2 (mode 1). The EWMA takes full windows
    only; NaN until it has w2 updates.
    State: (C, N), (m, v, updates), ring."""
    off = ops[j, O_OFF]
    mask = ops[j, O_MASK]
    w = ops[j, O_W]
    x = b[cur, ops[j, O_A]]
    if _finite(x):
        st[off] += x
        st[off + 1] += 1.0
    s = off + 5 + 2 * (k & mask)
    st[s] = st[off]
    st[s + 1] = st[off + 1]
    if k < w:
        return NAN
    o = off + 5 + 2 * ((k - w) & mask)
    sm = st[off] - st[o]
    n = st[off + 1] - st[o + 1]
    if n < ops[j, O_MINN] or n <= 0.0:
        return NAN
    arg = sm / n + fprm[j, F_C]
    if not arg > 0.0:
        return NAN
    lv = math.log(arg)
    m = st[off + 2]
    v = st[off + 3]
    upd = st[off + 4]
    out = NAN
    if upd >= ops[j, O_W2] and v > 0.0:
        z = (lv - m) / math.sqrt(v)
        if ops[j, O_MODE] == 0:
            out = z
        else:
            out = 0.0 if z < -_TERCILE_Z else (2.0 if z > _TERCILE_Z else 1.0)
    if upd == 0.0:
        st[off + 2] = lv
        st[off + 3] = 0.0
    else:
        a = fprm[j, F_D]
        d = lv - m
        st[off + 2] = m + a * d
        st[off + 3] = (1.0 - a) * (v + a * d * d)
    st[off + 4] = upd + 1.0
    return out


@njit(**_JIT)
def _op_realspread(j, ops, st, b, cur, k):
    """Mean over the window of the trade terms known ``h`` ticks after each trade:
    realized spread ``2 s (p - mid[t]) / m`` (mode 0) or price impact ``2 s (mid[t] - m) / m``
    (mode 1), with s, p, m the sign, price and prevailing mid of the trade at t-h (bps).
    State: (C, N) + ring, lag ring of (s, p, m)."""
    off = ops[j, O_OFF]
    mask = ops[j, O_MASK]
    mask2 = ops[j, O_MASK2]
    w = ops[j, O_W]
    h = ops[j, O_W2]
    lr = off + 2 + 2 * (mask + 1)
    s = lr + 3 * (k & mask2)
    st[s] = b[cur, B_SIGN]
    st[s + 1] = b[cur, B_TRADEPX]
    st[s + 2] = b[cur, B_MIDPREV]
    term = NAN
    if k >= h:
        o = lr + 3 * ((k - h) & mask2)
        s0 = st[o]
        p0 = st[o + 1]
        m0 = st[o + 2]
        mid = b[cur, B_MID]
        if _finite(s0) and _finite(p0) and _finite(mid) and m0 > 0.0:
            if ops[j, O_MODE] == 0:
                term = 2.0 * s0 * (p0 - mid) / m0 * 1e4
            else:
                term = 2.0 * s0 * (mid - m0) / m0 * 1e4
    if _finite(term):
        st[off] += term
        st[off + 1] += 1.0
    _ring_put(st, off, 2, mask, k)
    sm = _ring_delta(st, off, 2, mask, k, w, 0)
    n = _ring_delta(st, off, 2, mask, k, w, 1)
    if n < ops[j, O_MINN] or n <= 0.0:
        return NAN
    return sm / n


@njit(**_JIT)
def _op_age(j, ops, st, b, cur, k):
    """Seconds of trading time since x was last 1 (NaN until it first is). State: (age, seen)."""
    off = ops[j, O_OFF]
    x = b[cur, ops[j, O_A]]
    if x == 1.0:
        st[off] = 0.0
        st[off + 1] = 1.0
    elif st[off + 1] == 1.0:
        d = b[cur, B_DT]
        if _finite(d):
            st[off] += d
    if st[off + 1] == 0.0:
        return NAN
    return st[off]


@njit(**_JIT)
def _op_daymean(j, ops, st, b, cur, k):
    """Mean of x since the trading day's first tick in the segment (mode 0) or over the
    previous trading day of the segment (mode 1). State: (S, N, previous mean, has previous)."""
    off = ops[j, O_OFF]
    if b[cur, B_NEWDAY] == 1.0:
        if k > 0 and st[off + 1] > 0.0:
            st[off + 2] = st[off] / st[off + 1]
            st[off + 3] = 1.0
        else:
            st[off + 3] = 0.0
        st[off] = 0.0
        st[off + 1] = 0.0
    x = b[cur, ops[j, O_A]]
    if _finite(x):
        st[off] += x
        st[off + 1] += 1.0
    if ops[j, O_MODE] == 0:
        if st[off + 1] < ops[j, O_MINN] or st[off + 1] <= 0.0:
            return NAN
        return st[off] / st[off + 1]
    if st[off + 3] == 0.0:
        return NAN
    return st[off + 2]


@njit(**_INLINE)
def _op(j, ops, fprm, st, b, cur, k):
    kind = ops[j, O_KIND]
    if kind == K_VALUE:
        v = b[cur, ops[j, O_A]]
    elif kind == K_LAG:
        v = _op_lag(j, ops, st, b, cur, k)
    elif kind == K_SUM:
        v = _op_sum(j, ops, st, b, cur, k)
    elif kind == K_RATIO:
        v = _op_ratio(j, ops, fprm, st, b, cur, k)
    elif kind == K_MOVE:
        v = _op_move(j, ops, st, b, cur, k)
    elif kind == K_MEANRATIO:
        v = _op_meanratio(j, ops, fprm, st, b, cur, k)
    elif kind == K_MOMENTS:
        v = _op_moments(j, ops, st, b, cur, k)
    elif kind == K_RANGE:
        v = _op_range(j, ops, st, b, cur, k)
    elif kind == K_EMAGAP:
        v = _op_emagap(j, ops, st, b, cur, k)
    elif kind == K_VPIN:
        v = _op_vpin(j, ops, fprm, st, b, cur, k)
    elif kind == K_TODPROF:
        v = _op_todprof(j, ops, st, b, cur, k)
    elif kind == K_REGIME:
        v = _op_regime(j, ops, fprm, st, b, cur, k)
    elif kind == K_REALSPREAD:
        v = _op_realspread(j, ops, st, b, cur, k)
    elif kind == K_AGE:
        v = _op_age(j, ops, st, b, cur, k)
    else:
        v = _op_daymean(j, ops, st, b, cur, k)
    if k + 1 < ops[j, O_WARM] or not _finite(v):
        return NAN
    return fprm[j, F_OFFSET] + fprm[j, F_SCALE] * v


# =============================================================================================
# the tick step
# =============================================================================================
@njit(**_JIT)
def run_ticks(X, dt, day, seg, XE, ops, fprm, groups, gprm, istate, pstate, state, base, out):
    """Advance the factor state over the rows of ``X`` and write one row of ``out`` per tick.

    ``X``: (n, 28) float64 view of TICK_DTYPE rows; ``dt``/``day``/``seg``: (n,) int64 epoch ns,
    trading-day key and segment id; ``XE``: (n, 3) other-asset mids (NaN when absent); ``ops``
    (m, N_OCOL) int64 and ``fprm`` (m, N_FCOL) float64: the plan; ``groups``: (N_GROUPS,) int64
    flags of the optional base-series groups; ``gprm``: (N_GPRM,) float64; ``istate``/``pstate``
    /``state``: carried state (mutated); ``base``: (2, NB) scratch; ``out``: (n, m) float64.
    """
    n = X.shape[0]
    nops = ops.shape[0]
    for i in range(n):
        if istate[I_STARTED] == 0 or seg[i] != istate[I_SEG]:
            pstate[:] = 0.0
            state[:] = 0.0
            istate[I_STARTED] = 1
            istate[I_NSEEN] = 0
            istate[I_SEG] = seg[i]
        k = istate[I_NSEEN]
        cur = k & 1
        prv = 1 - cur
        _prep_l1(X, dt, day, i, k, gprm, istate, pstate, base, cur, prv)
        if groups[G_CLOCK] != 0:
            _prep_clock(dt, i, base, cur)
        if groups[G_DEPTH] != 0:
            _prep_depth(X, i, gprm, base, cur)
        if groups[G_OFI] != 0:
            _prep_ofi(X, i, k, pstate, base, cur)
        if groups[G_DYN] != 0:
            _prep_dyn(X, i, k, gprm, pstate, base, cur)
        if groups[G_X] != 0:
            _prep_x(XE, i, k, base, cur, prv)
        for c in range(N_ROW):
            pstate[P_ROW + c] = X[i, c]
        istate[I_DAY] = day[i]
        istate[I_DT] = dt[i]
        for j in range(nops):
            out[i, j] = _op(j, ops, fprm, state, base, cur, k)
        istate[I_NSEEN] = k + 1
