"""Cross-asset: rolling CU/AU/AG return correlation, log-spread z-score, lead-lag, other returns.

The other varieties enter as extra inputs ``cu_mid``, ``au_mid``, ``ag_mid``: their as-of mids
aligned to this symbol's ticks. A factor whose extra input is absent is NaN.
"""

from __future__ import annotations

from ghtrader.domain.factors.spec import FactorSpec, define

_G = "cross_asset"


def _for(v: str) -> tuple[FactorSpec, ...]:
    return (
        *(
            define(
                f"xcorr_{v}_{w}",
                _G,
                "moments",
                ("ret", f"xret_{v}"),
                window=w,
                mode="corr",
                unit="1",
                formula=f"corr(ret[t], xret_{v}[t]) over the last {w} ticks, xret_{v} the 1-tick log return of "
                f"{v}_mid in bps",
            )
            for w in (100, 500)
        ),
        define(
            f"xz_{v}_500",
            _G,
            "moments",
            (f"xspr_{v}", f"xspr_{v}"),
            window=500,
            mode="zscore",
            unit="1",
            formula=f"z-score of s[t] = (ln mid - ln {v}_mid) * 1e4 against its mean and standard deviation "
            "over the last 500 ticks",
        ),
        define(
            f"xlead_{v}_500",
            _G,
            "moments",
            ("ret", f"xret_{v}"),
            window=500,
            window2=1,
            mode="corr",
            unit="1",
            formula=f"lead-lag: corr(ret[t], xret_{v}[t-1]) over the last 500 ticks (> 0: {v} leads)",
        ),
        define(
            f"xret_{v}_10",
            _G,
            "lag",
            f"xlog_{v}",
            window=10,
            scale=1e4,
            unit="bps",
            formula=f"(ln {v}_mid[t] - ln {v}_mid[t-10]) * 1e4",
        ),
    )


SPECS: tuple[FactorSpec, ...] = (*_for("cu"), *_for("au"), *_for("ag"))
