"""The result of a post-trade TCA."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ghtrader.application.ports.tca import ExecutionLabel
from ghtrader.application.reporting import to_jsonable

__all__ = ["TcaReport"]


@dataclass
class TcaReport:
    """One TCA: totals in currency, the per-order labels, the impact model and where the
    report went. ``totals_ticks`` are the exact sums (ticks x lots) the identity holds on."""

    run_id: str
    source: str
    symbol: str
    variety: str
    tick: float
    multiplier: float
    impact: dict[str, Any]
    impact_source: str  # "this run" | "stored <run id>" | "none"
    totals: dict[str, float]
    totals_ticks: dict[str, float]
    labels: list[ExecutionLabel] = field(default_factory=list)
    report_paths: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    def to_payload(self) -> dict[str, Any]:
        return to_jsonable(self.__dict__)
