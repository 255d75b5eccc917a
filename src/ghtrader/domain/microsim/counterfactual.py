"""Counterfactual replay: the same snapshots under two execution policies, side by side.

Run the micro-sim twice on the same ticks (e.g. passive limits at the best vs FAK at the opposite
best, or one policy under two queue models) and compare the two results:

* fill rate: lots filled / lots ordered;
* cost per filled lot, in currency: ``side * (fill price - reference mid) * multiplier + fee``;
  the reference mid is the book the order met: the last snapshot at or before an aggressive fill,
  the snapshot before a passive fill (a passive fill is found on the snapshot showing the book
  after it). Negative: the policy earned (part of) the spread;
* adverse selection, in ticks per filled lot: ``-side * (mid N snapshots after the fill's
  snapshot - reference mid) / tick`` (positive: the mid moved against the new position);
* PnL before and after fees (marked to the last mid), from the result's summary.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from ghtrader.domain.microsim.codes import FILL_AGGRESSIVE
from ghtrader.domain.microsim.results import SimResult

__all__ = ["PolicyStats", "ab_markdown", "compare_policies", "policy_stats"]


@dataclass(frozen=True)
class PolicyStats:
    """Execution quality of one replay."""

    lots_ordered: float
    lots_filled: float
    fill_rate: float  # NaN when nothing was ordered
    cost_per_lot: float  # currency; NaN when nothing filled
    adverse_ticks: float  # mid move against the fill after N snapshots; NaN when nothing filled
    pnl_gross: float
    pnl_net: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def policy_stats(result: SimResult, *, tick: float, multiplier: float, horizon_snapshots: int = 10) -> PolicyStats:
    """:class:`PolicyStats` of one micro-sim result (see the module docstring)."""
    if horizon_snapshots < 0:
        raise ValueError("horizon_snapshots must be >= 0")
    t = result.equity["datetime_ns"]
    mid = result.equity["mid"]
    ordered = float(result.orders["qty"].sum())
    f = result.fills
    filled = float(f["qty"].sum())
    at = np.searchsorted(t, f["datetime_ns"], side="right") - 1  # last snapshot at or before the fill
    before = np.searchsorted(t, f["datetime_ns"], side="left") - 1  # last snapshot strictly before
    ref_i = np.where(f["fill_kind"] == FILL_AGGRESSIVE, at, before)
    ok = (ref_i >= 0) & (at >= 0)
    if filled == 0 or not ok.any():
        cost = adverse = math.nan
    else:
        side = f["side"][ok].astype(np.float64)
        q = f["qty"][ok]
        ref = mid[ref_i[ok]]
        later = mid[np.minimum(at[ok] + horizon_snapshots, mid.size - 1)]
        cost = float(((side * (f["price"][ok] - ref) * multiplier) * q + f["fee"][ok]).sum() / q.sum())
        adverse = float((-side * (later - ref) / tick * q).sum() / q.sum())
    return PolicyStats(
        lots_ordered=ordered,
        lots_filled=filled,
        fill_rate=filled / ordered if ordered > 0 else math.nan,
        cost_per_lot=cost,
        adverse_ticks=adverse,
        pnl_gross=float(result.summary.get("pnl_gross", math.nan)),
        pnl_net=float(result.summary.get("pnl_net", math.nan)),
    )


def compare_policies(
    a: SimResult, b: SimResult, *, tick: float, multiplier: float, horizon_snapshots: int = 10
) -> dict[str, dict[str, float]]:
    """Metric -> ``{"A": .., "B": .., "B-A": ..}`` for two replays of the same snapshots."""
    sa = policy_stats(a, tick=tick, multiplier=multiplier, horizon_snapshots=horizon_snapshots).to_dict()
    sb = policy_stats(b, tick=tick, multiplier=multiplier, horizon_snapshots=horizon_snapshots).to_dict()
    return {k: {"A": sa[k], "B": sb[k], "B-A": sb[k] - sa[k]} for k in sa}


def ab_markdown(table: dict[str, dict[str, float]], names: tuple[str, str] = ("A", "B")) -> str:
    """The :func:`compare_policies` table as markdown, columns named after the two policies."""
    lines = [f"| metric | {names[0]} | {names[1]} | {names[1]} - {names[0]} |", "|---|---:|---:|---:|"]
    for metric, row in table.items():
        lines.append(f"| {metric} | {row['A']:.6g} | {row['B']:.6g} | {row['B-A']:.6g} |")
    return "\n".join(lines)
