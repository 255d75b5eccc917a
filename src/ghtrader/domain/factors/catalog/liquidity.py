"""Liquidity: quoted, effective and realized spread, depth per level, resilience."""

from __future__ import annotations

from ghtrader.domain.factors.spec import FactorSpec, define

_G = "liquidity"

SPECS: tuple[FactorSpec, ...] = (
    define("spread_ticks", _G, "value", "spread", unit="ticks", formula="(ask_price1 - bid_price1) / tick"),
    define("rspread_bps", _G, "value", "rspread", unit="bps", formula="(ask_price1 - bid_price1) / mid * 1e4"),
    define(
        "spread_mean_100",
        _G,
        "sum",
        "spread",
        window=100,
        mode="mean",
        unit="ticks",
        formula="mean of spread over the last 100 ticks",
    ),
    define(
        "eff_spread",
        _G,
        "value",
        "eff",
        unit="bps",
        formula="effective spread of this tick's trades: 2 |tradepx - prev mid| / prev mid * 1e4 (NaN without a trade)",
    ),
    define(
        "eff_spread_50",
        _G,
        "sum",
        "eff",
        window=50,
        mode="mean",
        min_valid=1,
        unit="bps",
        formula="mean of eff over the trade ticks among the last 50 ticks",
    ),
    define(
        "realized_spread_10_50",
        _G,
        "realspread",
        window=50,
        window2=10,
        mode="realized",
        min_valid=1,
        unit="bps",
        formula="mean over the last 50 ticks t of the realized spread of the trade at t-10: "
        "2 sign (tradepx - mid[t]) / prev mid * 1e4, sign, tradepx and prev mid taken at t-10 "
        "(causal: known 10 ticks after the trade)",
    ),
    *(
        define(
            f"depth_l{i}",
            _G,
            "value",
            f"dep{i}",
            unit="lots",
            formula=f"bid_volume{i} + ask_volume{i} (an absent side counts 0)",
        )
        for i in range(1, 6)
    ),
    define("depth_bid5", _G, "value", "depb5", unit="lots", formula="sum of bid_volume1..5"),
    define("depth_ask5", _G, "value", "depa5", unit="lots", formula="sum of ask_volume1..5"),
    define("log_depth5", _G, "value", "logdep5", unit="ln lots", formula="ln(1 + sum of bid and ask volumes 1..5)"),
    define(
        "spread_resil_100",
        _G,
        "moments",
        ("spread", "spread"),
        window=100,
        window2=1,
        mode="corr",
        scale=-1.0,
        offset=1.0,
        unit="1",
        formula="spread resilience: 1 - corr(spread[t], spread[t-1]) over the last 100 ticks "
        "(high = the spread reverts fast; NaN when the spread is constant)",
    ),
    define(
        "depth_resil_100",
        _G,
        "moments",
        ("dep1", "dep1"),
        window=100,
        window2=1,
        mode="corr",
        scale=-1.0,
        offset=1.0,
        unit="1",
        formula="depth resilience: 1 - corr(dep1[t], dep1[t-1]) over the last 100 ticks",
    ),
)
