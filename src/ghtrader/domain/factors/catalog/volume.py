"""Volume: VWAP deviation, volume surprise, traded volume, time-of-day profile."""

from __future__ import annotations

from ghtrader.domain.factors.spec import FactorSpec, define

_G = "volume"

SPECS: tuple[FactorSpec, ...] = (
    *(
        define(
            f"vwap_dev_{w}",
            _G,
            "ratio",
            ("notional", "dvol"),
            window=w,
            mode="deviation",
            ref="mid",
            scale=1e4,
            unit="bps",
            formula=f"(mid / VWAP - 1) * 1e4, VWAP = sum(notional) / sum(dvol) over the last {w} ticks",
        )
        for w in (50, 500)
    ),
    define(
        "vwap_dev_day",
        _G,
        "value",
        "vwapdev_day",
        unit="bps",
        formula="(mid / average - 1) * 1e4, average being the feed's VWAP of the trading day",
    ),
    *(
        define(
            f"vol_surprise_{a}_{b}",
            _G,
            "meanratio",
            "dvol",
            window=a,
            window2=b,
            c=1.0,
            unit="ln",
            formula=f"ln((mean dvol over {a} ticks + 1) / (mean dvol over {b} ticks + 1))",
        )
        for a, b in ((10, 500), (50, 1000))
    ),
    define("log_dvol", _G, "value", "logdvol", unit="ln lots", formula="ln(1 + dvol)"),
    define(
        "log_vol_50",
        _G,
        "sum",
        "dvol",
        window=50,
        mode="log1p_sum",
        unit="ln lots",
        formula="ln(1 + sum of dvol over the last 50 ticks)",
    ),
    define("tod_sin", _G, "value", "tod_sin", unit="1", formula="sin(2 pi tod / 86400), tod = Beijing seconds of day"),
    define("tod_cos", _G, "value", "tod_cos", unit="1", formula="cos(2 pi tod / 86400)"),
    define(
        "tod_vol_ratio_50",
        _G,
        "todprofile",
        "dvol",
        window=50,
        unit="1",
        formula="time-of-day volume profile ratio: mean dvol over the last 50 ticks / mean dvol per tick in "
        "the same 5-minute Beijing time-of-day bucket on the earlier trading days of the segment "
        "(NaN on the segment's first day)",
    ),
)
