"""Base series: the per-tick quantities every factor is built from.

Each tick the kernel fills one value per base series (see ``_kernels._prep_*``). A base series
has a *group* (which prep step computes it: ``l1`` always runs; ``clock``, ``depth``, ``ofi``,
``dyn`` and ``x`` run only when a selected factor needs them), a *lookback* of 1 (a function of the current
tick) or 2 (also of the previous tick of the same segment: NaN on a segment's first tick), the
raw input columns it reads, and its exact definition.

Conventions used below: a book side at level i is *present* when its price > 0 and its volume
> 0 (NaN counts as absent; an absent side contributes 0 lots). ``mid = (bid1 + ask1) / 2`` needs
both level-1 sides present and ``ask1 >= bid1``. ``tick`` is the contract's price tick. Returns
are log returns in basis points (x 1e4). "prev" is the previous tick of the same segment.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from ghtrader.domain.factors import _kernels as K

__all__ = ["EXTRA_INPUTS", "SERIES", "BaseSeries", "series_group_flag"]

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
    _s("mid", K.B_MID, "l1", 1, _L1, "(bid_price1 + ask_price1) / 2"),
    _s("logmid", K.B_LOGMID, "l1", 1, _L1, "ln(mid)"),
    _s("spread", K.B_SPREAD, "l1", 1, _L1, "(ask_price1 - bid_price1) / tick"),
    _s("rspread", K.B_RSPREAD, "l1", 1, _L1, "(ask_price1 - bid_price1) / mid * 1e4"),
    _s("dvol", K.B_DVOL, "l1", 2, ("volume", "trading_day"), _DVOL),
    _s("damt_m", K.B_DAMT_M, "l1", 2, ("amount", "trading_day"), "turnover difference (same rule as dvol) / 1e6, CNY millions"),
    _s(
        "notional", K.B_NOTIONAL, "l1", 2, _TRADE,
        "turnover difference / multiplier (price x lots); the multiplier is the engine's "
        "`multiplier` or, when not given, amount / (volume * average) of the latest tick where "
        "all three are > 0",
    ),
    _s("tradepx", K.B_TRADEPX, "l1", 2, _TRADE, _PX),
    _s("midprev", K.B_MIDPREV, "l1", 2, _L1, "prev mid"),
    _s("ret", K.B_RET, "l1", 2, _L1, "(ln mid - ln prev mid) * 1e4"),
    _s("absret", K.B_ABSRET, "l1", 2, _L1, "|ret|"),
    _s("ret2", K.B_RET2, "l1", 2, _L1, "ret^2 (bps^2)"),
    _s("dmid", K.B_DMID, "l1", 2, _L1, "(mid - prev mid) / tick"),
    _s("sign", K.B_SIGN, "l1", 2, (*_TRADE, *_L1), _SIGN),
    _s("q", K.B_Q, "l1", 2, (*_TRADE, *_L1), "sign * dvol (signed traded lots)"),
    _s("eff", K.B_EFF, "l1", 2, (*_TRADE, *_L1), "2 |tradepx - prev mid| / prev mid * 1e4 (NaN without a trade)"),
    *(
        _s(
            f"imb{i}", K.B_IMB1 + i - 1, "l1" if i == 1 else "depth", 1,
            (f"bid_price{i}", f"bid_volume{i}", f"ask_price{i}", f"ask_volume{i}"),
            f"(bid_volume{i} - ask_volume{i}) / (bid_volume{i} + ask_volume{i}) (NaN when both sides are absent)",
        )
        for i in range(1, 6)
    ),
    *(
        _s(
            f"dep{i}", K.B_DEP1 + i - 1, "l1" if i == 1 else "depth", 1,
            (f"bid_price{i}", f"bid_volume{i}", f"ask_price{i}", f"ask_volume{i}"),
            f"bid_volume{i} + ask_volume{i} (lots)",
        )
        for i in range(1, 6)
    ),
    *(
        _s(
            f"hdep{i}", K.B_HDEP1 + i - 1, "l1" if i == 1 else "ofi", 1,
            (f"bid_price{i}", f"bid_volume{i}", f"ask_price{i}", f"ask_volume{i}"),
            f"(bid_volume{i} + ask_volume{i}) / 2 (lots)",
        )
        for i in range(1, 6)
    ),
    *(
        _s(
            f"ofi{i}", K.B_OFI1 + i - 1, "l1" if i == 1 else "ofi", 2,
            (f"bid_price{i}", f"bid_volume{i}", f"ask_price{i}", f"ask_volume{i}"),
            f"order-flow imbalance at level {i} (Cont et al.; Xu et al. multi-level): "
            f"e_b - e_a with e_b = [b >= b'] bv - [b <= b'] bv', e_a = [a <= a'] av - [a >= a'] av', "
            f"b/a/bv/av the level-{i} bid/ask price/volume, primes for prev; NaN unless all four "
            "sides are present",
        )
        for i in range(1, 6)
    ),
    _s("micro", K.B_MICRO, "l1", 1, _L1, "((ask1 * bid_volume1 + bid1 * ask_volume1) / (bid_volume1 + ask_volume1) - mid) / tick"),
    _s("lastpos", K.B_LASTPOS, "l1", 1, ("last_price", *_L1), "(last_price - bid1) / (ask1 - bid1)"),
    _s("vwapdev_day", K.B_VWAPDEV_DAY, "l1", 1, ("average", *_L1), "(mid / average - 1) * 1e4 (average = the day's VWAP)"),
    _s("logdvol", K.B_LOGDVOL, "l1", 2, ("volume", "trading_day"), "ln(1 + dvol)"),
    _s("dt", K.B_DT, "l1", 2, ("datetime_ns",), f"seconds since prev tick; NaN when over {K.MAX_DT_S:g} s (a session break)"),
    _s("l1chg", K.B_L1CHG, "l1", 2, _L1, "1 when the bid1 or ask1 price (or its presence) differs from prev, else 0"),
    _s("midchg", K.B_MIDCHG, "l1", 2, _L1, "1 when mid != prev mid, else 0"),
    _s("oi", K.B_OI, "l1", 1, ("open_interest",), "open_interest"),
    _s("doi", K.B_DOI, "l1", 2, ("open_interest",), "open_interest - prev open_interest"),
    _s("tod", K.B_TOD, "clock", 1, ("datetime_ns",), "Beijing (UTC+8) time of day, seconds"),
    _s("tod_sin", K.B_TOD_SIN, "clock", 1, ("datetime_ns",), "sin(2 pi tod / 86400)"),
    _s("tod_cos", K.B_TOD_COS, "clock", 1, ("datetime_ns",), "cos(2 pi tod / 86400)"),
    _s("one", K.B_ONE, "l1", 1, (), "1"),
    _s("newday", K.B_NEWDAY, "l1", 2, ("trading_day",), "1 on the first tick of a trading day (and of a segment), else 0"),
    _s("imbc3", K.B_IMBC3, "depth", 1, _L5, "(sum_{i<=3} bv_i - sum_{i<=3} av_i) / (sum_{i<=3} bv_i + sum_{i<=3} av_i)"),
    _s("imbc5", K.B_IMBC5, "depth", 1, _L5, "(sum_{i<=5} bv_i - sum_{i<=5} av_i) / (sum_{i<=5} bv_i + sum_{i<=5} av_i)"),
    _s("imbdw", K.B_IMBDW, "depth", 1, _L5, "sum_i (bv_i - av_i) / i / sum_i (bv_i + av_i) / i"),
    _s(
        "wmid5", K.B_WMID5, "depth", 1, _L5,
        "(sum_i (bid_i av_i + ask_i bv_i) / sum_i (bv_i + av_i) - mid) / tick, over levels with both sides present",
    ),
    _s(
        "bpress", K.B_BPRESS, "depth", 1, _L5,
        "(P_b - P_a) / (P_b + P_a), P_b = sum_i bv_i / ((mid - bid_i) / tick), P_a = sum_i av_i / ((ask_i - mid) / tick)",
    ),
    _s("depb5", K.B_DEPB5, "depth", 1, _L5, "sum_{i<=5} bv_i (lots)"),
    _s("depa5", K.B_DEPA5, "depth", 1, _L5, "sum_{i<=5} av_i (lots)"),
    _s("logdep5", K.B_LOGDEP5, "depth", 1, _L5, "ln(1 + depb5 + depa5)"),
    _s(
        "slope_b", K.B_SLOPE_B, "depth", 1, _L5,
        "least-squares slope of cumulative bid depth D_i = sum_{m<=i} bv_m on distance (mid - bid_i) / tick over present bid levels (>= 2), lots per tick",
    ),
    _s("slope_a", K.B_SLOPE_A, "depth", 1, _L5, "as slope_b on the ask side with distance (ask_i - mid) / tick"),
    _s("slope_imb", K.B_SLOPE_IMB, "depth", 1, _L5, "(slope_b - slope_a) / (slope_b + slope_a)"),
    _s("curv_b", K.B_CURV_B, "depth", 1, _L5, "(bv_1 - 2 bv_3 + bv_5) / sum_i bv_i"),
    _s("curv_a", K.B_CURV_A, "depth", 1, _L5, "(av_1 - 2 av_3 + av_5) / sum_i av_i"),
    _s("conc_b", K.B_CONC_B, "depth", 1, _L5, "sum_i bv_i^2 / (sum_i bv_i)^2 (Herfindahl index of bid depth)"),
    _s("conc_a", K.B_CONC_A, "depth", 1, _L5, "sum_i av_i^2 / (sum_i av_i)^2"),
    _s("topshare", K.B_TOPSHARE, "depth", 1, _L5, "(bv_1 + av_1) / (depb5 + depa5)"),
    _s("gap_b", K.B_GAP_B, "depth", 1, _L5, "(first present bid - last present bid) / tick / (present bid levels - 1)"),
    _s("gap_a", K.B_GAP_A, "depth", 1, _L5, "(last present ask - first present ask) / tick / (present ask levels - 1)"),
    _s("ofisum", K.B_OFISUM, "ofi", 2, _L5, "sum of ofi_i over the levels where it is defined (NaN when none)"),
    _s("hdepsum", K.B_HDEPSUM, "ofi", 2, _L5, "sum of hdep_i over the same levels as ofisum"),
    _s(
        "arr", K.B_ARR, "dyn", 2, (*_L5, "volume", "trading_day"),
        "lots added to the book between prev and this snapshot: per side, over prices both snapshots "
        "can see (bids at or above the higher of the two deepest visible bids; asks symmetrically), "
        "sum of max(v - v', 0) with a missing price counting 0 lots",
    ),
    _s(
        "can", K.B_CAN, "dyn", 2, (*_L5, *_TRADE),
        "lots cancelled: per side, removed lots (sum of max(v' - v, 0) on the same prices) minus "
        "the traded lots that hit that side (dvol (1 - sign) / 2 on the bid, dvol (1 + sign) / 2 on "
        "the ask), floored at 0",
    ),
    _s("arrdiff", K.B_ARRDIFF, "dyn", 2, (*_L5, "volume", "trading_day"), "bid-side minus ask-side added lots"),
    *(
        _s(f"xlog_{v}", K.B_XLOG + m, "x", 1, (f"{v}_mid",), f"ln({v}_mid)")
        for m, v in enumerate(("cu", "au", "ag"))
    ),
    *(
        _s(f"xret_{v}", K.B_XRET + m, "x", 2, (f"{v}_mid",), f"(ln {v}_mid - ln prev {v}_mid) * 1e4")
        for m, v in enumerate(("cu", "au", "ag"))
    ),
    *(
        _s(f"xspr_{v}", K.B_XSPR + m, "x", 1, (f"{v}_mid", *_L1), f"(ln mid - ln {v}_mid) * 1e4")
        for m, v in enumerate(("cu", "au", "ag"))
    ),
)

#: Base series by name.
SERIES: MappingProxyType[str, BaseSeries] = MappingProxyType({s.name: s for s in _ALL})

_GROUP_FLAGS = {"l1": None, "clock": K.G_CLOCK, "depth": K.G_DEPTH, "ofi": K.G_OFI, "dyn": K.G_DYN, "x": K.G_X}


def series_group_flag(name: str) -> int | None:
    """Index of the group flag that must be on for base series ``name`` (None for group l1)."""
    return _GROUP_FLAGS[SERIES[name].group]

