"""Numba kernels of the factor library: one column-oriented driver shared by batch and online.

:func:`run_ticks` advances the factor state over any number of ticks. The batch engine calls it
once over a whole array; the online engine calls it with a one-row array per tick. Both run the
same compiled code on the same state layout, so batch == online holds by construction, and no
value depends on where a call or a block starts (every per-tick step is the same arithmetic in
the same order whatever the block length).

``run_ticks`` cuts the ticks into *blocks* of at most :data:`BLOCK` ticks that never span a
segment change and, per block:

1. resets every state array when the segment id differs from the previous tick's (or on the
   very first tick), so no window ever spans two segments;
2. copies the raw columns the plan reads into rows of the block buffer ``bb`` (``_gather``);
3. runs the *series kernels* (``_sk_*``) the plan needs, each one loop over the block that
   fills a few *base series* rows of ``bb`` (mid, 1-tick return, traded volume, trade sign,
   order-flow imbalance, book shape, other-asset returns ...);
4. runs every factor op of the plan (``_col_*``) over the block and writes the block's stretch
   of its output column (``out`` is column-major). A windowed op first runs its cumulative sums
   through the block (one sequential pass, into rows of the scratch ``tb``), copies the same sums
   ``w`` ticks earlier into further ``tb`` rows (from its rings for ticks before the block, from
   ``tb`` itself after), then computes every value in one branch-free pass, and finally keeps
   the block's last sums in its power-of-two rings. A recursive op (EWMA, deque, buckets) runs
   one sequential loop.

Block buffers are flat arrays of rows of :data:`LD` floats; a block's ticks sit at positions
``P0 .. P0 + m - 1`` and position ``P0 - 1`` carries the previous tick (raw columns, lots and the
series read one tick back), so "previous value" is one position to the left everywhere. A window
sum is the difference of two running cumulative sums (O(1), no drift that depends on the window
phase). Loops index the buffers with unsigned integers and compile-time row offsets, and write
selects (``_sel``) instead of branches: numba then emits no negative-index fix-ups, LLVM proves
the rows do not overlap and vectorizes the per-tick loops. ``_ln``/``_ln1p`` are branch-free
logarithms for the same reason (a libm call stops vectorization).

Everything lives in this one module on purpose: numba's on-disk cache only notices edits to the
file of the cached function, so kernels calling kernels in other files could run stale code.
Divisions may be by zero only where a select discards the result; with ``NUMBA_DISABLE_JIT=1``
the selects keep NumPy scalars, so plain Python gives the same values (with NumPy warnings).
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils, config
from numba.extending import intrinsic

NAN = np.nan
INF = math.inf

# No kernel here allocates an array, so numba's reference counting (NRT) is switched off: it
# would otherwise incref/decref every array argument of every nested call. error_model="numpy":
# guarded divisions need no checks.
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

# --- base series (rows 0 .. NB-1 of the block buffer) --------------------------------------------
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
B_IMB1 = 16  # 16..20: level imbalance l1..l5
B_DEP1 = 21  # 21..25: depth l1..l5
B_HDEP1 = 26  # 26..30: half depth l1..l5
B_OFI1 = 31  # 31..35: order-flow imbalance l1..l5
B_MICRO = 36
B_LASTPOS = 37
B_VWAPDEV_DAY = 38
B_LOGDVOL = 39
B_DT = 40
B_L1CHG = 41
B_MIDCHG = 42
B_OI = 43
B_DOI = 44
B_TOD = 45
B_TOD_SIN = 46
B_TOD_COS = 47
B_ONE = 48
B_NEWDAY = 49
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
B_OFISUM = 68
B_HDEPSUM = 69
B_ARR = 70
B_CAN = 71
B_ARRDIFF = 72
B_XLOG = 73  # 73..75 log other mids, 76..78 their 1-tick returns, 79..81 log spreads own - other
B_XRET = 76
B_XSPR = 79
NB = 82
R_RAW = NB  # rows R_RAW + c: raw column c of the ticks
R_XE = NB + N_ROW  # rows R_XE + m: other-asset mid m
R_LOTS = R_XE + N_EXTRA  # rows R_LOTS + 2 l + s: lots at level l (0-based), side s (0 bid, 1 ask)
N_BROWS = R_LOTS + 10
IB_DT = 0  # int block buffer rows: datetime_ns, trading-day key
IB_DAY = 1
N_IROWS = 2
N_TROWS = 13  # scratch rows of the temp block buffer (cumulative sums of one op, lagged)

# --- block geometry ---------------------------------------------------------------------------------
BLOCK = 512  # ticks per block: the block's rows, series, op sums and outputs stay in L2
P0 = 8  # position of a block's first tick in each row; P0 - 1 carries the previous tick
LD = BLOCK + P0  # floats per row
_U0 = np.uint64(0)
_U1 = np.uint64(1)
_UP0 = np.uint64(P0)
_ULD = np.uint64(LD)

# --- plan flags: series kernels, in run order (each after the ones it reads), then raw columns ---
S_MID = 0  # mid, spread, imb1, dep1, hdep1, micro
S_LOGMID = 1  # logmid
S_RET = 2  # midprev, ret, absret, ret2, dmid, midchg
S_TRADE = 3  # dvol, damt_m, notional, tradepx, sign, q, eff
S_LOGDVOL = 4  # logdvol
S_QUOTE = 5  # rspread, lastpos, vwapdev_day
S_MISC = 6  # dt, l1chg, oi, doi, one, newday
S_CLOCK = 7  # tod, tod_sin, tod_cos
S_LOTS = 8  # internal: lots per level and side (0 when the side is absent)
S_DEPTH = 9  # imbc3, imbc5, imbdw, depb5, depa5
S_LEVELS = 10  # imb2..5, dep2..5
S_SHAPE = 11  # curv_b, curv_a, conc_b, conc_a, topshare
S_LOGDEP = 12  # logdep5
S_WMID = 13  # wmid5
S_SLOPE = 14  # slope_b, slope_a, slope_imb
S_BOOK = 15  # bpress, gap_b, gap_a
S_OFI = 16  # ofi1..5, hdep2..5, ofisum, hdepsum
S_DYN = 17  # arr, can, arrdiff
S_X = 18  # xlog, xret, xspr
N_SK = 19
F_L1 = 19  # raw level-1 book columns
F_L5 = 20  # raw level-2..5 book columns
F_TRADE = 21  # raw last price, average, volume, turnover
F_OI = 22  # raw open interest
F_DT = 23  # datetime_ns
F_DAY = 24  # trading-day key
N_FLAGS = 25

# series whose previous-tick value a kernel reads (carried at position P0 - 1)
_CARRIED = (B_MID, B_LOGMID, B_SPREAD, B_TRADEPX, B_XLOG, B_XLOG + 1, B_XLOG + 2)

# --- global parameters (gprm) --------------------------------------------------------------------
GP_TICK = 0
GP_MULT = 1
N_GPRM = 2

# --- int state (istate) ---------------------------------------------------------------------------
I_STARTED = 0
I_NSEEN = 1
I_SEG = 2
N_ISTATE = 3

# --- series float state (pstate) -----------------------------------------------------------------
P_MULT = 0  # inferred contract multiplier (0 = unknown)
N_PSTATE = 1

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
    """Floats of op state for an op of ``kind`` (must match the layouts of the ``_col_*`` kernels)."""
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
# small helpers
# =============================================================================================
@njit(**_INLINE)
def _o(row):
    """Offset of block-buffer row ``row`` (unsigned)."""
    return np.uint64(row) * _ULD


@njit(**_INLINE)
def _r(col):
    """Offset of the block-buffer row holding raw column ``col``."""
    return np.uint64(R_RAW + col) * _ULD


@njit(**_INLINE)
def _finite(x):
    return abs(x) < INF


if config.DISABLE_JIT:

    def _sel(cond, a, b):
        # plain Python: keep floats as NumPy scalars, so that the masked-out side of a select
        # may divide by zero (inf/NaN, as in compiled code) instead of raising
        v = a if cond else b
        return np.float64(v) if isinstance(v, float) else v

else:

    @njit(**_INLINE)
    def _sel(cond, a, b):
        """``a if cond else b``; both sides are evaluated, so keep them cheap and side-effect free."""
        return a if cond else b


@njit(**_INLINE)
def _fin(v, k, warm, offset, scale):
    """The published value: NaN during the warm-up or when not finite, else the affine map."""
    ok = (k + 1 >= warm) & (abs(v) < INF)
    return offset + scale * v if ok else NAN


@njit(**_INLINE)
def _lag_row(src, srow, dst, drow, st, ring, mask, k0, m, w):
    """``dst`` row ``drow`` at block position q := the quantity of ``src`` row ``srow`` at tick
    ``k0 + q - w``: from the op's ring at ``st[ring:]`` for ticks before the block (at most one
    wrap, so two contiguous runs), else from the block itself. Ticks before the segment start
    read ring slots not yet written in the segment: 0 for cumulative sums."""
    d = drow + _UP0
    if m == _U1:  # the online engine's one-tick calls
        dst[d] = st[ring + ((k0 - w) & mask)] if w > 0 else src[srow + _UP0]
        return
    uw = np.uint64(w)
    head = min(uw, m)
    s0 = (k0 - w) & mask
    run = min(head, np.uint64(mask + 1 - s0))
    for q in range(run):
        dst[d + q] = st[ring + s0 + np.int64(q)]
    for q in range(run, head):
        dst[d + q] = st[ring + np.int64(q - run)]
    for q in range(head, m):
        dst[d + q] = src[srow + _UP0 + q - uw]


@njit(**_INLINE)
def _to_ring(src, srow, st, ring, mask, k0, m):
    """Store the block's last values of one quantity (``src`` row ``srow``) in its ring."""
    if m == _U1:
        st[ring + (k0 & mask)] = src[srow + _UP0]
        return
    size = np.uint64(mask + 1)
    q0 = m - size if m > size else _U0
    s0 = (k0 + np.int64(q0)) & mask
    run = min(m - q0, np.uint64(mask + 1 - s0))
    b = srow + _UP0 + q0
    for q in range(run):
        st[ring + s0 + np.int64(q)] = src[b + q]
    for q in range(run, m - q0):
        st[ring + np.int64(q - run)] = src[b + q]


