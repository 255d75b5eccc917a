"""Volatility regime: z-score of log realized variance against its long EWMA, tercile buckets."""

from __future__ import annotations

from ghtrader.domain.factors.spec import FactorSpec, define

_G = "regime"
# EWMA of log RV with a half-life of 5000 ticks (about 40 minutes of an active contract).
_ALPHA = 1.0 - 0.5 ** (1.0 / 5000.0)
_F = (
    "z = (ln(mean ret^2 over the last {w} ticks + 0.01) - m) / sqrt(v), m and v the EWMA mean and "
    "variance (half-life 5000 ticks) of that log RV (full windows only) up to the previous tick; NaN until "
    "1000 EWMA updates"
)

SPECS: tuple[FactorSpec, ...] = (
    define(
        "vol_z_100",
        _G,
        "regime",
        "ret2",
        window=100,
        window2=1000,
        mode="z",
        c=0.01,
        d=_ALPHA,
        unit="1",
        formula=_F.format(w=100),
    ),
    *(
        define(
            f"vol_regime_{w}",
            _G,
            "regime",
            "ret2",
            window=w,
            window2=1000,
            mode="bucket",
            c=0.01,
            d=_ALPHA,
            unit="bucket",
            formula=_F.format(w=w) + "; bucket 0 when z < -0.4307, 2 when z > 0.4307, else 1 (terciles of N(0, 1))",
        )
        for w in (100, 500)
    ),
)
