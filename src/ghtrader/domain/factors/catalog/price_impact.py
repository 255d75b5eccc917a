"""Price impact: Amihud illiquidity, post-trade impact, price move per traded lot."""

from __future__ import annotations

from ghtrader.domain.factors.spec import FactorSpec, define

_G = "price_impact"

SPECS: tuple[FactorSpec, ...] = (
    *(
        define(
            f"amihud_{w}",
            _G,
            "ratio",
            ("absret", "damt_m"),
            window=w,
            unit="bps/CNY mn",
            formula=f"Amihud illiquidity: sum |ret| / sum turnover (CNY millions) over the last {w} ticks "
            "(NaN when nothing traded)",
        )
        for w in (50, 100, 500)
    ),
    define(
        "impact_10_50",
        _G,
        "realspread",
        window=50,
        window2=10,
        mode="impact",
        min_valid=1,
        unit="bps",
        formula="mean over the last 50 ticks t of the price impact of the trade at t-10: "
        "2 sign (mid[t] - prev mid) / prev mid * 1e4, sign and prev mid taken at t-10",
    ),
    *(
        define(
            f"move_per_vol_{w}",
            _G,
            "move",
            ("logmid", "dvol"),
            window=w,
            scale=1e4,
            unit="bps/lot",
            formula=f"|ln mid[t] - ln mid[t-{w}]| * 1e4 / sum(dvol) over the last {w} ticks",
        )
        for w in (10, 50)
    ),
)
