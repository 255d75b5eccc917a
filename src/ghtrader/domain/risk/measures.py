"""Value at Risk and Conditional VaR (expected shortfall), and the pre-trade stress check.

Inputs are PnL (or return) samples: positive is a gain. VaR and CVaR come back as positive
*losses* at confidence ``alpha`` (0.95, 0.99): VaR is the loss exceeded with probability at most
``1 - alpha``, CVaR the mean loss beyond it. Daily or intraday is only the horizon of the input;
:func:`aggregate_daily` sums intraday PnL per trading day. Formulas: docs/risk.md.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from ghtrader.domain.risk.distributions import fit_student_t, normal_pdf, normal_ppf, student_t_pdf, student_t_ppf
from ghtrader.domain.trading.orders import OrderRequest

__all__ = [
    "RiskMeasure",
    "StressPosition",
    "StressResult",
    "aggregate_daily",
    "all_measures",
    "pre_trade_stress",
    "stress_test",
    "var_cvar_historical",
    "var_cvar_monte_carlo",
    "var_cvar_normal",
    "var_cvar_student_t",
]

Method = Literal["historical", "normal", "student_t", "monte_carlo"]


@dataclass(frozen=True)
class RiskMeasure:
    """VaR and CVaR (positive = loss) at ``alpha`` by ``method``; ``dof`` for Student-t fits."""

    method: str
    alpha: float
    var: float
    cvar: float
    n: int
    dof: float | None = None


def _clean(pnl: np.ndarray | Sequence[float], minimum: int = 1) -> np.ndarray:
    arr = np.asarray(pnl, dtype=np.float64).ravel()
    arr = arr[np.isfinite(arr)]
    if arr.size < minimum:
        raise ValueError(f"need at least {minimum} finite PnL values, got {arr.size}")
    return arr


def _check_alpha(alpha: float) -> None:
    if not 0.5 <= alpha < 1.0:
        raise ValueError(f"alpha must be in [0.5, 1), got {alpha}")


def var_cvar_historical(pnl: np.ndarray | Sequence[float], alpha: float = 0.95) -> RiskMeasure:
    """Empirical VaR / CVaR from the ``k = ceil((1 - alpha) n)`` worst outcomes.

    VaR is the k-th largest loss, CVaR the mean of the k largest (100 samples at 95%: the 5th
    largest loss and the mean of the 5 largest).
    """
    _check_alpha(alpha)
    arr = _clean(pnl)
    losses = np.sort(-arr)[::-1]
    # round() first so that (1 - 0.95) * 100 = 5.000000000000004 counts 5 samples, not 6
    k = max(1, math.ceil(round((1.0 - alpha) * arr.size, 9)))
    return RiskMeasure("historical", alpha, float(losses[k - 1]), float(losses[:k].mean()), int(arr.size))


def var_cvar_normal(pnl: np.ndarray | Sequence[float], alpha: float = 0.95) -> RiskMeasure:
    """Parametric normal: VaR = z sigma - mu, CVaR = sigma phi(z) / (1 - alpha) - mu, z = Phi^-1(alpha)."""
    _check_alpha(alpha)
    arr = _clean(pnl, 2)
    mu, sd = float(arr.mean()), float(arr.std(ddof=1))
    z = normal_ppf(alpha)
    return RiskMeasure("normal", alpha, z * sd - mu, sd * normal_pdf(z) / (1.0 - alpha) - mu, int(arr.size))


def student_t_var_cvar(mu: float, sd: float, dof: float, alpha: float) -> tuple[float, float]:
    """VaR and CVaR of a Student-t with mean ``mu``, standard deviation ``sd`` and ``dof`` > 2."""
    if dof <= 2:
        raise ValueError(f"a Student-t VaR from a standard deviation needs dof > 2, got {dof}")
    scale = sd * math.sqrt((dof - 2.0) / dof)
    t = student_t_ppf(alpha, dof)
    tail = student_t_pdf(t, dof) * (dof + t * t) / ((dof - 1.0) * (1.0 - alpha))
    return scale * t - mu, scale * tail - mu


def var_cvar_student_t(
    pnl: np.ndarray | Sequence[float], alpha: float = 0.95, *, dof: float | None = None
) -> RiskMeasure:
    """Parametric Student-t with the sample mean and standard deviation; ``dof`` fitted by likelihood unless given."""
    _check_alpha(alpha)
    arr = _clean(pnl, 3)
    if dof is None:
        mu, sd, dof = fit_student_t(arr)
    else:
        mu, sd = float(arr.mean()), float(arr.std(ddof=1))
    var, cvar = student_t_var_cvar(mu, sd, dof, alpha)
    return RiskMeasure("student_t", alpha, var, cvar, int(arr.size), dof)


def var_cvar_monte_carlo(
    pnl: np.ndarray | Sequence[float],
    alpha: float = 0.95,
    *,
    n_sims: int = 100_000,
    seed: int = 0,
    dist: Literal["normal", "student_t"] = "student_t",
    dof: float | None = None,
) -> RiskMeasure:
    """Monte Carlo: ``n_sims`` draws (seeded ``numpy.random.Generator``) from a normal or Student-t fitted to ``pnl``, then the historical estimator on the draws."""
    _check_alpha(alpha)
    if n_sims < 100:
        raise ValueError(f"n_sims must be >= 100, got {n_sims}")
    arr = _clean(pnl, 3)
    rng = np.random.default_rng(seed)
    if dist == "normal":
        mu, sd = float(arr.mean()), float(arr.std(ddof=1))
        draws = rng.normal(mu, sd, n_sims)
        dof = None
    elif dist == "student_t":
        if dof is None:
            mu, sd, dof = fit_student_t(arr)
        else:
            mu, sd = float(arr.mean()), float(arr.std(ddof=1))
        if dof <= 2:
            raise ValueError(f"dof must be > 2, got {dof}")
        draws = mu + sd * math.sqrt((dof - 2.0) / dof) * rng.standard_t(dof, n_sims)
    else:
        raise ValueError(f"dist must be 'normal' or 'student_t', got {dist!r}")
    h = var_cvar_historical(draws, alpha)
    return RiskMeasure("monte_carlo", alpha, h.var, h.cvar, int(arr.size), dof)


def all_measures(
    pnl: np.ndarray | Sequence[float], alphas: Sequence[float] = (0.95, 0.99), *, seed: int = 0
) -> list[RiskMeasure]:
    """Every method at every ``alpha`` (the Student-t fit done once)."""
    arr = _clean(pnl, 3)
    _, _, dof = fit_student_t(arr)
    out: list[RiskMeasure] = []
    for a in alphas:
        out.append(var_cvar_historical(arr, a))
        out.append(var_cvar_normal(arr, a))
        out.append(var_cvar_student_t(arr, a, dof=dof))
        out.append(var_cvar_monte_carlo(arr, a, seed=seed, dof=dof))
    return out


def aggregate_daily(pnl: np.ndarray, trading_days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sum intraday PnL per trading day: ``(days, daily_pnl)``, days sorted ascending.

    ``trading_days`` labels each PnL value with its trading day (e.g. from
    ``TradingCalendar.trading_days_of``), so a night session counts toward the next day.
    """
    values = np.asarray(pnl, dtype=np.float64).ravel()
    days = np.asarray(trading_days).ravel()
    if values.shape != days.shape:
        raise ValueError(f"pnl has {values.size} values but trading_days {days.size}")
    keys, inverse = np.unique(days, return_inverse=True)
    sums = np.zeros(keys.size, dtype=np.float64)
    np.add.at(sums, inverse.reshape(-1), np.nan_to_num(values, nan=0.0))
    return keys, sums


