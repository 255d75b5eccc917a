"""Book imbalance: per level L1..L5, cumulative, depth-weighted, smoothed."""

from __future__ import annotations

from ghtrader.domain.factors.spec import FactorSpec, define

_G = "book_imbalance"

SPECS: tuple[FactorSpec, ...] = (
    *(
        define(
            f"imb_l{i}",
            _G,
            "value",
            f"imb{i}",
            unit="1",
            formula=f"(bid_volume{i} - ask_volume{i}) / (bid_volume{i} + ask_volume{i}), an absent side "
            "counting 0 (NaN when both are absent)",
        )
        for i in range(1, 6)
    ),
    define(
        "imb_cum3",
        _G,
        "value",
        "imbc3",
        unit="1",
        formula="(B3 - A3) / (B3 + A3), B3/A3 = bid/ask volume summed over levels 1..3",
    ),
    define(
        "imb_cum5",
        _G,
        "value",
        "imbc5",
        unit="1",
        formula="(B5 - A5) / (B5 + A5), B5/A5 = bid/ask volume summed over levels 1..5",
    ),
    define(
        "imb_dw",
        _G,
        "value",
        "imbdw",
        unit="1",
        formula="depth-weighted imbalance: sum_i (bv_i - av_i) / i / sum_i (bv_i + av_i) / i over levels 1..5",
    ),
    define(
        "imb_l1_mean_10",
        _G,
        "sum",
        "imb1",
        window=10,
        mode="mean",
        unit="1",
        formula="mean of imb_l1 over the last 10 ticks",
    ),
    define(
        "imb_cum5_mean_50",
        _G,
        "sum",
        "imbc5",
        window=50,
        mode="mean",
        unit="1",
        formula="mean of imb_cum5 over the last 50 ticks",
    ),
)
