"""Use case: a trading run's equity and PnL curve for a chart, downsampled to at most
``max_points`` while keeping each bucket's lowest and highest equity (drawdowns stay visible)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ghtrader.application.errors import InvalidArgument, NotFound
from ghtrader.application.ports.run_equity import RunSnapshots

MAX_POINTS = 2000


@dataclass(frozen=True)
class EquityCurve:
    run_id: str
    time_ns: np.ndarray  # int64, ascending as written
    equity: np.ndarray  # float64
    pnl: np.ndarray  # equity minus the first snapshot's equity
    balance: np.ndarray
    snapshots: int  # snapshots before downsampling
    max_drawdown: float  # largest fall of equity from a previous peak (over every snapshot), >= 0


def minmax_indices(values: np.ndarray, max_points: int) -> np.ndarray:
    """Indices of at most ``max_points`` points of ``values`` (sorted): all of them when they fit,
    else the first and last point and, in each of ``max_points // 2 - 1`` equal buckets between,
    the lowest and the highest one (NaNs ignored)."""
    n = len(values)
    if n <= max_points:
        return np.arange(n)
    if max_points < 4:
        raise InvalidArgument(f"max_points must be >= 4 to downsample, got {max_points}")
    buckets = max_points // 2 - 1
    edges = np.linspace(1, n - 1, buckets + 1).astype(np.int64)
    keep = [0, n - 1]
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        if hi <= lo:
            continue
        part = values[lo:hi]
        if np.all(np.isnan(part)):
            keep.append(int(lo))
            continue
        keep += [int(lo + np.nanargmin(part)), int(lo + np.nanargmax(part))]
    return np.unique(np.asarray(keep, dtype=np.int64))


def max_drawdown(equity: np.ndarray) -> float:
    finite = equity[np.isfinite(equity)]
    if finite.size == 0:
        return 0.0
    return float(np.max(np.maximum.accumulate(finite) - finite))


class GetEquityCurve:
    def __init__(self, snapshots: RunSnapshots) -> None:
        self._snapshots = snapshots

    def __call__(self, run_id: str, max_points: int = MAX_POINTS) -> EquityCurve:
        if not 4 <= max_points <= MAX_POINTS:
            raise InvalidArgument(f"max_points must be in 4..{MAX_POINTS}, got {max_points}")
        columns = self._snapshots.equity_columns(run_id)
        if columns is None:
            raise NotFound(f"no trading run {run_id!r}")
        equity = columns.equity
        keep = minmax_indices(equity, max_points)
        finite = equity[np.isfinite(equity)]
        start = float(finite[0]) if finite.size else 0.0
        return EquityCurve(
            run_id=run_id,
            time_ns=columns.time_ns[keep],
            equity=equity[keep],
            pnl=equity[keep] - start,
            balance=columns.balance[keep],
            snapshots=len(equity),
            max_drawdown=max_drawdown(equity),
        )
