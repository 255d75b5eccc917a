"""Backtest request and report types: what RunBacktest takes and returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np

from ghtrader.application.reporting import to_jsonable
from ghtrader.domain.evaluation import CostModel
from ghtrader.domain.microsim import SimResult

__all__ = ["BacktestReport", "BacktestRequest"]


@dataclass(frozen=True)
class BacktestRequest:
    """What to backtest and how to execute it."""

    model_id: str
    start_day: date
    end_day: date
    version: str | None = None  # None: the newest registered version
    symbol: str | None = None  # None: the symbol the model was trained on
    costs: CostModel = field(default_factory=CostModel)  # the policy's round-trip cost
    commission_bp: float | None = None  # sim fees: None = the variety's default fee table, else bp of value
    queue_model: str = "prob_log"
    execution: str = "aggressive"  # "aggressive": FAK at the opposite best; "passive": limit at own best
    entry_latency_ms: float = 0.0
    cancel_latency_ms: float = 0.0
    feed_latency_ms: float = 0.0
    policy_fit_days: int = 1
    hold_rows: int | None = None  # snapshots an entry is held (None: the model's horizon)
    flat_rows: int = 10  # snapshots before a day end / roll where the target is flat
    # also flat in the last flat_s seconds before the trading day's last session closes: the causal
    # rule paper / sim / live trading use (None: off)
    flat_s: float | None = None
    seed: int = 0
    write_report: bool = True
    # counterfactual replay (policy B) of the same targets; None = the run's own setting
    versus_execution: str | None = None
    versus_queue_model: str | None = None

    @property
    def has_counterfactual(self) -> bool:
        """Whether a B policy differs from the run's own execution or queue model."""
        return (self.versus_execution or self.execution) != self.execution or (
            self.versus_queue_model or self.queue_model
        ) != self.queue_model


@dataclass
class BacktestReport:
    """Cost-adjusted results of one backtest (``to_payload`` is the JSON report)."""

    report_id: str
    model_id: str
    version: str
    family: str
    symbol: str
    horizon: int
    start_day: date
    end_day: date
    fit_days: list[date]
    execution: str
    queue_model: str
    policy: dict[str, Any]
    summary: dict[str, float]
    by_session: dict[str, dict[str, float]]
    by_regime: dict[str, dict[str, float]]
    rows: int
    target_changes: int
    orders: int
    elapsed_s: float
    notes: list[str] = field(default_factory=list)
    # A/B of the same targets under two execution policies: {"A": name, "B": name, "table": metric -> A/B/B-A}
    counterfactual: dict[str, Any] | None = None
    report_paths: dict[str, Any] | None = None
    by_hmm_regime: dict[str, dict[str, float]] | None = None  # HMM regimes fitted on the policy-fit days
    result: SimResult | None = field(default=None, repr=False)
    ticks_mid: np.ndarray | None = field(default=None, repr=False)
    ticks_ns: np.ndarray | None = field(default=None, repr=False)
    targets: np.ndarray | None = field(default=None, repr=False)  # target position per backtest snapshot

    def to_payload(self) -> dict[str, Any]:
        skip = {"result", "ticks_mid", "ticks_ns", "targets"}
        return to_jsonable({k: v for k, v in self.__dict__.items() if k not in skip})
