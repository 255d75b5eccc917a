"""Momentum: multi-horizon returns, acceleration, EMA gaps, range position, efficiency."""

from __future__ import annotations

from ghtrader.domain.factors.spec import FactorSpec, define

_G = "momentum"

SPECS: tuple[FactorSpec, ...] = (
    *(
        define(
            f"ret_{k}",
            _G,
            "lag",
            "logmid",
            window=k,
            scale=1e4,
            unit="bps",
            formula=f"(ln mid[t] - ln mid[t-{k}]) * 1e4",
        )
        for k in (1, 5, 10, 50, 100, 500)
    ),
    *(
        define(
            f"acc_{k}",
            _G,
            "lag",
            "logmid",
            window=k,
            mode="accel",
            scale=1e4,
            unit="bps",
            formula=f"return acceleration: (ln mid[t] - 2 ln mid[t-{k}] + ln mid[t-{2 * k}]) * 1e4",
        )
        for k in (10, 50)
    ),
    *(
        define(
            f"ema_gap_{a}_{b}",
            _G,
            "emagap",
            "logmid",
            window=a,
            window2=b,
            scale=1e4,
            unit="bps",
            formula=f"(EMA_{a}(ln mid) - EMA_{b}(ln mid)) * 1e4, EMA_s with alpha 2 / (s + 1) started "
            "at the segment's first mid; NaN in the first " + str(b) + " ticks",
        )
        for a, b in ((10, 100), (50, 500))
    ),
    *(
        define(
            f"range_pos_{w}",
            _G,
            "range",
            "logmid",
            window=w,
            mode="position",
            unit="1",
            formula=f"(ln mid - L) / (H - L), H and L the max and min of ln mid over the last {w} ticks",
        )
        for w in (100, 500)
    ),
    define(
        "efficiency_100",
        _G,
        "move",
        ("logmid", "absret"),
        window=100,
        scale=1e4,
        unit="1",
        formula="Kaufman efficiency ratio: |ln mid[t] - ln mid[t-100]| * 1e4 / sum |ret| over the last 100 ticks",
    ),
)
