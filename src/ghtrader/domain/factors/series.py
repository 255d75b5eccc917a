"""Base series: the per-tick quantities every factor is built from.

Each tick the kernels fill one value per base series (see ``_kernels._sk_*``). A base series
has a *group* (the series kernel that computes it; a plan runs only the kernels its factors
read, plus the kernels those read, see :data:`SERIES_KERNELS`), a *lookback* of 1 (a function
of the current tick) or 2 (also of the previous tick of the same segment: NaN on a segment's
first tick), the raw input columns it reads, and its exact definition.

Conventions used below: a book side at level i is *present* when its price > 0 and its volume
> 0 (NaN counts as absent; an absent side contributes 0 lots). ``mid = (bid1 + ask1) / 2`` needs
both level-1 sides present and ``ask1 >= bid1``. ``tick`` is the contract's price tick. Returns
are log returns in basis points (x 1e4). "prev" is the previous tick of the same segment.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from ghtrader.domain.factors import _kernels as K

__all__ = ["EXTRA_INPUTS", "SERIES", "SERIES_KERNELS", "BaseSeries", "kernel_closure"]

#: Optional extra inputs (as-of mids of the other varieties, aligned to this symbol's ticks).
EXTRA_INPUTS: tuple[str, ...] = ("cu_mid", "au_mid", "ag_mid")

_L1 = ("bid_price1", "bid_volume1", "ask_price1", "ask_volume1")
_L5 = tuple(f"{side}_{what}{i}" for i in range(1, 6) for side in ("bid", "ask") for what in ("price", "volume"))
_TRADE = ("volume", "amount", "average", "last_price", "trading_day")


@dataclass(frozen=True, slots=True)
class BaseSeries:
    """One per-tick series computed by the prep kernels."""

    name: str
    index: int
    group: str
    lookback: int
    inputs: tuple[str, ...]
    definition: str


def _s(name: str, index: int, group: str, lookback: int, inputs: tuple[str, ...], definition: str) -> BaseSeries:
    return BaseSeries(name, index, group, lookback, tuple(dict.fromkeys(inputs)), definition)


_DVOL = (
    "volume - prev volume within a trading day; on the first tick of a trading day its own "
    "cumulative volume (the feed's counter restarts each day); NaN on a segment's first tick, "
    "when either value is NaN, or when the difference is negative"
)
_PX = (
    "trade price of the tick: notional / dvol when dvol > 0 and the multiplier is known, else "
    "last_price when dvol > 0, else NaN"
)
_SIGN = (
    "trade sign in [-1, 1]: 0 when dvol == 0; when dvol > 0, clip((tradepx - prev mid) / "
    "(prev spread / 2), -1, 1), or the tick rule sign(tradepx - prev tradepx) when the previous "
    "quote is missing (0 when that is missing too)"
)

_ALL: tuple[BaseSeries, ...] = (
    _s("mid", K.B_MID, "mid", 1, _L1, "(bid_price1 + ask_price1) / 2"),
    _s("logmid", K.B_LOGMID, "logmid", 1, _L1, "ln(mid)"),
    _s("spread", K.B_SPREAD, "mid", 1, _L1, "(ask_price1 - bid_price1) / tick"),
    _s("rspread", K.B_RSPREAD, "quote", 1, _L1, "(ask_price1 - bid_price1) / mid * 1e4"),
    _s("dvol", K.B_DVOL, "trade", 2, ("volume", "trading_day"), _DVOL),
    _s(
        "damt_m",
        K.B_DAMT_M,
        "trade",
        2,
        ("amount", "trading_day"),
        "turnover difference (same rule as dvol) / 1e6, CNY millions",
    ),
    _s(
        "notional",
        K.B_NOTIONAL,
        "trade",
        2,
        _TRADE,
        "turnover difference / multiplier (price x lots); the multiplier is the engine's "
        "`multiplier` or, when not given, amount / (volume * average) of the latest tick where "
        "all three are > 0",
    ),
    _s("tradepx", K.B_TRADEPX, "trade", 2, _TRADE, _PX),
    _s("midprev", K.B_MIDPREV, "returns", 2, _L1, "prev mid"),
    _s("ret", K.B_RET, "returns", 2, _L1, "(ln mid - ln prev mid) * 1e4"),
    _s("absret", K.B_ABSRET, "returns", 2, _L1, "|ret|"),
    _s("ret2", K.B_RET2, "returns", 2, _L1, "ret^2 (bps^2)"),
    _s("dmid", K.B_DMID, "returns", 2, _L1, "(mid - prev mid) / tick"),
    _s("sign", K.B_SIGN, "trade", 2, (*_TRADE, *_L1), _SIGN),
    _s("q", K.B_Q, "trade", 2, (*_TRADE, *_L1), "sign * dvol (signed traded lots)"),
    _s("eff", K.B_EFF, "trade", 2, (*_TRADE, *_L1), "2 |tradepx - prev mid| / prev mid * 1e4 (NaN without a trade)"),
    *(
        _s(
            f"imb{i}",
            K.B_IMB1 + i - 1,
            "mid" if i == 1 else "levels",
            1,
            (f"bid_price{i}", f"bid_volume{i}", f"ask_price{i}", f"ask_volume{i}"),
            f"(bid_volume{i} - ask_volume{i}) / (bid_volume{i} + ask_volume{i}) (NaN when both sides are absent)",
        )
        for i in range(1, 6)
    ),
    *(
        _s(
            f"dep{i}",
            K.B_DEP1 + i - 1,
            "mid" if i == 1 else "levels",
            1,
            (f"bid_price{i}", f"bid_volume{i}", f"ask_price{i}", f"ask_volume{i}"),
            f"bid_volume{i} + ask_volume{i} (lots)",
        )
        for i in range(1, 6)
    ),
    *(
        _s(
            f"hdep{i}",
            K.B_HDEP1 + i - 1,
            "mid" if i == 1 else "ofi",
            1,
            (f"bid_price{i}", f"bid_volume{i}", f"ask_price{i}", f"ask_volume{i}"),
            f"(bid_volume{i} + ask_volume{i}) / 2 (lots)",
        )
        for i in range(1, 6)
    ),
    *(
        _s(
            f"ofi{i}",
            K.B_OFI1 + i - 1,
            "ofi",
            2,
            (f"bid_price{i}", f"bid_volume{i}", f"ask_price{i}", f"ask_volume{i}"),
            f"order-flow imbalance at level {i} (Cont et al.; Xu et al. multi-level): "
            f"e_b - e_a with e_b = [b >= b'] bv - [b <= b'] bv', e_a = [a <= a'] av - [a >= a'] av', "
            f"b/a/bv/av the level-{i} bid/ask price/volume, primes for prev; NaN unless all four "
            "sides are present",
        )
        for i in range(1, 6)
    ),
    _s(
        "micro",
        K.B_MICRO,
        "mid",
        1,
        _L1,
        "((ask1 * bid_volume1 + bid1 * ask_volume1) / (bid_volume1 + ask_volume1) - mid) / tick",
    ),
    _s("lastpos", K.B_LASTPOS, "quote", 1, ("last_price", *_L1), "(last_price - bid1) / (ask1 - bid1)"),
    _s(
        "vwapdev_day",
        K.B_VWAPDEV_DAY,
        "quote",
        1,
        ("average", *_L1),
        "(mid / average - 1) * 1e4 (average = the day's VWAP)",
    ),
    _s("logdvol", K.B_LOGDVOL, "logdvol", 2, ("volume", "trading_day"), "ln(1 + dvol)"),
    _s(
        "dt",
        K.B_DT,
        "misc",
        2,
        ("datetime_ns",),
        f"seconds since prev tick; NaN when over {K.MAX_DT_S:g} s (a session break)",
    ),
    _s("l1chg", K.B_L1CHG, "misc", 2, _L1, "1 when the bid1 or ask1 price (or its presence) differs from prev, else 0"),
    _s("midchg", K.B_MIDCHG, "returns", 2, _L1, "1 when mid != prev mid, else 0"),
    _s("oi", K.B_OI, "misc", 1, ("open_interest",), "open_interest"),
    _s("doi", K.B_DOI, "misc", 2, ("open_interest",), "open_interest - prev open_interest"),
    _s("tod", K.B_TOD, "clock", 1, ("datetime_ns",), "Beijing (UTC+8) time of day, seconds"),
    _s("tod_sin", K.B_TOD_SIN, "clock", 1, ("datetime_ns",), "sin(2 pi tod / 86400)"),
    _s("tod_cos", K.B_TOD_COS, "clock", 1, ("datetime_ns",), "cos(2 pi tod / 86400)"),
    _s("one", K.B_ONE, "misc", 1, (), "1"),
    _s(
        "newday",
        K.B_NEWDAY,
        "misc",
        2,
        ("trading_day",),
        "1 on the first tick of a trading day (and of a segment), else 0",
    ),
    _s(
        "imbc3", K.B_IMBC3, "depth", 1, _L5, "(sum_{i<=3} bv_i - sum_{i<=3} av_i) / (sum_{i<=3} bv_i + sum_{i<=3} av_i)"
    ),
    _s(
        "imbc5", K.B_IMBC5, "depth", 1, _L5, "(sum_{i<=5} bv_i - sum_{i<=5} av_i) / (sum_{i<=5} bv_i + sum_{i<=5} av_i)"
    ),
    _s("imbdw", K.B_IMBDW, "depth", 1, _L5, "sum_i (bv_i - av_i) / i / sum_i (bv_i + av_i) / i"),
    _s(
        "wmid5",
        K.B_WMID5,
        "wmid",
        1,
        _L5,
        "(sum_i (bid_i av_i + ask_i bv_i) / sum_i (bv_i + av_i) - mid) / tick, over levels with both sides present",
    ),
    _s(
        "bpress",
        K.B_BPRESS,
        "book",
        1,
        _L5,
        "(P_b - P_a) / (P_b + P_a), P_b = sum_i bv_i / ((mid - bid_i) / tick), P_a = sum_i av_i / ((ask_i - mid) / tick)",
    ),
    _s("depb5", K.B_DEPB5, "depth", 1, _L5, "sum_{i<=5} bv_i (lots)"),
    _s("depa5", K.B_DEPA5, "depth", 1, _L5, "sum_{i<=5} av_i (lots)"),
    _s("logdep5", K.B_LOGDEP5, "logdepth", 1, _L5, "ln(1 + depb5 + depa5)"),
    _s(
        "slope_b",
        K.B_SLOPE_B,
        "slope",
        1,
        _L5,
        "least-squares slope of cumulative bid depth D_i = sum_{m<=i} bv_m on distance (mid - bid_i) / tick over present bid levels (>= 2), lots per tick",
    ),
    _s("slope_a", K.B_SLOPE_A, "slope", 1, _L5, "as slope_b on the ask side with distance (ask_i - mid) / tick"),
    _s("slope_imb", K.B_SLOPE_IMB, "slope", 1, _L5, "(slope_b - slope_a) / (slope_b + slope_a)"),
    _s("curv_b", K.B_CURV_B, "shape", 1, _L5, "(bv_1 - 2 bv_3 + bv_5) / sum_i bv_i"),
    _s("curv_a", K.B_CURV_A, "shape", 1, _L5, "(av_1 - 2 av_3 + av_5) / sum_i av_i"),
    _s("conc_b", K.B_CONC_B, "shape", 1, _L5, "sum_i bv_i^2 / (sum_i bv_i)^2 (Herfindahl index of bid depth)"),
    _s("conc_a", K.B_CONC_A, "shape", 1, _L5, "sum_i av_i^2 / (sum_i av_i)^2"),
    _s("topshare", K.B_TOPSHARE, "shape", 1, _L5, "(bv_1 + av_1) / (depb5 + depa5)"),
    _s("gap_b", K.B_GAP_B, "book", 1, _L5, "(first present bid - last present bid) / tick / (present bid levels - 1)"),
    _s("gap_a", K.B_GAP_A, "book", 1, _L5, "(last present ask - first present ask) / tick / (present ask levels - 1)"),
    _s("ofisum", K.B_OFISUM, "ofi", 2, _L5, "sum of ofi_i over the levels where it is defined (NaN when none)"),
    _s("hdepsum", K.B_HDEPSUM, "ofi", 2, _L5, "sum of hdep_i over the same levels as ofisum"),
    _s(
        "arr",
        K.B_ARR,
        "dynamics",
        2,
        (*_L5, "volume", "trading_day"),
        "lots added to the book between prev and this snapshot: per side, over prices both snapshots "
        "can see (bids at or above the higher of the two deepest visible bids; asks symmetrically), "
        "sum of max(v - v', 0) with a missing price counting 0 lots",
    ),
    _s(
        "can",
        K.B_CAN,
        "dynamics",
        2,
        (*_L5, *_TRADE),
        "lots cancelled: per side, removed lots (sum of max(v' - v, 0) on the same prices) minus "
        "the traded lots that hit that side (dvol (1 - sign) / 2 on the bid, dvol (1 + sign) / 2 on "
        "the ask), floored at 0",
    ),
    _s("arrdiff", K.B_ARRDIFF, "dynamics", 2, (*_L5, "volume", "trading_day"), "bid-side minus ask-side added lots"),
    *(
        _s(f"xlog_{v}", K.B_XLOG + m, "cross", 1, (f"{v}_mid",), f"ln({v}_mid)")
        for m, v in enumerate(("cu", "au", "ag"))
    ),
    *(
        _s(f"xret_{v}", K.B_XRET + m, "cross", 2, (f"{v}_mid",), f"(ln {v}_mid - ln prev {v}_mid) * 1e4")
        for m, v in enumerate(("cu", "au", "ag"))
    ),
    *(
        _s(f"xspr_{v}", K.B_XSPR + m, "cross", 1, (f"{v}_mid", *_L1), f"(ln mid - ln {v}_mid) * 1e4")
        for m, v in enumerate(("cu", "au", "ag"))
    ),
)

#: Base series by name.
SERIES: MappingProxyType[str, BaseSeries] = MappingProxyType({s.name: s for s in _ALL})

#: Series kernels by name: their flag in the plan, the kernels whose series they read and the
#: raw-column flags they need, in the order the driver runs them ("lots", the lots per book level
#: and side, computes no public series).
SERIES_KERNELS: MappingProxyType[str, tuple[int, tuple[str, ...], tuple[int, ...]]] = MappingProxyType(
    {
        "mid": (K.S_MID, (), (K.F_L1,)),
        "logmid": (K.S_LOGMID, ("mid",), ()),
        "returns": (K.S_RET, ("mid", "logmid"), ()),
        "trade": (K.S_TRADE, ("mid",), (K.F_TRADE, K.F_DAY)),
        "logdvol": (K.S_LOGDVOL, ("trade",), ()),
        "quote": (K.S_QUOTE, ("mid",), (K.F_L1, K.F_TRADE)),
        "misc": (K.S_MISC, (), (K.F_L1, K.F_OI, K.F_DT, K.F_DAY)),
        "clock": (K.S_CLOCK, (), (K.F_DT,)),
        "lots": (K.S_LOTS, (), (K.F_L1, K.F_L5)),
        "depth": (K.S_DEPTH, ("lots",), ()),
        "levels": (K.S_LEVELS, ("lots",), ()),
        "shape": (K.S_SHAPE, ("lots",), ()),
        "logdepth": (K.S_LOGDEP, ("depth",), ()),
        "wmid": (K.S_WMID, ("mid", "lots"), ()),
        "slope": (K.S_SLOPE, ("mid", "lots"), ()),
        "book": (K.S_BOOK, ("mid", "lots"), ()),
        "ofi": (K.S_OFI, ("lots",), ()),
        "dynamics": (K.S_DYN, ("trade",), (K.F_L1, K.F_L5)),
        "cross": (K.S_X, ("logmid",), ()),
    }
)


def kernel_closure(series: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The series kernels that compute ``series`` and those they read, in run order."""
    need: set[str] = set()
    todo = [SERIES[s].group for s in series]
    while todo:
        g = todo.pop()
        if g not in need:
            need.add(g)
            todo.extend(SERIES_KERNELS[g][1])
    return tuple(sorted(need, key=lambda g: SERIES_KERNELS[g][0]))
