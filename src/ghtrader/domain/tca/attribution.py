"""Post-trade attribution of parent orders' implementation shortfall.

For a parent with side ``s`` (+1 buy, -1 sell), ``Q`` lots wanted, arrival mid ``M0`` and
half-spread ``h0`` (the book at decision time), fills ``q_i`` at ``p_i`` and mid ``M1`` when it
ended (ticks throughout):

- execution cost ``E = sum s * q_i * (p_i - M0)``; opportunity ``O = s * (Q - sum q_i) * (M1 - M0)``
  (the unfilled lots valued at the end mid); implementation shortfall ``IS = E + O``;
- spread ``S = sum q_i * sign_i * h0``: the half-spread at arrival on each filled lot, paid
  (``sign_i = +1``) by a fill beyond the arrival mid on the paying side (it crossed), earned
  (``-1``) by one on the own side (a resting order filled at its own best), 0 at the mid;
- impact ``I = sum q_i * impact(X_i)``, ``X_i`` the parent's own lots executed through fill i, from
  the :class:`~ghtrader.domain.tca.impact.ImpactModel`;
- timing ``T = E - S - I``: the mid's drift during execution not attributed to own trading
  (and any change of the spread since arrival).

``S + I + T + O == IS`` holds exactly: all amounts are in ticks x lots on a dyadic grid
(``_kernels.py``). Positive numbers are costs. Fees are explicit costs reported beside it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ghtrader.domain.tca._kernels import (
    C_EXEC,
    C_FILLED,
    C_IMPACT,
    C_OPPORTUNITY,
    C_SPREAD,
    C_TIMING,
    C_TOTAL,
    C_VWAP,
    attribute_kernel,
)
from ghtrader.domain.tca.impact import ImpactModel

__all__ = [
    "ATTRIBUTION_DTYPE",
    "COMPONENTS",
    "Attribution",
    "Fills",
    "Parents",
    "asof_index",
    "attribute",
    "impact_observations",
    "interval_vwap",
]

COMPONENTS: tuple[str, ...] = ("spread", "impact", "timing", "opportunity")

#: One parent's attribution. ``*_ticks`` columns are ticks x lots (costs positive); prices in
#: price units; times epoch ns.
ATTRIBUTION_DTYPE = np.dtype(
    [
        ("side", "i1"),
        ("qty", "f8"),  # lots wanted
        ("filled", "f8"),  # lots filled
        ("decision_ns", "i8"),
        ("end_ns", "i8"),
        ("arrival_price", "f8"),  # mid at decision time
        ("exec_vwap", "f8"),  # of the fills; NaN when none
        ("interval_vwap", "f8"),  # the market's VWAP over [decision, end]; NaN without trades
        ("end_mid", "f8"),
        ("slippage_ticks", "f8"),  # per filled lot: side * (exec_vwap - arrival) / tick; NaN when none
        ("vs_interval_vwap_ticks", "f8"),  # per filled lot: side * (exec_vwap - interval_vwap) / tick
        ("execution_ticks", "f8"),
        ("spread_ticks", "f8"),
        ("impact_ticks", "f8"),
        ("timing_ticks", "f8"),
        ("opportunity_ticks", "f8"),
        ("shortfall_ticks", "f8"),  # implementation shortfall = the four components' sum
        ("fees", "f8"),  # currency
    ]
)


@dataclass(frozen=True)
class Parents:
    """Parent orders: columns of equal length."""

    side: np.ndarray  # +1 / -1
    qty: np.ndarray  # lots wanted
    decision_ns: np.ndarray
    end_ns: np.ndarray  # when the parent finished (done, cancelled, or the run's end)
    arrival_bid: np.ndarray
    arrival_ask: np.ndarray
    end_mid: np.ndarray

    def __len__(self) -> int:
        return int(np.asarray(self.side).shape[0])


@dataclass(frozen=True)
class Fills:
    """Fills, each naming its parent's index."""

    parent: np.ndarray  # int index into Parents
    time_ns: np.ndarray
    qty: np.ndarray
    price: np.ndarray
    fee: np.ndarray

    def __len__(self) -> int:
        return int(np.asarray(self.parent).shape[0])


@dataclass(frozen=True)
class Attribution:
    """Per-parent records and their totals (ticks x lots and currency)."""

    records: np.ndarray  # ATTRIBUTION_DTYPE
    tick: float
    multiplier: float
    impact: ImpactModel

    def totals_ticks(self) -> dict[str, float]:
        r = self.records
        out = {f"{c}_ticks": float(r[f"{c}_ticks"].sum()) for c in (*COMPONENTS, "shortfall", "execution")}
        return out

    def totals(self) -> dict[str, float]:
        """Run totals: components, shortfall and fees in currency; lots and orders."""
        r = self.records
        k = self.tick * self.multiplier
        out = {c: float(r[f"{c}_ticks"].sum()) * k for c in (*COMPONENTS, "shortfall", "execution")}
        out["fees"] = float(r["fees"].sum())
        out["total_cost"] = out["shortfall"] + out["fees"]
        out["parents"] = float(r.shape[0])
        out["qty"] = float(r["qty"].sum())
        out["filled"] = float(r["filled"].sum())
        filled = r["filled"] > 0
        w = r["filled"][filled]
        out["slippage_ticks_per_lot"] = (
            float(np.sum(r["slippage_ticks"][filled] * w) / np.sum(w)) if w.size else float("nan")
        )
        return out


def asof_index(times_ns: np.ndarray, at_ns: np.ndarray) -> np.ndarray:
    """Index of the last tick at or before each ``at_ns`` (-1 when before the first)."""
    return np.searchsorted(np.asarray(times_ns, np.int64), np.asarray(at_ns, np.int64), side="right") - 1


