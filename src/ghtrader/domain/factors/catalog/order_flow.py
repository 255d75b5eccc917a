"""Order flow: multi-level order-flow imbalance, trade imbalance, Kyle's lambda, VPIN."""

from __future__ import annotations

from ghtrader.domain.factors.spec import FactorSpec, define

_G = "order_flow"
# EWMA of volume per tick with a half-life of 500 ticks sizes the VPIN buckets.
_VPIN_ALPHA = 1.0 - 0.5 ** (1.0 / 500.0)

SPECS: tuple[FactorSpec, ...] = (
    *(
        define(
            f"ofi_l{i}_10",
            _G,
            "ratio",
            (f"ofi{i}", f"hdep{i}"),
            window=10,
            unit="half-depths",
            formula=f"sum(ofi{i}) / sum(hdep{i}) over the last 10 ticks where both are defined: "
            f"net level-{i} order flow in units of the displayed level-{i} half-depth",
        )
        for i in range(1, 6)
    ),
    *(
        define(
            f"ofi_l1_{w}",
            _G,
            "ratio",
            ("ofi1", "hdep1"),
            window=w,
            unit="half-depths",
            formula=f"sum(ofi1) / sum(hdep1) over the last {w} ticks where both are defined",
        )
        for w in (50, 100)
    ),
    *(
        define(
            f"ofi_int_{w}",
            _G,
            "ratio",
            ("ofisum", "hdepsum"),
            window=w,
            unit="half-depths",
            formula=f"integrated multi-level OFI: sum(ofisum) / sum(hdepsum) over the last {w} ticks, "
            "ofisum = sum of ofi_1..ofi_5 over the defined levels",
        )
        for w in (10, 50, 100)
    ),
    *(
        define(
            f"tib_{w}",
            _G,
            "ratio",
            ("q", "dvol"),
            window=w,
            unit="1",
            formula=f"trade imbalance: sum(sign * dvol) / sum(dvol) over the last {w} ticks (NaN without trades)",
        )
        for w in (10, 50, 100)
    ),
    *(
        define(
            f"kyle_{w}",
            _G,
            "moments",
            ("q", "dmid"),
            window=w,
            mode="beta",
            unit="ticks/lot",
            formula=f"Kyle's lambda: least-squares slope of dmid on q over the last {w} ticks, "
            "cov(q, dmid) / var(q) (NaN when var(q) is 0)",
        )
        for w in (50, 100)
    ),
    *(
        define(
            f"vpin_{n}",
            _G,
            "vpin",
            ("dvol", "sign"),
            window=n,
            c=10.0,
            d=_VPIN_ALPHA,
            unit="1",
            formula=f"VPIN over the last {n} volume buckets: sum |V_buy - V_sell| / sum V; each tick's "
            "dvol is split into V_buy = dvol (1 + sign) / 2 and V_sell = dvol - V_buy and poured into "
            "buckets of size 10 x EWMA(dvol per tick, half-life 500 ticks) (a tick filling more than "
            f"{n + 1} buckets drops its remainder); NaN until {n} buckets are complete",
        )
        for n in (10, 50)
    ),
)
