"""Book dynamics from snapshot differences: quote arrivals, cancellations, quote lifetime."""

from __future__ import annotations

from ghtrader.domain.factors.spec import FactorSpec, define

_G = "dynamics"

SPECS: tuple[FactorSpec, ...] = (
    define(
        "arrival_rate_50",
        _G,
        "ratio",
        ("arr", "dt"),
        window=50,
        unit="lots/s",
        formula="quote arrival rate: sum(arr) / sum(dt) over the last 50 ticks (arr = lots added at prices "
        "visible in both snapshots)",
    ),
    define(
        "cancel_rate_50",
        _G,
        "ratio",
        ("can", "dt"),
        window=50,
        unit="lots/s",
        formula="cancellation rate: sum(can) / sum(dt) over the last 50 ticks (can = lots removed minus the "
        "traded lots attributed to that side)",
    ),
    define(
        "cancel_ratio_50",
        _G,
        "ratio",
        ("can", "arr"),
        window=50,
        unit="1",
        formula="sum(can) / sum(arr) over the last 50 ticks",
    ),
    define(
        "arrival_imb_50",
        _G,
        "ratio",
        ("arrdiff", "arr"),
        window=50,
        unit="1",
        formula="(bid arrivals - ask arrivals) / all arrivals, summed over the last 50 ticks",
    ),
    define(
        "quote_age",
        _G,
        "age",
        "l1chg",
        unit="s",
        formula="seconds of trading time (gaps over 600 s skipped) since the bid1 or ask1 price last "
        "changed; NaN until the first change in the segment",
    ),
    define(
        "quote_life_50",
        _G,
        "ratio",
        ("dt", "l1chg"),
        window=50,
        c=1.0,
        unit="s",
        formula="mean best-quote lifetime: sum(dt) / max(number of bid1/ask1 price changes, 1) over the last 50 ticks",
    ),
    define(
        "tick_rate_50",
        _G,
        "ratio",
        ("one", "dt"),
        window=50,
        unit="ticks/s",
        formula="snapshot rate: ticks / sum(dt) over the last 50 ticks",
    ),
    define(
        "mid_chg_freq_100",
        _G,
        "sum",
        "midchg",
        window=100,
        mode="mean",
        unit="1",
        formula="share of the last 100 ticks whose mid differs from the previous tick's",
    ),
)
