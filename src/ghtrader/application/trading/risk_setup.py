"""The risk engine a trading run gets: default limits, the caller's overrides, the SHFE sessions,
and the optional pre-trade stress check (on when ``stress_loss_limit`` is set)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import fields

from ghtrader.application.errors import InvalidArgument
from ghtrader.application.ports.providers import CalendarSource
from ghtrader.domain.instruments import ContractSpec
from ghtrader.domain.risk.engine import RiskEngine, RiskLimits, StressConfig
from ghtrader.domain.risk.sessions import CalendarSessions

__all__ = ["DEFAULT_RISK_LIMITS", "STRESS_LIMITS", "risk_engine_factory", "risk_limits", "stress_config"]

#: Limits a run gets for every name it does not set (lots per symbol; CNY).
DEFAULT_RISK_LIMITS: dict[str, float] = {
    "max_net_position": 5,
    "max_order_size": 2,
    "max_orders_per_second": 5,
    "max_daily_loss": 50_000.0,
    "max_drawdown": 80_000.0,
    "per_symbol_loss_limit": 30_000.0,
    "max_consecutive_losses": 5,
}
_INTEGER_LIMITS = {f.name for f in fields(RiskLimits) if f.type in ("int", int)}
#: The pre-trade stress check's settings, given with the limits (the check is on when the first is
#: set): the worst scenario's loss (CNY) allowed on the position after an order, the move in
#: sigmas (sigma: the price's std over the run's risk horizon), the exit cost per further lot in
#: ticks when liquidity freezes.
STRESS_LIMITS: dict[str, float] = {"stress_loss_limit": 0.0, "stress_n_sigma": 3.0, "stress_freeze_ticks": 1.0}


def stress_config(overrides: Mapping[str, float]) -> StressConfig | None:
    """The stress check of ``overrides`` (None when ``stress_loss_limit`` is not set)."""
    given = {k: v for k, v in overrides.items() if k in STRESS_LIMITS}
    if not given:
        return None
    if "stress_loss_limit" not in given:
        raise InvalidArgument(f"stress settings {sorted(given)} need stress_loss_limit (CNY) to turn the check on")
    try:
        return StressConfig(
            loss_limit=float(given["stress_loss_limit"]),
            n_sigma=float(given.get("stress_n_sigma", STRESS_LIMITS["stress_n_sigma"])),
            freeze_ticks=float(given.get("stress_freeze_ticks", STRESS_LIMITS["stress_freeze_ticks"])),
        )
    except ValueError as exc:
        raise InvalidArgument(str(exc)) from exc


def risk_limits(overrides: Mapping[str, float]) -> RiskLimits:
    """:data:`DEFAULT_RISK_LIMITS` updated by ``overrides``; an unknown name or a bad value raises
    ``InvalidArgument`` naming it."""
    values: dict[str, float | int] = dict(DEFAULT_RISK_LIMITS)
    for name, value in overrides.items():
        if name in STRESS_LIMITS:
            continue
        if name not in DEFAULT_RISK_LIMITS:
            known = ", ".join([*DEFAULT_RISK_LIMITS, *STRESS_LIMITS])
            raise InvalidArgument(f"unknown risk limit {name!r}: expected one of {known}")
        values[name] = value
    for name in _INTEGER_LIMITS:
        v = float(values[name])
        if not v.is_integer():
            raise InvalidArgument(f"risk limit {name} must be a whole number, got {v!r}")
        values[name] = int(v)
    try:
        return RiskLimits(**values)  # type: ignore[arg-type]
    except ValueError as exc:
        raise InvalidArgument(str(exc)) from exc


def risk_engine_factory(calendar: CalendarSource) -> Callable[[Mapping[str, float], ContractSpec], RiskEngine]:
    """``(overrides, spec) -> RiskEngine`` for :class:`StartTradingRun` (sessions from the calendar)."""

    def make(overrides: Mapping[str, float], spec: ContractSpec) -> RiskEngine:
        del spec  # each fill's multiplier comes from its own contract's spec
        return RiskEngine(risk_limits(overrides), CalendarSessions(calendar.load()), stress=stress_config(overrides))

    return make
