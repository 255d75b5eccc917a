"""Pressure: microprice and L5-weighted mid offsets, book pressure, trade position, OI flow."""

from __future__ import annotations

from ghtrader.domain.factors.spec import FactorSpec, define

_G = "pressure"

SPECS: tuple[FactorSpec, ...] = (
    define(
        "micro_dev",
        _G,
        "value",
        "micro",
        unit="ticks",
        formula="(microprice - mid) / tick, microprice = (ask1 bid_volume1 + bid1 ask_volume1) / (bid_volume1 + ask_volume1)",
    ),
    define(
        "wmid5_dev",
        _G,
        "value",
        "wmid5",
        unit="ticks",
        formula="(sum_i (bid_i av_i + ask_i bv_i) / sum_i (bv_i + av_i) - mid) / tick over levels 1..5 with both sides present",
    ),
    define(
        "book_pressure",
        _G,
        "value",
        "bpress",
        unit="1",
        formula="(P_b - P_a) / (P_b + P_a), P_b = sum_i bv_i / ((mid - bid_i) / tick), P_a = sum_i av_i / ((ask_i - mid) / tick)",
    ),
    define("last_pos", _G, "value", "lastpos", unit="1", formula="(last_price - bid1) / (ask1 - bid1)"),
    define(
        "oi_chg_100",
        _G,
        "lag",
        "oi",
        window=100,
        unit="lots",
        formula="open_interest[t] - open_interest[t-100]",
    ),
    define(
        "oi_flow_100",
        _G,
        "ratio",
        ("doi", "dvol"),
        window=100,
        unit="1",
        formula="sum of open-interest changes / sum of dvol over the last 100 ticks (positions opened per lot traded)",
    ),
)
