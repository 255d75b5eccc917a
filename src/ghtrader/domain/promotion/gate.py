"""The promotion gate: does a candidate model replace the production one?

Every check yields a :class:`GateCheck` (metric, the candidate's value, the incumbent's when the
check compares, the threshold, pass / fail and why), so a decision always carries all its
reasons. Checks:

- ``net_sharpe`` >= ``min_net_sharpe`` (backtest, after costs; absolute floor)
- ``max_drawdown`` <= ``max_drawdown`` (backtest net PnL drawdown, currency; absolute ceiling)
- ``macro_f1`` - incumbent's >= ``min_macro_f1_delta``
- ``info_captured`` - incumbent's >= ``min_info_captured_delta``
- ``ece`` <= ``max_ece`` (calibration ceiling)
- ``latency_us`` <= ``max_latency_us`` (inference latency budget)

A threshold of None switches its check off (recorded as skipped, passing). A candidate value
that is missing or not finite fails its check: the gate never promotes on what it could not
measure. A comparison check passes when there is no incumbent, or when the incumbent's value
is missing (said in the reason). The decision is ``promote`` when every check passes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

from ghtrader.domain.errors import DomainError

__all__ = ["GateCheck", "GateDecision", "GateMetrics", "GateThresholds", "PromotionGate"]

Decision = Literal["promote", "keep"]


@dataclass(frozen=True)
class GateMetrics:
    """What the gate reads of one model, all measured on the same evaluation data (NaN = not
    measured). Sharpe and drawdown come from the micro-sim backtest, after costs."""

    net_sharpe: float = math.nan
    max_drawdown: float = math.nan  # >= 0, currency units of net PnL
    macro_f1: float = math.nan
    info_captured: float = math.nan  # (LL_prior - LL_model) / (LL_prior - LL_bayes)
    ece: float = math.nan
    latency_us: float = math.nan  # p99 single-row inference latency

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> GateMetrics:
        """Known keys of ``values`` (None or non-numbers become NaN); others are ignored."""
        out: dict[str, float] = {}
        for f in fields(cls):
            v = values.get(f.name)
            out[f.name] = float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else math.nan
        return cls(**out)

    def to_dict(self) -> dict[str, float | None]:
        """JSON-ready: NaN becomes None."""
        return {k: (v if math.isfinite(v) else None) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class GateThresholds:
    """Configurable thresholds (see module docstring); None = the check is off."""

    min_net_sharpe: float | None = None
    max_drawdown: float | None = None
    min_macro_f1_delta: float | None = 0.0
    min_info_captured_delta: float | None = 0.0
    max_ece: float | None = 0.1
    max_latency_us: float | None = None

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)):
                raise DomainError(f"gate threshold {f.name} must be a finite number or None (got {v!r})")
        for name in ("max_drawdown", "max_ece", "max_latency_us"):
            v = getattr(self, name)
            if v is not None and v < 0:
                raise DomainError(f"gate threshold {name} must be >= 0 (got {v})")

    def to_dict(self) -> dict[str, float | None]:
        return asdict(self)


@dataclass(frozen=True)
class GateCheck:
    """One check of the gate and its outcome."""

    name: str  # the metric checked
    kind: str  # "floor" | "ceiling" | "vs_incumbent"
    value: float | None  # the candidate's (None: not measured)
    incumbent: float | None  # the incumbent's, for comparisons (None: none or not measured)
    threshold: float | None  # None: the check is off
    passed: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class GateDecision:
    """``promote`` when every check passed, else ``keep``; ``checks`` hold every reason."""

    decision: Decision
    checks: tuple[GateCheck, ...]
    thresholds: GateThresholds
    candidate: GateMetrics
    incumbent: GateMetrics | None

    @property
    def promote(self) -> bool:
        return self.decision == "promote"

    @property
    def failed(self) -> tuple[GateCheck, ...]:
        return tuple(c for c in self.checks if not c.passed)

    def summary(self) -> str:
        """One line: the decision and the failed checks' reasons (or that all passed)."""
        if self.promote:
            return "promote: every check passed"
        return "keep: " + "; ".join(c.reason for c in self.failed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "summary": self.summary(),
            "checks": [c.to_dict() for c in self.checks],
            "thresholds": self.thresholds.to_dict(),
            "candidate": self.candidate.to_dict(),
            "incumbent": None if self.incumbent is None else self.incumbent.to_dict(),
        }


def _finite(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


def _bound(name: str, value: float, threshold: float | None, ceiling: bool) -> GateCheck:
    kind = "ceiling" if ceiling else "floor"
    v = _finite(value)
    if threshold is None:
        return GateCheck(name, kind, v, None, None, True, f"{name}: check off")
    if v is None:
        return GateCheck(name, kind, None, None, threshold, False, f"{name} not measured")
    ok = v <= threshold if ceiling else v >= threshold
    op = ("<=" if ok else ">") if ceiling else (">=" if ok else "<")
    return GateCheck(name, kind, v, None, threshold, ok, f"{name} {v:.4g} {op} {threshold:.4g}")


def _versus(name: str, value: float, incumbent: GateMetrics | None, min_delta: float | None) -> GateCheck:
    v = _finite(value)
    inc = None if incumbent is None else _finite(getattr(incumbent, name))
    if min_delta is None:
        return GateCheck(name, "vs_incumbent", v, inc, None, True, f"{name}: check off")
    if v is None:
        return GateCheck(name, "vs_incumbent", None, inc, min_delta, False, f"{name} not measured")
    if incumbent is None:
        return GateCheck(name, "vs_incumbent", v, None, min_delta, True, f"{name} {v:.4g}: no incumbent")
    if inc is None:
        return GateCheck(name, "vs_incumbent", v, None, min_delta, True, f"{name} {v:.4g}: incumbent's not measured")
    delta = v - inc
    ok = delta >= min_delta
    op = ">=" if ok else "<"
    return GateCheck(
        name, "vs_incumbent", v, inc, min_delta, ok,
        f"{name} {v:.4g} vs incumbent {inc:.4g}: change {delta:+.4g} {op} {min_delta:+.4g}",
    )  # fmt: skip


@dataclass(frozen=True)
class PromotionGate:
    """Decides promote / keep for a candidate against the production incumbent (or none)."""

    thresholds: GateThresholds = GateThresholds()

    def decide(self, candidate: GateMetrics, incumbent: GateMetrics | None) -> GateDecision:
        t = self.thresholds
        checks = (
            _bound("net_sharpe", candidate.net_sharpe, t.min_net_sharpe, ceiling=False),
            _bound("max_drawdown", candidate.max_drawdown, t.max_drawdown, ceiling=True),
            _versus("macro_f1", candidate.macro_f1, incumbent, t.min_macro_f1_delta),
            _versus("info_captured", candidate.info_captured, incumbent, t.min_info_captured_delta),
            _bound("ece", candidate.ece, t.max_ece, ceiling=True),
            _bound("latency_us", candidate.latency_us, t.max_latency_us, ceiling=True),
        )
        decision: Decision = "promote" if all(c.passed for c in checks) else "keep"
        return GateDecision(decision, checks, t, candidate, incumbent)