# --- bit casts and a branch-free natural log (fdlibm's e_log.c: error < 1 ulp) -------------------
if config.DISABLE_JIT:

    def _f2i(x):
        return int(np.array(x, dtype=np.float64).view(np.int64))

    def _i2f(i):
        return np.array(i, dtype=np.int64).view(np.float64)[()]

else:

    @intrinsic
    def _f2i(typingctx, x):
        """The bits of a float64 as an int64."""
        if x != types.float64:
            return None

        def codegen(context, builder, signature, args):
            return builder.bitcast(args[0], ir.IntType(64))

        return types.int64(types.float64), codegen

    @intrinsic
    def _i2f(typingctx, i):
        """The float64 with the bits of an int64."""
        if i != types.int64:
            return None

        def codegen(context, builder, signature, args):
            return builder.bitcast(args[0], ir.DoubleType())

        return types.float64(types.int64), codegen


if config.DISABLE_JIT:

    def _prefetch(arr, idx):
        pass

else:

    @intrinsic
    def _prefetch(typingctx, arr, idx):
        """Ask the CPU to start loading the cache line of ``arr``'s flat element ``idx`` (a hint)."""

        def codegen(context, builder, signature, args):
            ary = context.make_array(signature.args[0])(context, builder, args[0])
            i8p = ir.IntType(8).as_pointer()
            i32 = ir.IntType(32)
            fn = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]), "llvm.prefetch.p0i8"
            )
            ptr = builder.bitcast(builder.gep(ary.data, [args[1]]), i8p)
            # read, highest temporal locality, data cache
            builder.call(fn, [ptr, ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
            return context.get_dummy_value()

        return types.void(arr, idx), codegen


_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_LG1 = 6.666666666666735130e-01
_LG2 = 3.999999999940941908e-01
_LG3 = 2.857142874366239149e-01
_LG4 = 2.222219843214978396e-01
_LG5 = 1.818357216161805012e-01
_LG6 = 1.531383769920937332e-01
_LG7 = 1.479819860511658591e-01
_TWO54 = 18014398509481984.0
_MIN_NORMAL = 2.2250738585072014e-308


@njit(**_INLINE)
def _ln(x):
    """Natural logarithm without libm calls or branches, so that loops calling it vectorize:
    x = 2^k (1 + f) with 1 + f in [sqrt(2)/2, sqrt(2)), log(1 + f) = f - s (f - R(s^2)) with
    s = f / (2 + f) and R fdlibm's minimax polynomial. NaN for x < 0 or NaN, -inf at 0."""
    tiny = x < _MIN_NORMAL
    bits = _f2i(_sel(tiny, x * _TWO54, x)) & 0x7FFFFFFFFFFFFFFF
    hx = bits >> 32
    k = (hx >> 20) - _sel(tiny, 1077, 1023)
    hx = hx & 0x000FFFFF
    i = (hx + 0x95F64) & 0x100000
    k = k + (i >> 20)
    f = _i2f(((hx | (i ^ 0x3FF00000)) << 32) | (bits & 0xFFFFFFFF)) - 1.0
    s = f / (2.0 + f)
    dk = float(k)
    z = s * s
    w = z * z
    r = z * (_LG1 + w * (_LG3 + w * (_LG5 + w * _LG7))) + w * (_LG2 + w * (_LG4 + w * _LG6))
    hfsq = 0.5 * f * f
    mid_range = ((hx - 0x6147A) | (0x6B851 - hx)) > 0
    v = _sel(
        mid_range,
        dk * _LN2_HI - ((hfsq - (s * (hfsq + r) + dk * _LN2_LO)) - f),
        dk * _LN2_HI - ((s * (f - r) - dk * _LN2_LO) - f),
    )
    v = _sel(x == INF, INF, v)
    v = _sel(x == 0.0, -INF, v)
    return _sel((x < 0.0) | math.isnan(x), NAN, v)


@njit(**_INLINE)
def _ln1p(x):
    """ln(1 + x), accurate for small x (Kahan: ln(u) x / (u - 1) with u = 1 + x)."""
    u = 1.0 + x
    v = _sel(u == 1.0, x, _ln(u) * (x / (u - 1.0)))
    return _sel(x == INF, INF, v)


# =============================================================================================
# raw columns into the block buffer
# =============================================================================================
@njit(**_JIT)
def _gather(X, Xi, day, XE, a, m, flags, bb, ib):
    """Copy the raw columns the plan reads of ticks a .. a+m-1 into rows of ``bb``/``ib``."""
    l1 = flags[F_L1] != 0
    l5 = flags[F_L5] != 0
    trade = flags[F_TRADE] != 0
    oi = flags[F_OI] != 0
    dtf = flags[F_DT] != 0
    dayf = flags[F_DAY] != 0
    xe = flags[S_X] != 0
    for q in range(m):
        i = a + np.int64(q)
        p = _UP0 + q
        if l1:
            for c in range(C_L0, C_L0 + 4):
                bb[_r(c) + p] = X[i, c]
        if l5:
            for c in range(C_L0 + 4, N_ROW):
                bb[_r(c) + p] = X[i, c]
        if trade:
            bb[_r(C_LAST) + p] = X[i, C_LAST]
            bb[_r(C_AVG) + p] = X[i, C_AVG]
            bb[_r(C_VOL) + p] = X[i, C_VOL]
            bb[_r(C_AMT) + p] = X[i, C_AMT]
        if oi:
            bb[_r(C_OI) + p] = X[i, C_OI]
        if dtf:
            ib[_o(IB_DT) + p] = Xi[i, 0]
        if dayf:
            ib[_o(IB_DAY) + p] = day[i]
        if xe:
            for c in range(N_EXTRA):
                bb[_o(R_XE + c) + p] = XE[i, c]


# =============================================================================================
# series kernels: block positions P0 .. P0+m-1; k0 ticks of the segment came before the block
# =============================================================================================
@njit(**_JIT)
def _sk_mid(m, gprm, bb):
    """Level-1 quote series: mid, spread (ticks), level-1 imbalance, depth, half depth, micro."""
    inv = 1.0 / gprm[GP_TICK]
    for q in range(m):
        p = _UP0 + q
        bp = bb[_r(C_L0) + p]
        bv = bb[_r(C_L0 + 1) + p]
        ap = bb[_r(C_L0 + 2) + p]
        av = bb[_r(C_L0 + 3) + p]
        bid_ok = (bp > 0.0) & (bv > 0.0)
        ask_ok = (ap > 0.0) & (av > 0.0)
        both = bid_ok & ask_ok & (ap >= bp)
        mid = 0.5 * (bp + ap)
        bvv = _sel(bid_ok, bv, 0.0)
        avv = _sel(ask_ok, av, 0.0)
        dep = bvv + avv
        bb[_o(B_MID) + p] = _sel(both, mid, NAN)
        bb[_o(B_SPREAD) + p] = _sel(both, (ap - bp) * inv, NAN)
        bb[_o(B_MICRO) + p] = _sel(both, ((ap * bv + bp * av) / (bv + av) - mid) * inv, NAN)
        bb[_o(B_IMB1) + p] = _sel(dep > 0.0, (bvv - avv) / dep, NAN)
        bb[_o(B_DEP1) + p] = dep
        bb[_o(B_HDEP1) + p] = 0.5 * dep


@njit(**_JIT)
def _sk_logmid(m, bb):
    """ln(mid)."""
    for q in range(m):
        p = _UP0 + q
        mid = bb[_o(B_MID) + p]
        bb[_o(B_LOGMID) + p] = _sel(mid > 0.0, _ln(mid), NAN)


@njit(**_JIT)
def _sk_ret(m, gprm, bb):
    """Previous mid, 1-tick log return (bps), its absolute value and square, mid change (ticks)."""
    inv = 1.0 / gprm[GP_TICK]
    for q in range(m):
        p = _UP0 + q
        mid = bb[_o(B_MID) + p]
        midprev = bb[_o(B_MID) + p - _U1]
        ret = (bb[_o(B_LOGMID) + p] - bb[_o(B_LOGMID) + p - _U1]) * 1e4
        bb[_o(B_MIDPREV) + p] = midprev
        bb[_o(B_RET) + p] = ret
        bb[_o(B_ABSRET) + p] = abs(ret)
        bb[_o(B_RET2) + p] = ret * ret
        bb[_o(B_DMID) + p] = (mid - midprev) * inv
        valid = (not math.isnan(mid)) & (not math.isnan(midprev))
        bb[_o(B_MIDCHG) + p] = _sel(valid, _sel(mid != midprev, 1.0, 0.0), NAN)


@njit(**_JIT)
def _sk_trade(m, k0, gprm, pstate, bb, ib, tb):
    """Traded volume and turnover, trade price, trade sign and effective spread of each tick."""
    tick = gprm[GP_TICK]
    gmult = gprm[GP_MULT]
    # volume and turnover differences (cumulative within the trading day), multiplier candidates
    for q in range(m):
        p = _UP0 + q
        has_prev = k0 + np.int64(q) > 0
        newday = ib[_o(IB_DAY) + p] != ib[_o(IB_DAY) + p - _U1]
        vol = bb[_r(C_VOL) + p]
        amt = bb[_r(C_AMT) + p]
        avg = bb[_r(C_AVG) + p]
        dv = _sel(newday, vol, vol - bb[_r(C_VOL) + p - _U1])
        da = _sel(newday, amt, amt - bb[_r(C_AMT) + p - _U1])
        dvol = _sel(has_prev & (dv >= 0.0), dv, NAN)
        damt = _sel(has_prev & (da >= 0.0), da, NAN)
        bb[_o(B_DVOL) + p] = dvol
        bb[_o(B_DAMT_M) + p] = damt * 1e-6
        tb[p] = damt
        tb[_ULD + p] = _sel((vol > 0.0) & (amt > 0.0) & (avg > 0.0), amt / (vol * avg), NAN)
    # the multiplier in force: the given one, else the latest inferred one (sequential)
    if not gmult > 0.0:
        inferred = pstate[P_MULT]
        for q in range(m):
            p = _ULD + _UP0 + q
            c = tb[p]
            if not math.isnan(c):
                inferred = c
            tb[p] = inferred
        pstate[P_MULT] = inferred
    # notional and trade price
    for q in range(m):
        p = _UP0 + q
        dvol = bb[_o(B_DVOL) + p]
        damt = tb[p]
        mult = _sel(gmult > 0.0, gmult, tb[_ULD + p])
        notional = _sel((dvol >= 0.0) & (damt >= 0.0) & (mult > 0.0), damt / mult, NAN)
        last = bb[_r(C_LAST) + p]
        px = _sel(notional > 0.0, notional / dvol, _sel(last > 0.0, last, NAN))
        bb[_o(B_NOTIONAL) + p] = notional
        bb[_o(B_TRADEPX) + p] = _sel(dvol > 0.0, px, NAN)
    # trade sign in [-1, 1]: trade price against the previous quote, else the tick rule
    for q in range(m):
        p = _UP0 + q
        dvol = bb[_o(B_DVOL) + p]
        px = bb[_o(B_TRADEPX) + p]
        pxprev = bb[_o(B_TRADEPX) + p - _U1]
        midprev = bb[_o(B_MID) + p - _U1]
        spreadprev = bb[_o(B_SPREAD) + p - _U1]
        quote = min(max((px - midprev) / (0.5 * spreadprev * tick), -1.0), 1.0)
        rule = _sel(px > pxprev, 1.0, _sel(px < pxprev, -1.0, 0.0))
        sgn = _sel((not math.isnan(midprev)) & (spreadprev > 0.0), quote, _sel(not math.isnan(pxprev), rule, 0.0))
        sgn = _sel((dvol > 0.0) & (not math.isnan(px)), sgn, NAN)
        sgn = _sel(dvol == 0.0, 0.0, sgn)
        bb[_o(B_SIGN) + p] = sgn
        bb[_o(B_Q) + p] = sgn * dvol
        bb[_o(B_EFF) + p] = _sel((not math.isnan(px)) & (midprev > 0.0), 2.0 * abs(px - midprev) / midprev * 1e4, NAN)


@njit(**_JIT)
def _sk_logdvol(m, bb):
    """ln(1 + dvol)."""
    for q in range(m):
        p = _UP0 + q
        dvol = bb[_o(B_DVOL) + p]
        bb[_o(B_LOGDVOL) + p] = _sel(dvol >= 0.0, _ln1p(dvol), NAN)


@njit(**_JIT)
def _sk_quote(m, bb):
    """Relative spread (bps), last price inside the spread, mid against the day's VWAP (bps)."""
    for q in range(m):
        p = _UP0 + q
        mid = bb[_o(B_MID) + p]
        bp = bb[_r(C_L0) + p]
        ap = bb[_r(C_L0 + 2) + p]
        last = bb[_r(C_LAST) + p]
        avg = bb[_r(C_AVG) + p]
        both = not math.isnan(mid)
        bb[_o(B_RSPREAD) + p] = _sel(both, (ap - bp) / mid * 1e4, NAN)
        bb[_o(B_LASTPOS) + p] = _sel(both & (ap > bp) & (last > 0.0), (last - bp) / (ap - bp), NAN)
        bb[_o(B_VWAPDEV_DAY) + p] = _sel(avg > 0.0, (mid / avg - 1.0) * 1e4, NAN)


@njit(**_JIT)
def _sk_misc(m, k0, bb, ib):
    """Seconds since the previous tick, best-quote change, open interest and its change, new day."""
    for q in range(m):
        p = _UP0 + q
        pp = p - _U1
        has_prev = k0 + np.int64(q) > 0
        newday = (not has_prev) | (ib[_o(IB_DAY) + p] != ib[_o(IB_DAY) + pp])
        d = (ib[_o(IB_DT) + p] - ib[_o(IB_DT) + pp]) * 1e-9
        bp = bb[_r(C_L0) + p]
        ap = bb[_r(C_L0 + 2) + p]
        pbp = bb[_r(C_L0) + pp]
        pap = bb[_r(C_L0 + 2) + pp]
        bid_ok = (bp > 0.0) & (bb[_r(C_L0 + 1) + p] > 0.0)
        ask_ok = (ap > 0.0) & (bb[_r(C_L0 + 3) + p] > 0.0)
        pbid_ok = (pbp > 0.0) & (bb[_r(C_L0 + 1) + pp] > 0.0)
        pask_ok = (pap > 0.0) & (bb[_r(C_L0 + 3) + pp] > 0.0)
        changed = (bid_ok != pbid_ok) | (ask_ok != pask_ok)
        changed = changed | (bid_ok & pbid_ok & (bp != pbp)) | (ask_ok & pask_ok & (ap != pap))
        oi = bb[_r(C_OI) + p]
        bb[_o(B_DT) + p] = _sel(has_prev & (d >= 0.0) & (d <= MAX_DT_S), d, NAN)
        bb[_o(B_L1CHG) + p] = _sel(has_prev, _sel(changed, 1.0, 0.0), NAN)
        bb[_o(B_OI) + p] = oi
        bb[_o(B_DOI) + p] = _sel(has_prev, oi - bb[_r(C_OI) + pp], NAN)
        bb[_o(B_ONE) + p] = 1.0
        bb[_o(B_NEWDAY) + p] = _sel(newday, 1.0, 0.0)


@njit(**_JIT)
def _sk_clock(m, bb, ib):
    """Beijing time of day and its sine and cosine."""
    for q in range(m):
        p = _UP0 + q
        secs = ib[_o(IB_DT) + p] // 1000000000
        tod = float((secs + 28800) % 86400)  # UTC+8, seconds
        bb[_o(B_TOD) + p] = tod
        phase = 2.0 * math.pi * tod / 86400.0
        bb[_o(B_TOD_SIN) + p] = math.sin(phase)
        bb[_o(B_TOD_COS) + p] = math.cos(phase)


@njit(**_INLINE)
def _lots(bb, lvl, side, p):
    """Lots at book level ``lvl`` (0-based) and side (0 bid, 1 ask): 0 when the side is absent,
    so ``> 0`` tells whether it is present."""
    return bb[_o(R_LOTS + 2 * lvl + side) + p]


@njit(**_JIT)
def _sk_lots(m, bb):
    """Lots per level and side: the volume when price > 0 and volume > 0, else 0."""
    # block positions outermost: the row offsets in the unrolled inner loops are constants,
    # which lets LLVM vectorize over positions
    for q in range(m):
        p = _UP0 + q
        for lvl in range(5):
            for side in range(2):
                c = C_L0 + 4 * lvl + 2 * side
                px = bb[_r(c) + p]
                v = bb[_r(c + 1) + p]
                bb[_o(R_LOTS + 2 * lvl + side) + p] = _sel((px > 0.0) & (v > 0.0), v, 0.0)


@njit(**_JIT)
def _sk_depth(m, bb):
    """Cumulative imbalances over levels 1..3 and 1..5, depth-weighted imbalance, side depths."""
    for q in range(m):
        p = _UP0 + q
        sb = 0.0
        sa = 0.0
        sb3 = 0.0
        sa3 = 0.0
        wn = 0.0
        wd = 0.0
        for lvl in range(5):
            bvv = _lots(bb, lvl, 0, p)
            avv = _lots(bb, lvl, 1, p)
            sb += bvv
            sa += avv
            if lvl == 2:
                sb3 = sb
                sa3 = sa
            w = 1.0 / (lvl + 1.0)
            wn += w * (bvv - avv)
            wd += w * (bvv + avv)
        bb[_o(B_IMBC3) + p] = _sel(sb3 + sa3 > 0.0, (sb3 - sa3) / (sb3 + sa3), NAN)
        bb[_o(B_IMBC5) + p] = _sel(sb + sa > 0.0, (sb - sa) / (sb + sa), NAN)
        bb[_o(B_IMBDW) + p] = _sel(wd > 0.0, wn / wd, NAN)
        bb[_o(B_DEPB5) + p] = sb
        bb[_o(B_DEPA5) + p] = sa


@njit(**_JIT)
def _sk_levels(m, bb):
    """Imbalance and depth of levels 2..5."""
    for q in range(m):
        p = _UP0 + q
        for lvl in range(1, 5):
            bvv = _lots(bb, lvl, 0, p)
            avv = _lots(bb, lvl, 1, p)
            dep = bvv + avv
            bb[_o(B_IMB1 + lvl) + p] = _sel(dep > 0.0, (bvv - avv) / dep, NAN)
            bb[_o(B_DEP1 + lvl) + p] = dep


@njit(**_JIT)
def _sk_shape(m, bb):
    """Curvature and concentration of each side's depth, share of level 1 in the depth."""
    for q in range(m):
        p = _UP0 + q
        sb = 0.0
        sa = 0.0
        hb = 0.0
        ha = 0.0
        for lvl in range(5):
            bvv = _lots(bb, lvl, 0, p)
            avv = _lots(bb, lvl, 1, p)
            sb += bvv
            sa += avv
            hb += bvv * bvv
            ha += avv * avv
        v1b = _lots(bb, 0, 0, p)
        v1a = _lots(bb, 0, 1, p)
        v3b = _lots(bb, 2, 0, p)
        v3a = _lots(bb, 2, 1, p)
        v5b = _lots(bb, 4, 0, p)
        v5a = _lots(bb, 4, 1, p)
        bb[_o(B_CURV_B) + p] = _sel(sb > 0.0, (v1b - 2.0 * v3b + v5b) / sb, NAN)
        bb[_o(B_CURV_A) + p] = _sel(sa > 0.0, (v1a - 2.0 * v3a + v5a) / sa, NAN)
        bb[_o(B_CONC_B) + p] = _sel(sb > 0.0, hb / (sb * sb), NAN)
        bb[_o(B_CONC_A) + p] = _sel(sa > 0.0, ha / (sa * sa), NAN)
        bb[_o(B_TOPSHARE) + p] = _sel(sb + sa > 0.0, (v1b + v1a) / (sb + sa), NAN)


@njit(**_JIT)
def _sk_logdep(m, bb):
    """ln(1 + depth over levels 1..5)."""
    for q in range(m):
        p = _UP0 + q
        bb[_o(B_LOGDEP5) + p] = _ln1p(bb[_o(B_DEPB5) + p] + bb[_o(B_DEPA5) + p])


@njit(**_JIT)
def _sk_wmid(m, gprm, bb):
    """Depth-weighted mid over the levels with both sides present, against mid (ticks)."""
    inv = 1.0 / gprm[GP_TICK]
    for q in range(m):
        p = _UP0 + q
        wmn = 0.0
        wmd = 0.0
        for lvl in range(5):
            c = C_L0 + 4 * lvl
            bv = _lots(bb, lvl, 0, p)
            av = _lots(bb, lvl, 1, p)
            ok = (bv > 0.0) & (av > 0.0)
            wmn += _sel(ok, bb[_r(c) + p] * av + bb[_r(c + 2) + p] * bv, 0.0)
            wmd += _sel(ok, bv + av, 0.0)
        bb[_o(B_WMID5) + p] = _sel(wmd > 0.0, (wmn / wmd - bb[_o(B_MID) + p]) * inv, NAN)


@njit(**_INLINE)
def _side_slope(bb, p, side, mid, inv):
    """Least-squares slope of one side's cumulative depth on the distance from mid (ticks)."""
    cum = 0.0
    n = 0.0
    sd = 0.0
    sD = 0.0
    sdd = 0.0
    sdD = 0.0
    for lvl in range(5):
        px = bb[_r(C_L0 + 4 * lvl + 2 * side) + p]
        v = _lots(bb, lvl, side, p)
        ok = v > 0.0
        cum += v
        d = _sel(side == 0, mid - px, px - mid) * inv
        n += _sel(ok, 1.0, 0.0)
        sd += _sel(ok, d, 0.0)
        sD += _sel(ok, cum, 0.0)
        sdd += _sel(ok, d * d, 0.0)
        sdD += _sel(ok, d * cum, 0.0)
    den = n * sdd - sd * sd
    # a NaN mid makes every sum NaN: no slope
    return _sel((n >= 2.0) & (den > 0.0), (n * sdD - sd * sD) / den, NAN)


@njit(**_JIT)
def _sk_slope(m, gprm, bb):
    """Depth slope of each side and their imbalance."""
    inv = 1.0 / gprm[GP_TICK]
    for q in range(m):
        p = _UP0 + q
        mid = bb[_o(B_MID) + p]
        slope_b = _side_slope(bb, p, 0, mid, inv)
        slope_a = _side_slope(bb, p, 1, mid, inv)
        bb[_o(B_SLOPE_B) + p] = slope_b
        bb[_o(B_SLOPE_A) + p] = slope_a
        ssum = slope_b + slope_a
        bb[_o(B_SLOPE_IMB) + p] = _sel(ssum > 0.0, (slope_b - slope_a) / ssum, NAN)


@njit(**_JIT)
def _sk_book(m, gprm, bb):
    """Book pressure (depth over distance from mid) and mean level gaps of each side."""
    tick = gprm[GP_TICK]
    inv = 1.0 / tick
    for q in range(m):
        p = _UP0 + q
        mid = bb[_o(B_MID) + p]
        pb = 0.0
        pa = 0.0
        fb = NAN
        lb = NAN
        nb_ = 0.0
        fa = NAN
        la = NAN
        na_ = 0.0
        for lvl in range(5):
            c = C_L0 + 4 * lvl
            bp = bb[_r(c) + p]
            ap = bb[_r(c + 2) + p]
            bv = _lots(bb, lvl, 0, p)
            av = _lots(bb, lvl, 1, p)
            bok = bv > 0.0
            aok = av > 0.0
            fb = _sel(bok & (nb_ == 0.0), bp, fb)
            lb = _sel(bok, bp, lb)
            nb_ += _sel(bok, 1.0, 0.0)
            fa = _sel(aok & (na_ == 0.0), ap, fa)
            la = _sel(aok, ap, la)
            na_ += _sel(aok, 1.0, 0.0)
            db = (mid - bp) * inv
            da = (ap - mid) * inv
            pb += _sel(bok & (db > 0.0), bv / db, 0.0)
            pa += _sel(aok & (da > 0.0), av / da, 0.0)
        bb[_o(B_BPRESS) + p] = _sel(pb + pa > 0.0, (pb - pa) / (pb + pa), NAN)
        bb[_o(B_GAP_B) + p] = _sel(nb_ >= 2.0, (fb - lb) / (tick * (nb_ - 1.0)), NAN)
        bb[_o(B_GAP_A) + p] = _sel(na_ >= 2.0, (la - fa) / (tick * (na_ - 1.0)), NAN)


@njit(**_INLINE)
def _ofi_level(bb, lvl, p):
    """Order-flow imbalance of one book level between the previous and the current snapshot;
    NaN unless all four sides of both snapshots are present."""
    pp = p - _U1
    c = C_L0 + 4 * lvl
    bp = bb[_r(c) + p]
    ap = bb[_r(c + 2) + p]
    pbp = bb[_r(c) + pp]
    pap = bb[_r(c + 2) + pp]
    bv = _lots(bb, lvl, 0, p)
    av = _lots(bb, lvl, 1, p)
    pbv = _lots(bb, lvl, 0, pp)
    pav = _lots(bb, lvl, 1, pp)
    ok = (bv > 0.0) & (av > 0.0) & (pbv > 0.0) & (pav > 0.0)
    eb = _sel(bp >= pbp, bv, 0.0) - _sel(bp <= pbp, pbv, 0.0)
    ea = _sel(ap <= pap, av, 0.0) - _sel(ap >= pap, pav, 0.0)
    return _sel(ok, eb - ea, NAN)


@njit(**_JIT)
def _sk_ofi(m, k0, bb):
    """Order-flow imbalance of levels 1..5, half depths of levels 2..5, their sums over the
    levels where the imbalance is defined."""
    for q in range(m):
        p = _UP0 + q
        has_prev = k0 + np.int64(q) > 0
        s = 0.0
        h = 0.0
        n = 0.0
        for lvl in range(5):
            hd = 0.5 * (_lots(bb, lvl, 0, p) + _lots(bb, lvl, 1, p))
            o = _sel(has_prev, _ofi_level(bb, lvl, p), NAN)
            if lvl >= 1:
                bb[_o(B_HDEP1 + lvl) + p] = hd
            bb[_o(B_OFI1 + lvl) + p] = o
            ok = not math.isnan(o)
            s += _sel(ok, o, 0.0)
            h += _sel(ok, hd, 0.0)
            n += _sel(ok, 1.0, 0.0)
        bb[_o(B_OFISUM) + p] = _sel(n > 0.0, s, NAN)
        bb[_o(B_HDEPSUM) + p] = _sel(n > 0.0, h, NAN)


@njit(**_JIT)
def _side_flow(bb, p, side, tick):
    """Volume added and removed at one side of the book between positions ``p - 1`` and ``p``.

    Only prices both snapshots can see are compared: for bids the prices at or above the
    higher of the two lowest visible bids, for asks at or below the lower of the two highest
    visible asks. A price absent from a snapshot inside that range holds 0 lots there.
    Returns ``(added, removed)``; NaN when either snapshot has no level on this side.
    """
    off = 2 * side  # 0: bid, 2: ask
    sgn = 1.0 if side == 0 else -1.0  # compare -price on the ask side: "deeper" is always lower
    half = 0.5 * tick
    pp = p - _U1
    edge_c = math.inf
    edge_p = math.inf
    nc = 0
    npv = 0
    for lvl in range(5):
        c = C_L0 + 4 * lvl + off
        if bb[_r(c) + p] > 0.0 and bb[_r(c + 1) + p] > 0.0:
            nc += 1
            edge_c = min(edge_c, sgn * bb[_r(c) + p])
        if bb[_r(c) + pp] > 0.0 and bb[_r(c + 1) + pp] > 0.0:
            npv += 1
            edge_p = min(edge_p, sgn * bb[_r(c) + pp])
    if nc == 0 or npv == 0:
        return NAN, NAN
    bound = max(edge_c, edge_p) - half
    added = 0.0
    removed = 0.0
    for lvl in range(5):
        c = C_L0 + 4 * lvl + off
        px = bb[_r(c) + p]
        v = bb[_r(c + 1) + p]
        if not (px > 0.0 and v > 0.0) or sgn * px < bound:
            continue
        vp = 0.0
        for lv2 in range(5):
            c2 = C_L0 + 4 * lv2 + off
            ppx = bb[_r(c2) + pp]
            if ppx > 0.0 and bb[_r(c2 + 1) + pp] > 0.0 and abs(ppx - px) < half:
                vp = bb[_r(c2 + 1) + pp]
        d = v - vp
        if d > 0.0:
            added += d
        else:
            removed -= d
    for lv2 in range(5):
        c2 = C_L0 + 4 * lv2 + off
        ppx = bb[_r(c2) + pp]
        pv = bb[_r(c2 + 1) + pp]
        if not (ppx > 0.0 and pv > 0.0) or sgn * ppx < bound:
            continue
        matched = False
        for lvl in range(5):
            c = C_L0 + 4 * lvl + off
            if bb[_r(c) + p] > 0.0 and bb[_r(c + 1) + p] > 0.0 and abs(bb[_r(c) + p] - ppx) < half:
                matched = True
        if not matched:
            removed += pv
    return added, removed


@njit(**_JIT)
def _sk_dyn(m, k0, gprm, bb):
    """Quote arrivals and cancellations from snapshot differences."""
    tick = gprm[GP_TICK]
    for q in range(m):
        p = _UP0 + q
        arr = NAN
        can = NAN
        diff = NAN
        if k0 + np.int64(q) > 0:
            add_b, rem_b = _side_flow(bb, p, 0, tick)
            add_a, rem_a = _side_flow(bb, p, 1, tick)
            if not math.isnan(add_b) and not math.isnan(add_a):
                arr = add_b + add_a
                diff = add_b - add_a
                dvol = bb[_o(B_DVOL) + p]
                sgn = bb[_o(B_SIGN) + p]
                if not math.isnan(dvol) and not math.isnan(sgn):
                    # traded volume removed from each side: sells hit bids, buys lift asks
                    can = max(rem_b - 0.5 * dvol * (1.0 - sgn), 0.0) + max(rem_a - 0.5 * dvol * (1.0 + sgn), 0.0)
        bb[_o(B_ARR) + p] = arr
        bb[_o(B_CAN) + p] = can
        bb[_o(B_ARRDIFF) + p] = diff


@njit(**_JIT)
def _sk_x(m, k0, bb):
    """Other-asset series: log mid, 1-tick return (bps), log spread to own mid (bps)."""
    for q in range(m):
        p = _UP0 + q
        has_prev = k0 + np.int64(q) > 0
        logmid = bb[_o(B_LOGMID) + p]
        for c in range(N_EXTRA):
            v = bb[_o(R_XE + c) + p]
            xl = _sel(v > 0.0, _ln(v), NAN)
            bb[_o(B_XLOG + c) + p] = xl
            bb[_o(B_XRET + c) + p] = _sel(has_prev, (xl - bb[_o(B_XLOG + c) + p - _U1]) * 1e4, NAN)
            bb[_o(B_XSPR + c) + p] = (logmid - xl) * 1e4


# =============================================================================================
# op kernels: each advances one factor over the block and writes its stretch of ``out``. Windowed
# ops first run their cumulative sums through the block (rows of the scratch ``tb``), then
# compute values: ticks whose window starts before the block read the op's rings, the others
# read ``tb`` directly (a branch-free loop LLVM vectorizes); the rings then take the block's
# last values. Recursive ops run one sequential loop.
# =============================================================================================
@njit(**_JIT)
def _col_value(j, ops, fprm, bb, out, n, i0, m, k0):
    """The base series itself."""
    a = _o(ops[j, O_A])
    oj = np.uint64(j * n + i0)
    warm = ops[j, O_WARM]
    offset = fprm[j, F_OFFSET]
    scale = fprm[j, F_SCALE]
    for q in range(m):
        p = _UP0 + q
        out[oj + q] = _fin(bb[a + p], k0 + np.int64(q), warm, offset, scale)


@njit(**_JIT)
def _col_lag(j, ops, fprm, st, bb, tb, out, n, i0, m, k0):
    """``x[t] - x[t-w]`` (mode 0) or ``x[t] - 2 x[t-w] + x[t-2w]`` (mode 1). State: value ring."""
    off = ops[j, O_OFF]
    mask = ops[j, O_MASK]
    w = ops[j, O_W]
    a = _o(ops[j, O_A])
    oj = np.uint64(j * n + i0)
    accel = ops[j, O_MODE] == 1
    warm = ops[j, O_WARM]
    offset = fprm[j, F_OFFSET]
    scale = fprm[j, F_SCALE]
    _lag_row(bb, a, tb, _U0, st, off, mask, k0, m, w)
    if accel:
        _lag_row(bb, a, tb, _ULD, st, off, mask, k0, m, 2 * w)
        for q in range(m):
            p = _UP0 + q
            k = k0 + np.int64(q)
            v = bb[a + p] - 2.0 * tb[p] + tb[_ULD + p]
            out[oj + q] = _fin(_sel(k >= 2 * w, v, NAN), k, warm, offset, scale)
    else:
        for q in range(m):
            p = _UP0 + q
            k = k0 + np.int64(q)
            out[oj + q] = _fin(_sel(k >= w, bb[a + p] - tb[p], NAN), k, warm, offset, scale)
    _to_ring(bb, a, st, off, mask, k0, m)


@njit(**_INLINE)
def _cumsum_valid(bb, a, tb, row, cs, cn, m):
    """Running sum and count of the finite values of ``bb`` row ``a`` into ``tb`` rows
    ``row``, ``row + 1``; returns the final (sum, count)."""
    for q in range(m):
        p = _UP0 + q
        x = bb[a + p]
        ok = _finite(x)
        cs += _sel(ok, x, 0.0)
        cn += _sel(ok, 1.0, 0.0)
        tb[row + p] = cs
        tb[row + _ULD + p] = cn
    return cs, cn


@njit(**_JIT)
def _col_sum(j, ops, fprm, st, bb, tb, out, n, i0, m, k0):
    """Window sum (mode 0), mean (1) or log1p(sum) (2) of valid values. State: (C, N), rings."""
    off = ops[j, O_OFF]
    mask = ops[j, O_MASK]
    w = ops[j, O_W]
    a = _o(ops[j, O_A])
    oj = np.uint64(j * n + i0)
    mode = ops[j, O_MODE]
    minn = ops[j, O_MINN]
    warm = ops[j, O_WARM]
    offset = fprm[j, F_OFFSET]
    scale = fprm[j, F_SCALE]
    rc = off + 2
    rn = rc + mask + 1
    st[off], st[off + 1] = _cumsum_valid(bb, a, tb, _U0, st[off], st[off + 1], m)
    _lag_row(tb, _o(0), tb, _o(2), st, rc, mask, k0, m, w)
    _lag_row(tb, _o(1), tb, _o(3), st, rn, mask, k0, m, w)
    for q in range(m):
        p = _UP0 + q
        sw = tb[p] - tb[_o(2) + p]
        nw = tb[_o(1) + p] - tb[_o(3) + p]
        v = _sel(mode == 0, sw, sw / nw)
        out[oj + q] = _sel((nw >= minn) & (nw > 0.0), v, NAN)
    if mode == 2:
        for q in range(m):
            p = _UP0 + q
            sw = tb[p] - tb[_o(2) + p]
            v = out[oj + q]
            out[oj + q] = _sel(not math.isnan(v), _ln1p(sw), NAN)
    for q in range(m):
        p = _UP0 + q
        out[oj + q] = _fin(out[oj + q], k0 + np.int64(q), warm, offset, scale)
    _to_ring(tb, _o(0), st, rc, mask, k0, m)
    _to_ring(tb, _o(1), st, rn, mask, k0, m)


@njit(**_JIT)
def _col_ratio(j, ops, fprm, st, bb, tb, out, n, i0, m, k0):
    """``sum a / sum b`` over ticks where both are valid (mode 0), or ``ref / (sum a / sum b) - 1``
    (mode 1). ``F_C`` > 0 floors the denominator. State: (Ca, Cb, N), rings."""
    off = ops[j, O_OFF]
    mask = ops[j, O_MASK]
    w = ops[j, O_W]
    a = _o(ops[j, O_A])
    b = _o(ops[j, O_B])
    rf = _o(ops[j, O_C])
    oj = np.uint64(j * n + i0)
    deviation = ops[j, O_MODE] == 1
    minn = ops[j, O_MINN]
    warm = ops[j, O_WARM]
    floor = fprm[j, F_C]
    offset = fprm[j, F_OFFSET]
    scale = fprm[j, F_SCALE]
    ring = mask + 1
    ra = off + 3
    ca = st[off]
    cb = st[off + 1]
    cn = st[off + 2]
    for q in range(m):
        p = _UP0 + q
        x = bb[a + p]
        y = bb[b + p]
        ok = _finite(x) & _finite(y)
        ca += _sel(ok, x, 0.0)
        cb += _sel(ok, y, 0.0)
        cn += _sel(ok, 1.0, 0.0)
        tb[p] = ca
        tb[_o(1) + p] = cb
        tb[_o(2) + p] = cn
    st[off] = ca
    st[off + 1] = cb
    st[off + 2] = cn
    for c in range(3):
        _lag_row(tb, _o(c), tb, _o(3 + c), st, ra + c * ring, mask, k0, m, w)
    for q in range(m):
        p = _UP0 + q
        sa = tb[p] - tb[_o(3) + p]
        sb = tb[_o(1) + p] - tb[_o(4) + p]
        n = tb[_o(2) + p] - tb[_o(5) + p]
        sb = _sel(floor > 0.0, max(sb, floor), sb)
        v = sa / sb
        if deviation:
            ref = bb[rf + p]
            v = _sel((v > 0.0) & (not math.isnan(ref)), ref / v - 1.0, NAN)
        v = _sel((n >= minn) & (n > 0.0) & (sb != 0.0), v, NAN)
        out[oj + q] = _fin(v, k0 + np.int64(q), warm, offset, scale)
    for c in range(3):
        _to_ring(tb, _o(c), st, ra + c * ring, mask, k0, m)


@njit(**_JIT)
def _col_move(j, ops, fprm, st, bb, tb, out, n, i0, m, k0):
    """``|x[t] - x[t-w]| / (window sum of y)``. State: (Cy, N), rings of x, Cy, N."""
    off = ops[j, O_OFF]
    mask = ops[j, O_MASK]
    w = ops[j, O_W]
    a = _o(ops[j, O_A])
    b = _o(ops[j, O_B])
    oj = np.uint64(j * n + i0)
    minn = ops[j, O_MINN]
    warm = ops[j, O_WARM]
    offset = fprm[j, F_OFFSET]
    scale = fprm[j, F_SCALE]
    ring = mask + 1
    rx = off + 2
    ry = rx + ring
    rn = ry + ring
    st[off], st[off + 1] = _cumsum_valid(bb, b, tb, _U0, st[off], st[off + 1], m)
    _lag_row(bb, a, tb, _o(2), st, rx, mask, k0, m, w)
    _lag_row(tb, _o(0), tb, _o(3), st, ry, mask, k0, m, w)
    _lag_row(tb, _o(1), tb, _o(4), st, rn, mask, k0, m, w)
    for q in range(m):
        p = _UP0 + q
        k = k0 + np.int64(q)
        sy = tb[p] - tb[_o(3) + p]
        n = tb[_o(1) + p] - tb[_o(4) + p]
        v = _sel((k >= w) & (n >= minn) & (sy > 0.0), abs(bb[a + p] - tb[_o(2) + p]) / sy, NAN)
        out[oj + q] = _fin(v, k, warm, offset, scale)
    _to_ring(bb, a, st, rx, mask, k0, m)
    _to_ring(tb, _o(0), st, ry, mask, k0, m)
    _to_ring(tb, _o(1), st, rn, mask, k0, m)


@njit(**_JIT)
def _col_meanratio(j, ops, fprm, st, bb, tb, out, n, i0, m, k0):
    """``log((mean_w + c) / (mean_w2 + c))`` of one series. State: (C, N), rings (w2)."""
    off = ops[j, O_OFF]
    mask = ops[j, O_MASK]
    w = ops[j, O_W]
    w2 = ops[j, O_W2]
    a = _o(ops[j, O_A])
    oj = np.uint64(j * n + i0)
    minn = ops[j, O_MINN]
    minn2 = ops[j, O_MINN2]
    warm = ops[j, O_WARM]
    c = fprm[j, F_C]
    offset = fprm[j, F_OFFSET]
    scale = fprm[j, F_SCALE]
    rc = off + 2
    rn = rc + mask + 1
    st[off], st[off + 1] = _cumsum_valid(bb, a, tb, _U0, st[off], st[off + 1], m)
    _lag_row(tb, _o(0), tb, _o(2), st, rc, mask, k0, m, w)
    _lag_row(tb, _o(1), tb, _o(3), st, rn, mask, k0, m, w)
    _lag_row(tb, _o(0), tb, _o(4), st, rc, mask, k0, m, w2)
    _lag_row(tb, _o(1), tb, _o(5), st, rn, mask, k0, m, w2)
    for q in range(m):
        p = _UP0 + q
        n1 = tb[_o(1) + p] - tb[_o(3) + p]
        n2 = tb[_o(1) + p] - tb[_o(5) + p]
        # (s1 / n1 + c) / (s2 / n2 + c) with one division; counts are > 0 where it is used
        num = (tb[p] - tb[_o(2) + p] + c * n1) * n2
        den = (tb[p] - tb[_o(4) + p] + c * n2) * n1
        ok = (n1 >= minn) & (n2 >= minn2) & (n1 > 0.0) & (n2 > 0.0) & (num > 0.0) & (den > 0.0)
        out[oj + q] = _fin(_sel(ok, _ln(num / den), NAN), k0 + np.int64(q), warm, offset, scale)
    _to_ring(tb, _o(0), st, rc, mask, k0, m)
    _to_ring(tb, _o(1), st, rn, mask, k0, m)


@njit(**_INLINE)
def _window_moments(tb, p):
    """Window count, mean of x, second moments of x and y, variances and covariance of the
    shifted pairs: ``tb`` rows 0..5 hold the running sums, rows 6..11 the same sums w ticks
    earlier."""
    n = tb[_o(5) + p] - tb[_o(11) + p]
    inv = 1.0 / n
    mx = (tb[p] - tb[_o(6) + p]) * inv
    my = (tb[_o(1) + p] - tb[_o(7) + p]) * inv
    qx = (tb[_o(2) + p] - tb[_o(8) + p]) * inv
    qy = (tb[_o(3) + p] - tb[_o(9) + p]) * inv
    qxy = (tb[_o(4) + p] - tb[_o(10) + p]) * inv
    return n, mx, qx, qy, qx - mx * mx, qxy - mx * my, qy - my * my


@njit(**_JIT)
def _col_moments(j, ops, fprm, st, bb, tb, out, n, i0, m, k0):
    """Pairs ``(x[t], y[t-lag])`` over the window: correlation (mode 0), slope of y on x (1),
    z-score of x[t] (2). Values are shifted by the first valid pair of the segment so that the
    second moments do not cancel. State: (refx, refy, has_ref), 6 running sums, their rings,
    the y lag ring.
    """
    off = ops[j, O_OFF]
    mask = ops[j, O_MASK]
    mask2 = ops[j, O_MASK2]
    w = ops[j, O_W]
    lag = ops[j, O_W2]
    a = _o(ops[j, O_A])
    b = _o(ops[j, O_B])
    oj = np.uint64(j * n + i0)
    mode = ops[j, O_MODE]
    minn = ops[j, O_MINN]
    warm = ops[j, O_WARM]
    offset = fprm[j, F_OFFSET]
    scale = fprm[j, F_SCALE]
    ring = mask + 1
    r0 = off + 9
    lr = r0 + 6 * ring
    ylag = _o(12)
    _lag_row(bb, b, tb, ylag, st, lr, mask2, k0, m, lag)
    refx = st[off]
    refy = st[off + 1]
    has_ref = st[off + 2]
    c0 = st[off + 3]
    c1 = st[off + 4]
    c2 = st[off + 5]
    c3 = st[off + 6]
    c4 = st[off + 7]
    c5 = st[off + 8]
    for q in range(m):
        p = _UP0 + q
        x = bb[a + p]
        y = tb[ylag + p]
        valid = _finite(x) & _finite(y) & (k0 + np.int64(q) >= lag)
        first = valid & (has_ref == 0.0)
        refx = _sel(first, x, refx)
        refy = _sel(first, y, refy)
        has_ref = _sel(first, 1.0, has_ref)
        # an invalid pair adds exact zeros (the sums start at +0.0 and never become -0.0)
        dx = _sel(valid, x - refx, 0.0)
        dy = _sel(valid, y - refy, 0.0)
        c0 += dx
        c1 += dy
        c2 += dx * dx
        c3 += dy * dy
        c4 += dx * dy
        c5 += _sel(valid, 1.0, 0.0)
        tb[p] = c0
        tb[_o(1) + p] = c1
        tb[_o(2) + p] = c2
        tb[_o(3) + p] = c3
        tb[_o(4) + p] = c4
        tb[_o(5) + p] = c5
    st[off] = refx
    st[off + 1] = refy
    st[off + 2] = has_ref
    st[off + 3] = c0
    st[off + 4] = c1
    st[off + 5] = c2
    st[off + 6] = c3
    st[off + 7] = c4
    st[off + 8] = c5
    for c in range(6):
        _lag_row(tb, _o(c), tb, _o(6 + c), st, r0 + c * ring, mask, k0, m, w)
    if mode == 2:
        for q in range(m):
            p = _UP0 + q
            n, mx, qx, _qy, vx, _cxy, _vy = _window_moments(tb, p)
            v = (bb[a + p] - refx - mx) / np.sqrt(vx)
            v = _sel((n >= minn) & (n >= 2.0) & (vx > _DEGENERATE * qx), v, NAN)
            out[oj + q] = _fin(v, k0 + np.int64(q), warm, offset, scale)
    elif mode == 1:
        for q in range(m):
            p = _UP0 + q
            n, _mx, qx, _qy, vx, cxy, _vy = _window_moments(tb, p)
            v = _sel((n >= minn) & (n >= 2.0) & (vx > _DEGENERATE * qx), cxy / vx, NAN)
            out[oj + q] = _fin(v, k0 + np.int64(q), warm, offset, scale)
    else:
        for q in range(m):
            p = _UP0 + q
            n, _mx, qx, qy, vx, cxy, vy = _window_moments(tb, p)
            v = max(-1.0, min(1.0, cxy / np.sqrt(vx * vy)))
            v = _sel((n >= minn) & (n >= 2.0) & (vx > _DEGENERATE * qx) & (vy > _DEGENERATE * qy), v, NAN)
            out[oj + q] = _fin(v, k0 + np.int64(q), warm, offset, scale)
    for c in range(6):
        _to_ring(tb, _o(c), st, r0 + c * ring, mask, k0, m)
    _to_ring(bb, b, st, lr, mask2, k0, m)


@njit(**_JIT)
def _col_range(j, ops, fprm, st, bb, out, n, i0, m, k0):
    """Rolling max H and min L of x over the window (monotonic deques): position
    ``(x - L) / (H - L)`` (mode 0), Parkinson ``(H - L)^2 / (4 ln 2)`` (1) or Garman-Klass
    ``(H - L)^2 / 2 - (2 ln 2 - 1)(x - O)^2`` with O the window's first value (2).
    State: (head, size) of each deque, the two deques of (index, value), value ring.
    """
    off = ops[j, O_OFF]
    mask = ops[j, O_MASK]
    w = ops[j, O_W]
    a = _o(ops[j, O_A])
    oj = np.uint64(j * n + i0)
    mode = ops[j, O_MODE]
    warm = ops[j, O_WARM]
    offset = fprm[j, F_OFFSET]
    scale = fprm[j, F_SCALE]
    cap = mask + 1
    dqx = off + 4
    dqn = off + 4 + 2 * cap
    vr = off + 4 + 4 * cap
    for q in range(m):
        p = _UP0 + q
        k = k0 + np.int64(q)
        x = bb[a + p]
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
        v = NAN
        if st[off + 1] != 0.0 and st[off + 3] != 0.0:
            hmax = st[dqx + 2 * int(st[off]) + 1]
            lmin = st[dqn + 2 * int(st[off + 2]) + 1]
            rng = hmax - lmin
            if mode == 0:
                if _finite(x) and rng > 0.0:
                    v = (x - lmin) / rng
            elif mode == 1:
                v = rng * rng / (4.0 * _LN2)
            elif k >= w - 1:
                o = st[vr + ((k - w + 1) & mask)]
                if _finite(x) and _finite(o):
                    v = 0.5 * rng * rng - (2.0 * _LN2 - 1.0) * (x - o) * (x - o)
        out[oj + q] = _fin(v, k, warm, offset, scale)


@njit(**_JIT)
def _col_emagap(j, ops, fprm, st, bb, out, n, i0, m, k0):
    """EMA(span w) - EMA(span w2) of x, both started at the segment's first valid x."""
    off = ops[j, O_OFF]
    a = _o(ops[j, O_A])
    oj = np.uint64(j * n + i0)
    af = 2.0 / (ops[j, O_W] + 1.0)
    aslow = 2.0 / (ops[j, O_W2] + 1.0)
    warm = ops[j, O_WARM]
    offset = fprm[j, F_OFFSET]
    scale = fprm[j, F_SCALE]
    fast = st[off]
    slow = st[off + 1]
    started = st[off + 2]
    for q in range(m):
        p = _UP0 + q
        x = bb[a + p]
        if _finite(x):
            if started == 0.0:
                fast = x
                slow = x
                started = 1.0
            else:
                fast += af * (x - fast)
                slow += aslow * (x - slow)
        v = fast - slow if started != 0.0 else NAN
        out[oj + q] = _fin(v, k0 + np.int64(q), warm, offset, scale)
    st[off] = fast
    st[off + 1] = slow
    st[off + 2] = started


@njit(**_JIT)
def _col_vpin(j, ops, fprm, st, bb, out, n, i0, m, k0):
    """VPIN over the last w volume buckets. Bucket size = F_C x EWMA(volume per tick, alpha F_D);
    each tick's volume is split buy/sell by its sign s as (1+s)/2 and poured into buckets.
    State: (ewma, started, buy, sell, vol, n_buckets, C|B-S|, C vol) + ring of the cumulative pair.
    """
    off = ops[j, O_OFF]
    mask = ops[j, O_MASK]
    w = ops[j, O_W]
    a = _o(ops[j, O_A])
    b = _o(ops[j, O_B])
    oj = np.uint64(j * n + i0)
    warm = ops[j, O_WARM]
    fc = fprm[j, F_C]
    alpha = fprm[j, F_D]
    offset = fprm[j, F_OFFSET]
    scale = fprm[j, F_SCALE]
    for q in range(m):
        p = _UP0 + q
        v = bb[a + p]
        sg = bb[b + p]
        if _finite(v) and v >= 0.0:
            if st[off + 1] == 0.0:
                st[off] = v
                st[off + 1] = 1.0
            else:
                st[off] += alpha * (v - st[off])
            size = fc * st[off]
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
        val = NAN
        nbk = int(st[off + 5])
        if nbk >= w:
            o = off + 8 + 2 * ((nbk - w) & mask)
            tot = st[off + 7] - st[o + 1]
            if tot > 0.0:
                val = (st[off + 6] - st[o]) / tot
        out[oj + q] = _fin(val, k0 + np.int64(q), warm, offset, scale)


@njit(**_JIT)
def _col_todprof(j, ops, fprm, st, bb, out, n, i0, m, k0):
    """Mean of x over the window / mean of x at this 5-minute time-of-day bucket on the earlier
    trading days of the segment. State: (C, N) + ring, then today's and earlier days' bucket
    sums and counts (4 x 288)."""
    off = ops[j, O_OFF]
    mask = ops[j, O_MASK]
    w = ops[j, O_W]
    a = _o(ops[j, O_A])
    oj = np.uint64(j * n + i0)
    minn = ops[j, O_MINN]
    warm = ops[j, O_WARM]
    offset = fprm[j, F_OFFSET]
    scale = fprm[j, F_SCALE]
    r = off + 2
    prof = r + 2 * (mask + 1)
    ts = prof
    tn = prof + N_TOD
    cs = prof + 2 * N_TOD
    cn = prof + 3 * N_TOD
    for q in range(m):
        p = _UP0 + q
        k = k0 + np.int64(q)
        if bb[_o(B_NEWDAY) + p] == 1.0:
            for t in range(N_TOD):
                st[cs + t] += st[ts + t]
                st[cn + t] += st[tn + t]
                st[ts + t] = 0.0
                st[tn + t] = 0.0
        bucket = int(bb[_o(B_TOD) + p]) // TOD_BUCKET_S
        x = bb[a + p]
        if _finite(x):
            st[ts + bucket] += x
            st[tn + bucket] += 1.0
            st[off] += x
            st[off + 1] += 1.0
        s = r + 2 * (k & mask)
        st[s] = st[off]
        st[s + 1] = st[off + 1]
        sw = st[off]
        n = st[off + 1]
        if k >= w:
            o = r + 2 * ((k - w) & mask)
            sw = st[off] - st[o]
            n = st[off + 1] - st[o + 1]
        v = NAN
        if n >= minn and n > 0.0 and st[cn + bucket] > 0.0:
            prof_mean = st[cs + bucket] / st[cn + bucket]
            if prof_mean > 0.0:
                v = sw / n / prof_mean
        out[oj + q] = _fin(v, k, warm, offset, scale)


@njit(**_JIT)
def _col_regime(j, ops, fprm, st, bb, out, n, i0, m, k0):
    """z of ``log(mean_w(x) + F_C)`` against its EWMA mean/variance (alpha F_D) before this tick:
    the z itself (mode 0) or its tercile bucket 0/1/2 (mode 1). The EWMA takes full windows
    only; NaN until it has w2 updates.
    State: (C, N), (m, v, updates), ring."""
    off = ops[j, O_OFF]
    mask = ops[j, O_MASK]
    w = ops[j, O_W]
    a = _o(ops[j, O_A])
    oj = np.uint64(j * n + i0)
    mode = ops[j, O_MODE]
    min_upd = ops[j, O_W2]
    minn = ops[j, O_MINN]
    warm = ops[j, O_WARM]
    c = fprm[j, F_C]
    alpha = fprm[j, F_D]
    offset = fprm[j, F_OFFSET]
    scale = fprm[j, F_SCALE]
    for q in range(m):
        p = _UP0 + q
        k = k0 + np.int64(q)
        x = bb[a + p]
        if _finite(x):
            st[off] += x
            st[off + 1] += 1.0
        s = off + 5 + 2 * (k & mask)
        st[s] = st[off]
        st[s + 1] = st[off + 1]
        val = NAN
        if k >= w:
            o = off + 5 + 2 * ((k - w) & mask)
            sm = st[off] - st[o]
            n = st[off + 1] - st[o + 1]
            if n >= minn and n > 0.0:
                arg = sm / n + c
                if arg > 0.0:
                    lv = _ln(arg)
                    mean = st[off + 2]
                    var = st[off + 3]
                    upd = st[off + 4]
                    if upd >= min_upd and var > 0.0:
                        z = (lv - mean) / math.sqrt(var)
                        if mode == 0:
                            val = z
                        else:
                            val = 0.0 if z < -_TERCILE_Z else (2.0 if z > _TERCILE_Z else 1.0)
                    if upd == 0.0:
                        st[off + 2] = lv
                        st[off + 3] = 0.0
                    else:
                        d = lv - mean
                        st[off + 2] = mean + alpha * d
                        st[off + 3] = (1.0 - alpha) * (var + alpha * d * d)
                    st[off + 4] = upd + 1.0
        out[oj + q] = _fin(val, k, warm, offset, scale)


@njit(**_JIT)
def _col_realspread(j, ops, fprm, st, bb, out, n, i0, m, k0):
    """Mean over the window of the trade terms known ``h`` ticks after each trade:
    realized spread ``2 s (p - mid[t]) / m`` (mode 0) or price impact ``2 s (mid[t] - m) / m``
    (mode 1), with s, p, m the sign, price and prevailing mid of the trade at t-h (bps).
    State: (C, N) + ring, lag ring of (s, p, m)."""
    off = ops[j, O_OFF]
    mask = ops[j, O_MASK]
    mask2 = ops[j, O_MASK2]
    w = ops[j, O_W]
    h = ops[j, O_W2]
    oj = np.uint64(j * n + i0)
    mode = ops[j, O_MODE]
    minn = ops[j, O_MINN]
    warm = ops[j, O_WARM]
    offset = fprm[j, F_OFFSET]
    scale = fprm[j, F_SCALE]
    r = off + 2
    lr = r + 2 * (mask + 1)
    for q in range(m):
        p = _UP0 + q
        k = k0 + np.int64(q)
        s = lr + 3 * (k & mask2)
        st[s] = bb[_o(B_SIGN) + p]
        st[s + 1] = bb[_o(B_TRADEPX) + p]
        st[s + 2] = bb[_o(B_MIDPREV) + p]
        term = NAN
        if k >= h:
            o = lr + 3 * ((k - h) & mask2)
            s0 = st[o]
            p0 = st[o + 1]
            m0 = st[o + 2]
            mid = bb[_o(B_MID) + p]
            if _finite(s0) and _finite(p0) and _finite(mid) and m0 > 0.0:
                if mode == 0:
                    term = 2.0 * s0 * (p0 - mid) / m0 * 1e4
                else:
                    term = 2.0 * s0 * (mid - m0) / m0 * 1e4
        if _finite(term):
            st[off] += term
            st[off + 1] += 1.0
        s = r + 2 * (k & mask)
        st[s] = st[off]
        st[s + 1] = st[off + 1]
        sm = st[off]
        n = st[off + 1]
        if k >= w:
            o = r + 2 * ((k - w) & mask)
            sm = st[off] - st[o]
            n = st[off + 1] - st[o + 1]
        v = NAN
        if n >= minn and n > 0.0:
            v = sm / n
        out[oj + q] = _fin(v, k, warm, offset, scale)


@njit(**_JIT)
def _col_age(j, ops, fprm, st, bb, out, n, i0, m, k0):
    """Seconds of trading time since x was last 1 (NaN until it first is). State: (age, seen)."""
    off = ops[j, O_OFF]
    a = _o(ops[j, O_A])
    oj = np.uint64(j * n + i0)
    warm = ops[j, O_WARM]
    offset = fprm[j, F_OFFSET]
    scale = fprm[j, F_SCALE]
    age = st[off]
    seen = st[off + 1]
    for q in range(m):
        p = _UP0 + q
        x = bb[a + p]
        if x == 1.0:
            age = 0.0
            seen = 1.0
        elif seen == 1.0:
            d = bb[_o(B_DT) + p]
            if _finite(d):
                age += d
        v = age if seen != 0.0 else NAN
        out[oj + q] = _fin(v, k0 + np.int64(q), warm, offset, scale)
    st[off] = age
    st[off + 1] = seen


@njit(**_JIT)
def _col_daymean(j, ops, fprm, st, bb, out, n, i0, m, k0):
    """Mean of x since the trading day's first tick in the segment (mode 0) or over the
    previous trading day of the segment (mode 1). State: (S, N, previous mean, has previous)."""
    off = ops[j, O_OFF]
    a = _o(ops[j, O_A])
    oj = np.uint64(j * n + i0)
    mode = ops[j, O_MODE]
    minn = ops[j, O_MINN]
    warm = ops[j, O_WARM]
    offset = fprm[j, F_OFFSET]
    scale = fprm[j, F_SCALE]
    for q in range(m):
        p = _UP0 + q
        k = k0 + np.int64(q)
        if bb[_o(B_NEWDAY) + p] == 1.0:
            if k > 0 and st[off + 1] > 0.0:
                st[off + 2] = st[off] / st[off + 1]
                st[off + 3] = 1.0
            else:
                st[off + 3] = 0.0
            st[off] = 0.0
            st[off + 1] = 0.0
        x = bb[a + p]
        if _finite(x):
            st[off] += x
            st[off + 1] += 1.0
        v = NAN
        if mode == 0:
            if st[off + 1] >= minn and st[off + 1] > 0.0:
                v = st[off] / st[off + 1]
        elif st[off + 3] != 0.0:
            v = st[off + 2]
        out[oj + q] = _fin(v, k, warm, offset, scale)


# =============================================================================================
# the driver
# =============================================================================================
@njit(**_JIT)
def _run_series(m, k0, flags, gprm, pstate, bb, ib, tb):
    """The series kernels of the plan over one block."""
    if flags[S_MID] != 0:
        _sk_mid(m, gprm, bb)
    if flags[S_LOGMID] != 0:
        _sk_logmid(m, bb)
    if flags[S_RET] != 0:
        _sk_ret(m, gprm, bb)
    if flags[S_TRADE] != 0:
        _sk_trade(m, k0, gprm, pstate, bb, ib, tb)
    if flags[S_LOGDVOL] != 0:
        _sk_logdvol(m, bb)
    if flags[S_QUOTE] != 0:
        _sk_quote(m, bb)
    if flags[S_MISC] != 0:
        _sk_misc(m, k0, bb, ib)
    if flags[S_CLOCK] != 0:
        _sk_clock(m, bb, ib)
    if flags[S_LOTS] != 0:
        _sk_lots(m, bb)
    if flags[S_DEPTH] != 0:
        _sk_depth(m, bb)
    if flags[S_LEVELS] != 0:
        _sk_levels(m, bb)
    if flags[S_SHAPE] != 0:
        _sk_shape(m, bb)
    if flags[S_LOGDEP] != 0:
        _sk_logdep(m, bb)
    if flags[S_WMID] != 0:
        _sk_wmid(m, gprm, bb)
    if flags[S_SLOPE] != 0:
        _sk_slope(m, gprm, bb)
    if flags[S_BOOK] != 0:
        _sk_book(m, gprm, bb)
    if flags[S_OFI] != 0:
        _sk_ofi(m, k0, bb)
    if flags[S_DYN] != 0:
        _sk_dyn(m, k0, gprm, bb)
    if flags[S_X] != 0:
        _sk_x(m, k0, bb)


@njit(**_JIT)
def _run_ops(ops, fprm, st, bb, tb, out, n, i0, m, k0, Xf, pf0, pf1):
    """Every op of the plan over one block (ticks i0 .. i0+m-1 of n). Between ops it prefetches
    the flat raw values ``Xf[pf0:pf1]`` (the next block's rows), a share per op, so that memory
    reads overlap the ops' arithmetic instead of stalling the next block's gather."""
    nops = ops.shape[0]
    for j in range(nops):
        if pf1 > pf0:
            for c in range(pf0 + (pf1 - pf0) * j // nops, pf0 + (pf1 - pf0) * (j + 1) // nops, 8):
                _prefetch(Xf, c)
        kind = ops[j, O_KIND]
        if kind == K_VALUE:
            _col_value(j, ops, fprm, bb, out, n, i0, m, k0)
        elif kind == K_LAG:
            _col_lag(j, ops, fprm, st, bb, tb, out, n, i0, m, k0)
        elif kind == K_SUM:
            _col_sum(j, ops, fprm, st, bb, tb, out, n, i0, m, k0)
        elif kind == K_RATIO:
            _col_ratio(j, ops, fprm, st, bb, tb, out, n, i0, m, k0)
        elif kind == K_MOVE:
            _col_move(j, ops, fprm, st, bb, tb, out, n, i0, m, k0)
        elif kind == K_MEANRATIO:
            _col_meanratio(j, ops, fprm, st, bb, tb, out, n, i0, m, k0)
        elif kind == K_MOMENTS:
            _col_moments(j, ops, fprm, st, bb, tb, out, n, i0, m, k0)
        elif kind == K_RANGE:
            _col_range(j, ops, fprm, st, bb, out, n, i0, m, k0)
        elif kind == K_EMAGAP:
            _col_emagap(j, ops, fprm, st, bb, out, n, i0, m, k0)
        elif kind == K_VPIN:
            _col_vpin(j, ops, fprm, st, bb, out, n, i0, m, k0)
        elif kind == K_TODPROF:
            _col_todprof(j, ops, fprm, st, bb, out, n, i0, m, k0)
        elif kind == K_REGIME:
            _col_regime(j, ops, fprm, st, bb, out, n, i0, m, k0)
        elif kind == K_REALSPREAD:
            _col_realspread(j, ops, fprm, st, bb, out, n, i0, m, k0)
        elif kind == K_AGE:
            _col_age(j, ops, fprm, st, bb, out, n, i0, m, k0)
        else:
            _col_daymean(j, ops, fprm, st, bb, out, n, i0, m, k0)


@njit(**_JIT)
def _carry(m, bb, ib):
    """Position P0 - 1 takes the block's last tick: raw columns, extras, carried series, clock."""
    last = _UP0 + m - _U1
    prev = _UP0 - _U1
    for r in range(R_RAW, N_BROWS):
        bb[_o(r) + prev] = bb[_o(r) + last]
    for r in _CARRIED:
        bb[_o(r) + prev] = bb[_o(r) + last]
    for r in range(N_IROWS):
        ib[_o(r) + prev] = ib[_o(r) + last]


@njit(**_JIT)
def _reset(seg_id, istate, pstate, state, bb):
    pstate[:] = 0.0
    state[:] = 0.0
    for r in _CARRIED:
        bb[_o(r) + _UP0 - _U1] = NAN
    istate[I_STARTED] = 1
    istate[I_NSEEN] = 0
    istate[I_SEG] = seg_id


@njit(**_JIT)
def run_ticks(X, Xi, day, seg, XE, ops, fprm, flags, gprm, istate, pstate, state, bb, ib, tb, out):
    """Advance the factor state over the rows of ``X`` and write one row of ``out`` per tick.

    ``X``: (n, 28) float64 view of TICK_DTYPE rows and ``Xi`` its int64 view (column 0 =
    datetime_ns); ``day``/``seg``: (n,) int64 trading-day key and segment id; ``XE``: (n, 3)
    other-asset mids (NaN when absent; (0, 3) when the plan reads none); ``ops`` (m, N_OCOL)
    int64 and ``fprm`` (m, N_FCOL) float64: the plan; ``flags``: (N_FLAGS,) int64, the series
    kernels and raw columns the plan needs; ``gprm``: (N_GPRM,) float64; carried state
    (mutated): ``istate``/``pstate``/``state`` and the block buffers ``bb`` (N_BROWS * LD),
    ``ib`` (N_IROWS * LD, int64); scratch: ``tb`` (N_TROWS * LD); ``out``: (n * m,) float64,
    the (n, m) output in column-major order (factor j of tick i at ``j * n + i``).
    """
    n = X.shape[0]
    Xf = X.reshape(-1)
    i = 0
    while i < n:
        if istate[I_STARTED] == 0 or seg[i] != istate[I_SEG]:
            _reset(seg[i], istate, pstate, state, bb)
        lim = min(n, i + BLOCK)
        e = i + 1
        while e < lim and seg[e] == seg[i]:
            e += 1
        m = np.uint64(e - i)
        k0 = istate[I_NSEEN]
        _gather(X, Xi, day, XE, i, m, flags, bb, ib)
        _run_series(m, k0, flags, gprm, pstate, bb, ib, tb)
        _run_ops(ops, fprm, state, bb, tb, out, n, i, m, k0, Xf, e * N_ROW, min(n, e + BLOCK) * N_ROW)
        _carry(m, bb, ib)
        istate[I_NSEEN] = k0 + (e - i)
        i = e
