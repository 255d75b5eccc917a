"""VaR / CVaR of a trading run's equity, intraday (snapshot to snapshot) and daily.

The run adds each account snapshot's equity; ``summary`` gives the historical and parametric
(normal, Student-t) VaR and CVaR at 95 % and 99 % of the equity changes between consecutive
snapshots (intraday) and of the per-trading-day sums of those changes (daily), and, with
``monte_carlo=True`` (the run's end), the Monte Carlo estimate too. A series shorter than a
method needs is reported with its count and no figures.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import numpy as np

from ghtrader.domain.risk.distributions import fit_student_t
from ghtrader.domain.risk.measures import (
    RiskMeasure,
    var_cvar_historical,
    var_cvar_monte_carlo,
    var_cvar_normal,
    var_cvar_student_t,
)

__all__ = ["ALPHAS", "EquityRisk"]

ALPHAS = (0.95, 0.99)
_MIN_SAMPLES = 5  # fewer changes than this: counts only, no VaR


def _row(m: RiskMeasure) -> dict[str, float]:
    return {"var": round(m.var, 2), "cvar": round(m.cvar, 2)}


def _measures(pnl: np.ndarray, monte_carlo: bool, seed: int) -> dict[str, Any]:
    out: dict[str, Any] = {"n": int(pnl.size)}
    if pnl.size < _MIN_SAMPLES or not np.any(pnl != pnl[0]):
        return out  # too few, or a flat series (nothing traded): no distribution to fit
    dof: float | None = None
    try:
        _, _, dof = fit_student_t(pnl)
    except ValueError:
        dof = None
    for alpha in ALPHAS:
        key = f"{round(alpha * 100)}"
        methods: dict[str, Any] = {
            "historical": _row(var_cvar_historical(pnl, alpha)),
            "normal": _row(var_cvar_normal(pnl, alpha)),
        }
        if dof is not None and math.isfinite(dof) and dof > 2:
            methods["student_t"] = _row(var_cvar_student_t(pnl, alpha, dof=dof))
            if monte_carlo:
                methods["monte_carlo"] = _row(var_cvar_monte_carlo(pnl, alpha, seed=seed, dof=dof))
        out[key] = methods
    if dof is not None and math.isfinite(dof):
        out["student_t_dof"] = round(float(dof), 2)
    return out


class EquityRisk:
    """Collects ``(trading day, equity)`` per account snapshot and reports VaR / CVaR (CNY, loss > 0)."""

    def __init__(self, seed: int = 0) -> None:
        self._days: list[date] = []
        self._equity: list[float] = []
        self._seed = int(seed)
        self._cached: dict[str, Any] | None = None

    def add(self, trading_day: date, equity: float) -> None:
        """One snapshot's equity (non-finite values are skipped)."""
        if math.isfinite(equity):
            self._days.append(trading_day)
            self._equity.append(float(equity))
            self._cached = None

    def summary(self, *, monte_carlo: bool = False) -> dict[str, Any]:
        """``{"unit": "CNY", "intraday": {...}, "daily": {...}}``; each holds ``n`` and, per
        confidence (``"95"``, ``"99"``), ``{method: {"var", "cvar"}}``. Cached between snapshots."""
        if self._cached is not None and not monte_carlo:
            return self._cached
        eq = np.asarray(self._equity, dtype=np.float64)
        changes = np.diff(eq) if eq.size > 1 else np.zeros(0)
        days = np.asarray(self._days[1:], dtype="datetime64[D]")
        daily: np.ndarray = np.zeros(0)
        if changes.size:
            _, inverse = np.unique(days, return_inverse=True)
            daily = np.bincount(inverse.reshape(-1), weights=changes).astype(np.float64)
        out = {
            "unit": "CNY",
            "intraday": _measures(changes, monte_carlo, self._seed),
            "daily": _measures(daily, monte_carlo, self._seed),
        }
        if not monte_carlo:
            self._cached = out
        return out
