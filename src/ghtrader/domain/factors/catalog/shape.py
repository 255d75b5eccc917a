"""Book shape: depth slope, curvature, concentration, level gaps."""

from __future__ import annotations

from ghtrader.domain.factors.spec import FactorSpec, define

_G = "shape"

SPECS: tuple[FactorSpec, ...] = (
    define(
        "slope_bid",
        _G,
        "value",
        "slope_b",
        unit="lots/tick",
        formula="least-squares slope of cumulative bid depth sum_{m<=i} bv_m on (mid - bid_i) / tick over present bid levels (>= 2)",
    ),
    define(
        "slope_ask",
        _G,
        "value",
        "slope_a",
        unit="lots/tick",
        formula="least-squares slope of cumulative ask depth sum_{m<=i} av_m on (ask_i - mid) / tick over present ask levels (>= 2)",
    ),
    define(
        "slope_imb", _G, "value", "slope_imb", unit="1", formula="(slope_bid - slope_ask) / (slope_bid + slope_ask)"
    ),
    define("curv_bid", _G, "value", "curv_b", unit="1", formula="(bv_1 - 2 bv_3 + bv_5) / sum_i bv_i"),
    define("curv_ask", _G, "value", "curv_a", unit="1", formula="(av_1 - 2 av_3 + av_5) / sum_i av_i"),
    define(
        "conc_bid",
        _G,
        "value",
        "conc_b",
        unit="1",
        formula="Herfindahl concentration of bid depth: sum_i bv_i^2 / (sum_i bv_i)^2",
    ),
    define(
        "conc_ask",
        _G,
        "value",
        "conc_a",
        unit="1",
        formula="Herfindahl concentration of ask depth: sum_i av_i^2 / (sum_i av_i)^2",
    ),
    define(
        "top_share", _G, "value", "topshare", unit="1", formula="(bv_1 + av_1) / sum_i (bv_i + av_i) over levels 1..5"
    ),
    define(
        "gap_bid",
        _G,
        "value",
        "gap_b",
        unit="ticks",
        formula="mean price gap between present bid levels: (first - last present bid) / tick / (count - 1)",
    ),
    define(
        "gap_ask",
        _G,
        "value",
        "gap_a",
        unit="ticks",
        formula="mean price gap between present ask levels: (last - first present ask) / tick / (count - 1)",
    ),
)
