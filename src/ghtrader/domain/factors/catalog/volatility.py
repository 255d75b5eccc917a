"""Volatility: realized variance, Parkinson, Garman-Klass, HAR-RV components, RV ratio."""

from __future__ import annotations

from ghtrader.domain.factors.spec import FactorSpec, define

_G = "volatility"

SPECS: tuple[FactorSpec, ...] = (
    *(
        define(
            f"rv_{w}",
            _G,
            "sum",
            "ret2",
            window=w,
            unit="bps^2",
            formula=f"realized variance: sum of ret^2 over the last {w} ticks",
        )
        for w in (50, 100, 500)
    ),
    *(
        define(
            f"parkinson_{w}",
            _G,
            "range",
            "logmid",
            window=w,
            mode="parkinson",
            scale=1e8,
            unit="bps^2",
            formula=f"Parkinson variance: (H - L)^2 / (4 ln 2) * 1e8, H and L the max and min of ln mid "
            f"over the last {w} ticks",
        )
        for w in (100, 500)
    ),
    *(
        define(
            f"gk_{w}",
            _G,
            "range",
            "logmid",
            window=w,
            mode="garman_klass",
            scale=1e8,
            unit="bps^2",
            formula=f"Garman-Klass variance over the last {w} ticks of ln mid: "
            "(0.5 (H - L)^2 - (2 ln 2 - 1) (C - O)^2) * 1e8, O the first and C the last value",
        )
        for w in (100, 500)
    ),
    *(
        define(
            f"har_rv_{w}",
            _G,
            "sum",
            "ret2",
            window=w,
            mode="mean",
            scale=100.0,
            unit="bps^2/100 ticks",
            formula=f"HAR-RV component: 100 * mean of ret^2 over the last {w} ticks",
        )
        for w in (1000, 5000)
    ),
    define(
        "har_rv_today",
        _G,
        "daymean",
        "ret2",
        mode="today",
        scale=100.0,
        unit="bps^2/100 ticks",
        formula="HAR-RV daily component: 100 * mean of ret^2 since the trading day's first tick in the segment",
    ),
    define(
        "har_rv_prevday",
        _G,
        "daymean",
        "ret2",
        mode="previous",
        scale=100.0,
        unit="bps^2/100 ticks",
        formula="HAR-RV lagged daily component: 100 * mean of ret^2 over the previous trading day of the "
        "segment (NaN on the segment's first day)",
    ),
    define(
        "rv_ratio_50_500",
        _G,
        "meanratio",
        "ret2",
        window=50,
        window2=500,
        c=0.01,
        unit="ln",
        formula="ln((mean ret^2 over 50 ticks + 0.01) / (mean ret^2 over 500 ticks + 0.01))",
    ),
)
