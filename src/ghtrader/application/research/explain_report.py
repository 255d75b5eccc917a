"""Request and report of :mod:`ghtrader.application.research.explain`."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from ghtrader.application.errors import InvalidArgument
from ghtrader.application.reporting import to_jsonable

__all__ = ["METHODS", "ExplainReport", "ExplainRequest"]

METHODS = ("auto", "treeshap", "ig", "linear", "permutation")


@dataclass(frozen=True)
class ExplainRequest:
    """What to explain. ``end_day`` defaults to ``day``; ``max_rows``: rows attributed (evenly
    spread; default 5000 for tabular, 256 for windowed models); ``steps``: integrated-gradient
    steps; ``permutation_rows``: rows permutation importance scores (evenly spread for tabular
    models, the first ones for windowed models, whose windows need consecutive rows)."""

    model_id: str
    day: date
    version: str | None = None
    end_day: date | None = None
    tick_ts_ns: int | None = None
    method: str = "auto"
    max_rows: int | None = None
    steps: int = 32
    permutation_repeats: int = 3
    permutation_rows: int = 20_000
    top_k: int = 20
    seed: int = 0

    def checked(self) -> ExplainRequest:
        if not self.model_id:
            raise InvalidArgument("model_id is required (a registry id, see `ghtrader models`)")
        if self.method not in METHODS:
            raise InvalidArgument(f"method must be one of {', '.join(METHODS)}, got {self.method!r}")
        end = self.end_day or self.day
        if end < self.day:
            raise InvalidArgument(f"end_day {end} is before day {self.day}")
        for name in ("steps", "permutation_repeats", "permutation_rows", "top_k"):
            if int(getattr(self, name)) < 1:
                raise InvalidArgument(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.max_rows is not None and self.max_rows < 1:
            raise InvalidArgument(f"max_rows must be >= 1, got {self.max_rows}")
        return replace(self, end_day=end)


@dataclass
class ExplainReport:
    """The explanation (see the module docstring); ``to_payload`` is the report JSON."""

    model_id: str
    version: str
    family: str
    symbol: str
    horizon: int
    start_day: date
    end_day: date
    methods: list[str]
    rows: int
    attributed_rows: int = 0
    output_space: str = ""
    completeness_max_abs_error: float | None = None
    global_importance: list[dict[str, Any]] = field(default_factory=list)
    permutation: list[dict[str, Any]] = field(default_factory=list)
    permutation_base_log_loss: float | None = None
    tick: dict[str, Any] = field(default_factory=dict)
    lag_profile: list[float] = field(default_factory=list)
    attention: list[dict[str, Any]] = field(default_factory=list)
    error_analysis: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    report_paths: dict[str, Any] | None = None

    def to_payload(self) -> dict[str, Any]:
        return {"kind": "explain", **to_jsonable(self)}