def interval_vwap(
    times_ns: np.ndarray,
    volume: np.ndarray,
    amount: np.ndarray,
    start_ns: np.ndarray,
    end_ns: np.ndarray,
    multiplier: float,
) -> np.ndarray:
    """The market's VWAP between the ticks as of ``start_ns`` and ``end_ns`` from the cumulative
    ``volume`` / ``amount`` counters (amount = price x lots x multiplier, as SHFE reports it);
    NaN where nothing traded, the counters reset (a new trading day) or are missing."""
    a = asof_index(times_ns, start_ns)
    b = asof_index(times_ns, end_ns)
    ok = (a >= 0) & (b >= 0)
    a0, b0 = np.where(ok, a, 0), np.where(ok, b, 0)
    vol = np.asarray(volume, np.float64)
    amt = np.asarray(amount, np.float64)
    dv = vol[b0] - vol[a0] if vol.size else np.zeros(a.shape)
    da = amt[b0] - amt[a0] if amt.size else np.zeros(a.shape)
    good = ok & (dv > 0) & (da > 0) & np.isfinite(dv) & np.isfinite(da)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(good, da / np.where(good, dv, 1.0) / multiplier, np.nan)


def _ticks(price: np.ndarray, tick: float) -> np.ndarray:
    return np.rint(np.asarray(price, np.float64) / tick)


def _half_ticks_mid(bid: np.ndarray, ask: np.ndarray, tick: float) -> np.ndarray:
    return (_ticks(bid, tick) + _ticks(ask, tick)) / 2.0


def attribute(
    parents: Parents,
    fills: Fills,
    *,
    tick: float,
    multiplier: float,
    impact: ImpactModel,
    interval_vwaps: np.ndarray | None = None,
) -> Attribution:
    """Attribute each parent's implementation shortfall (see the module docstring). Fills must
    be in time order; prices off the tick grid are rounded to it."""
    n = len(parents)
    side = np.asarray(parents.side, np.int64)
    bid, ask = np.asarray(parents.arrival_bid, np.float64), np.asarray(parents.arrival_ask, np.float64)
    m0 = _half_ticks_mid(bid, ask, tick)
    h0 = (_ticks(ask, tick) - _ticks(bid, tick)) / 2.0
    end_mid = np.asarray(parents.end_mid, np.float64)
    end_mid_t = np.rint(end_mid / tick * 2.0) / 2.0  # half-tick grid
    fp = np.asarray(fills.parent, np.int64)
    if fp.size and (fp.min() < 0 or fp.max() >= n):
        raise ValueError("a fill names a parent that does not exist")
    out = attribute_kernel(
        side, np.asarray(parents.qty, np.float64), m0, h0, end_mid_t, fp,
        np.rint(np.asarray(fills.qty, np.float64)), _ticks(fills.price, tick), float(impact.eta), float(impact.beta),
    )  # fmt: skip
    r = np.zeros(n, dtype=ATTRIBUTION_DTYPE)
    r["side"] = side
    r["qty"] = parents.qty
    r["filled"] = out[:, C_FILLED]
    r["decision_ns"] = parents.decision_ns
    r["end_ns"] = parents.end_ns
    r["arrival_price"] = m0 * tick
    r["exec_vwap"] = out[:, C_VWAP] * tick
    r["interval_vwap"] = np.nan if interval_vwaps is None else interval_vwaps
    r["end_mid"] = end_mid_t * tick
    with np.errstate(invalid="ignore"):
        r["slippage_ticks"] = side * (out[:, C_VWAP] - m0)
        r["vs_interval_vwap_ticks"] = side * (r["exec_vwap"] - r["interval_vwap"]) / tick
    r["execution_ticks"] = out[:, C_EXEC]
    r["spread_ticks"] = out[:, C_SPREAD]
    r["impact_ticks"] = out[:, C_IMPACT]
    r["timing_ticks"] = out[:, C_TIMING]
    r["opportunity_ticks"] = out[:, C_OPPORTUNITY]
    r["shortfall_ticks"] = out[:, C_TOTAL]
    r["fees"] = np.bincount(fp, weights=np.asarray(fills.fee, np.float64), minlength=n) if n else 0.0
    return Attribution(r, float(tick), float(multiplier), impact)


def impact_observations(parents: Parents, fills: Fills, tick: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per fill: (its price beyond the arrival mid less the half-spread the attribution books for
    it, in ticks: what impact and timing share; own lots executed through it; its lots): what
    :func:`~ghtrader.domain.tca.impact.fit_impact` takes."""
    fp = np.asarray(fills.parent, np.int64)
    bid, ask = np.asarray(parents.arrival_bid, np.float64), np.asarray(parents.arrival_ask, np.float64)
    m0 = _half_ticks_mid(bid, ask, tick)[fp]
    h0 = ((_ticks(ask, tick) - _ticks(bid, tick)) / 2.0)[fp]
    side = np.asarray(parents.side, np.float64)[fp]
    q = np.rint(np.asarray(fills.qty, np.float64))
    cum = np.zeros_like(q)
    order = np.argsort(fp, kind="stable")  # fills of one parent keep their time order
    csum = np.cumsum(q[order])
    starts = np.r_[True, fp[order][1:] != fp[order][:-1]] if fp.size else np.zeros(0, bool)
    base = np.maximum.accumulate(np.where(starts, csum - q[order], 0.0)) if fp.size else csum
    cum[order] = csum - base
    paid = side * (_ticks(fills.price, tick) - m0)
    return paid - np.sign(paid) * h0, cum, q
