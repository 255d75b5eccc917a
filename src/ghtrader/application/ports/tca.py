"""TCA persistence port: per-order execution-cost labels (``ghtrader_execution_labels_v2``) and
one TCA record per analysed run (``ghtrader_tca_v2``), which also keeps the impact model fitted
from the run's fills."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["ExecutionLabel", "TcaRecord", "TcaStore", "json_safe"]


@dataclass(frozen=True)
class ExecutionLabel:
    """One order's execution cost. Costs in currency (CNY), positive = paid; prices in price
    units; ``datetime_ns`` is the decision (arrival) time."""

    run_id: str
    order_id: str
    symbol: str
    datetime_ns: int
    side: int  # +1 buy, -1 sell
    order_qty: float
    filled_qty: float
    arrival_price: float  # mid at decision time
    execution_price: float  # VWAP of the fills; NaN when nothing filled
    slippage_ticks: float  # per filled lot, side * (execution - arrival) / tick; NaN when nothing filled
    spread_cost: float
    impact_cost: float
    timing_cost: float
    opportunity_cost: float
    shortfall: float  # implementation shortfall = the four costs' sum
    fees: float
    duration_ns: int  # decision to the order's end
    source: str = "sim_run"  # "sim_run" | "backtest"


@dataclass(frozen=True)
class TcaRecord:
    """One analysed run: totals (CNY) and the impact model fitted from its fills."""

    run_id: str
    source: str  # "sim_run" | "backtest"
    symbol: str  # the execution contract (the first, when a run rolled)
    variety: str
    analyzed_ns: int
    orders: int
    filled_qty: float
    spread_cost: float
    impact_cost: float
    timing_cost: float
    opportunity_cost: float
    shortfall: float
    fees: float
    slippage_ticks_per_lot: float
    impact_kind: str
    impact_eta: float  # ticks per lot at one lot
    impact_n_obs: int  # fills the fit used (0: not fitted from this run)
    impact_r2: float
    details: dict[str, Any] = field(default_factory=dict)  # the rest of the report's totals


def json_safe(value: Any) -> Any:
    """``value`` with NaN and infinities as None (JSON has neither): what a store keeps of
    :attr:`TcaRecord.details`."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


class TcaStore(Protocol):
    """Where TCA results are kept. Writes are idempotent: re-analysing a run replaces its rows."""

    def write_labels(self, run_id: str, labels: Sequence[ExecutionLabel]) -> int:
        """Replace ``run_id``'s labels with ``labels`` (one transaction); returns how many."""
        ...

    def labels(self, run_id: str) -> list[ExecutionLabel]:
        """``run_id``'s labels by decision time, then order id."""
        ...

    def write_record(self, record: TcaRecord) -> None:
        """Insert or replace the record of ``record.run_id`` (``details`` kept as :func:`json_safe`)."""
        ...

    def record(self, run_id: str) -> TcaRecord | None: ...

    def latest_impact(self, variety: str, min_obs: int) -> TcaRecord | None:
        """The most recently analysed record of ``variety`` whose impact fit used at least
        ``min_obs`` fills (the calibration a pre-trade estimate starts from)."""
        ...