# --- stress ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class StressPosition:
    """One symbol's net position for the stress check.

    ``sigma`` is the standard deviation of the price change over the stress horizon, in price
    units (e.g. a day's price std); ``price_tick`` and ``multiplier`` as in the contract spec.
    """

    symbol: str
    net: int
    sigma: float
    multiplier: float
    price_tick: float

    def __post_init__(self) -> None:
        for name in ("sigma", "multiplier", "price_tick"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"StressPosition.{name} must be finite and >= 0, got {value!r}")


@dataclass(frozen=True)
class StressResult:
    """Loss (CNY, positive) of each scenario, the worst, and whether it stays within ``limit``."""

    losses: Mapping[str, float]
    worst_scenario: str
    worst_loss: float
    limit: float
    passed: bool


def stress_test(
    positions: Sequence[StressPosition],
    *,
    loss_limit: float,
    n_sigma: float = 3.0,
    freeze_ticks: float = 1.0,
    correlation: np.ndarray | None = None,
) -> StressResult:
    """Three scenarios on the positions; the worst loss must not exceed ``loss_limit``.

    * ``n_sigma``: every price moves ``n_sigma`` standard deviations, jointly under
      ``correlation`` (identity when None): ``n_sigma * sqrt(v' C v)``, ``v_i = net_i sigma_i mult_i``.
    * ``liquidity_freeze``: the ``n_sigma`` loss, then exiting costs ``freeze_ticks`` ticks more for
      each further lot (lot ``j`` of ``|net|`` exits ``j * freeze_ticks`` ticks worse).
    * ``correlation_spike``: every correlation at +-1 against the book: ``n_sigma * sum |v_i|``.
    """
    if not (math.isfinite(loss_limit) and loss_limit > 0):
        raise ValueError(f"loss_limit must be positive, got {loss_limit}")
    if n_sigma < 0 or freeze_ticks < 0:
        raise ValueError(f"n_sigma and freeze_ticks must be >= 0, got {n_sigma}, {freeze_ticks}")
    v = np.array([p.net * p.sigma * p.multiplier for p in positions], dtype=np.float64)
    if correlation is None:
        corr = np.eye(v.size)
    else:
        corr = np.asarray(correlation, dtype=np.float64)
        if corr.shape != (v.size, v.size) or not np.allclose(corr, corr.T) or not np.allclose(np.diag(corr), 1.0):
            raise ValueError(f"correlation must be a symmetric {v.size}x{v.size} matrix with a unit diagonal")
    move = n_sigma * math.sqrt(max(float(v @ corr @ v), 0.0))
    exit_cost = sum(freeze_ticks * p.price_tick * p.multiplier * abs(p.net) * (abs(p.net) + 1) / 2.0 for p in positions)
    losses = {
        "n_sigma": move,
        "liquidity_freeze": move + exit_cost,
        "correlation_spike": n_sigma * float(np.abs(v).sum()),
    }
    worst = max(losses, key=lambda k: losses[k])
    return StressResult(losses, worst, losses[worst], float(loss_limit), losses[worst] <= loss_limit)


def pre_trade_stress(
    order: OrderRequest,
    positions: Sequence[StressPosition],
    *,
    loss_limit: float,
    working_same_side: int = 0,
    n_sigma: float = 3.0,
    freeze_ticks: float = 1.0,
    correlation: np.ndarray | None = None,
) -> StressResult:
    """:func:`stress_test` on the book as it would be after ``order`` (and ``working_same_side`` lots) fill."""
    index = [i for i, p in enumerate(positions) if p.symbol == order.symbol]
    if len(index) != 1:
        raise ValueError(f"positions must hold {order.symbol} exactly once, found {len(index)}")
    after = list(positions)
    p = after[index[0]]
    after[index[0]] = replace(p, net=p.net + order.side * (order.qty + working_same_side))
    return stress_test(
        after, loss_limit=loss_limit, n_sigma=n_sigma, freeze_ticks=freeze_ticks, correlation=correlation
    )
