"""VaR / CVaR against known values, the t quantile against tables, and the stress scenarios by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ghtrader.domain.microsim import codes
from ghtrader.domain.risk.distributions import (
    fit_student_t,
    normal_ppf,
    regularized_beta,
    student_t_cdf,
    student_t_pdf,
    student_t_ppf,
)
from ghtrader.domain.risk.measures import (
    StressPosition,
    aggregate_daily,
    all_measures,
    pre_trade_stress,
    stress_test,
    student_t_var_cvar,
    var_cvar_historical,
    var_cvar_monte_carlo,
    var_cvar_normal,
    var_cvar_student_t,
)
from ghtrader.domain.trading.orders import OrderRequest


# --- distributions ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "p,dof,expected",
    [
        (0.975, 5, 2.5706),
        (0.99, 10, 2.7638),
        (0.95, 1, 6.3138),
        (0.995, 2, 9.9248),
        (0.95, 30, 1.6973),
        (0.90, 3, 1.6377),
    ],
)
def test_t_quantiles_match_tables(p: float, dof: float, expected: float) -> None:
    assert student_t_ppf(p, dof) == pytest.approx(expected, abs=5e-5)
    assert student_t_ppf(1 - p, dof) == pytest.approx(-expected, abs=5e-5)


def test_t_cdf_closed_forms_and_normal_limit() -> None:
    # dof 1 is Cauchy: F(t) = 1/2 + atan(t)/pi; dof 2: F(t) = 1/2 + t / (2 sqrt(2 + t^2))
    for t in (-3.0, -0.4, 0.0, 0.7, 5.0):
        assert student_t_cdf(t, 1) == pytest.approx(0.5 + math.atan(t) / math.pi, abs=1e-12)
        assert student_t_cdf(t, 2) == pytest.approx(0.5 + t / (2 * math.sqrt(2 + t * t)), abs=1e-12)
    assert student_t_pdf(0.0, 1) == pytest.approx(1 / math.pi)
    assert student_t_ppf(0.975, 1e6) == pytest.approx(normal_ppf(0.975), abs=1e-5)


def test_regularized_beta_closed_forms() -> None:
    x = 0.4
    assert regularized_beta(1, 1, x) == pytest.approx(x)
    assert regularized_beta(3, 1, x) == pytest.approx(x**3)
    assert regularized_beta(2, 3, x) == pytest.approx(x * x * (6 - 8 * x + 3 * x * x))
    assert regularized_beta(0.5, 0.5, 0.3) == pytest.approx(2 / math.pi * math.asin(math.sqrt(0.3)))
    assert regularized_beta(2, 3, 0.9) == pytest.approx(1 - regularized_beta(3, 2, 0.1))
    with pytest.raises(ValueError):
        regularized_beta(0, 1, 0.5)


def test_normal_quantile() -> None:
    assert normal_ppf(0.95) == pytest.approx(1.6449, abs=1e-4)
    assert normal_ppf(0.99) == pytest.approx(2.3263, abs=1e-4)


def test_fit_student_t_recovers_dof() -> None:
    rng = np.random.default_rng(7)
    mu, sd, dof = fit_student_t(3.0 + 2.0 * rng.standard_t(5, 50_000))
    assert mu == pytest.approx(3.0, abs=0.05)
    assert sd == pytest.approx(2.0 * math.sqrt(5 / 3), rel=0.05)
    assert 4.0 < dof < 6.5
    _, _, dof_normal = fit_student_t(rng.normal(size=50_000))
    assert dof_normal > 50


# --- VaR / CVaR ---------------------------------------------------------------------------
def test_historical_var_cvar_by_hand() -> None:
    pnl = np.arange(1, 101, dtype=float) - 51.0  # losses 50, 49, ..., gains up to 49
    m = var_cvar_historical(pnl, 0.95)  # k = 5 worst: 50, 49, 48, 47, 46
    assert (m.var, m.cvar, m.n) == (46.0, 48.0, 100)
    m99 = var_cvar_historical(pnl, 0.99)  # k = 1
    assert (m99.var, m99.cvar) == (50.0, 50.0)
    with_nan = var_cvar_historical(np.append(pnl, np.nan), 0.95)
    assert with_nan.var == 46.0 and with_nan.n == 100


def test_normal_var_of_a_standard_normal() -> None:
    x = np.array([-1.0, 1.0])  # mean 0, sample sd sqrt(2)
    m = var_cvar_normal(x / math.sqrt(2), 0.95)
    assert m.var == pytest.approx(1.6449, abs=1e-4)
    assert m.cvar == pytest.approx(math.exp(-(1.6448536**2) / 2) / math.sqrt(2 * math.pi) / 0.05, abs=1e-4)
    assert m.cvar == pytest.approx(2.0627, abs=1e-4)
    m99 = var_cvar_normal(x / math.sqrt(2) + 0.5, 0.99)  # a positive mean lowers the loss
    assert m99.var == pytest.approx(2.3263 - 0.5, abs=1e-4)
    assert m99.cvar == pytest.approx(2.6652 - 0.5, abs=1e-4)


def test_student_t_var_cvar_formulas() -> None:
    # dof 5, unit scale (sd = sqrt(5/3)): VaR = t_0.95(5) = 2.0150
    var, cvar = student_t_var_cvar(0.0, math.sqrt(5 / 3), 5.0, 0.95)
    assert var == pytest.approx(2.0150, abs=1e-4)
    # CVaR = f(t) (dof + t^2) / ((dof - 1)(1 - alpha)) = 2.8901 for dof 5 at 95%
    assert cvar == pytest.approx(2.8901, abs=1e-3)
    # against a long simulation of a standard t(5)
    rng = np.random.default_rng(3)
    sim = var_cvar_historical(rng.standard_t(5, 2_000_000), 0.95)
    assert sim.var == pytest.approx(var, rel=0.01) and sim.cvar == pytest.approx(cvar, rel=0.01)
    with pytest.raises(ValueError, match="dof > 2"):
        student_t_var_cvar(0.0, 1.0, 2.0, 0.95)


def test_student_t_heavier_tails_than_normal_at_99() -> None:
    rng = np.random.default_rng(11)
    x = rng.standard_t(4, 20_000)
    t = var_cvar_student_t(x, 0.99)
    n = var_cvar_normal(x, 0.99)
    assert t.dof is not None and 3.0 < t.dof < 5.5
    assert t.cvar > n.cvar
    h = var_cvar_historical(x, 0.99)
    assert abs(t.cvar - h.cvar) < abs(n.cvar - h.cvar)
    given = var_cvar_student_t(x, 0.99, dof=4.0)
    assert given.dof == 4.0


def test_monte_carlo_is_seeded_and_converges_to_the_parametric_value() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(0.0, 2.0, 5_000)
    a = var_cvar_monte_carlo(x, 0.95, seed=1, dist="normal", n_sims=200_000)
    b = var_cvar_monte_carlo(x, 0.95, seed=1, dist="normal", n_sims=200_000)
    c = var_cvar_monte_carlo(x, 0.95, seed=2, dist="normal", n_sims=200_000)
    assert a == b and a != c
    p = var_cvar_normal(x, 0.95)
    assert a.var == pytest.approx(p.var, rel=0.02) and a.cvar == pytest.approx(p.cvar, rel=0.02)
    t = var_cvar_monte_carlo(x, 0.99, seed=1, dist="student_t", dof=6.0, n_sims=400_000)
    tv, tc = student_t_var_cvar(float(x.mean()), float(x.std(ddof=1)), 6.0, 0.99)
    assert t.var == pytest.approx(tv, rel=0.03) and t.cvar == pytest.approx(tc, rel=0.03)
    with pytest.raises(ValueError, match="dist"):
        var_cvar_monte_carlo(x, 0.95, dist="laplace")  # type: ignore[arg-type]


def test_all_measures_covers_every_method_and_alpha() -> None:
    x = np.random.default_rng(2).normal(size=1_000)
    ms = all_measures(x)
    assert {(m.method, m.alpha) for m in ms} == {
        (meth, a) for meth in ("historical", "normal", "student_t", "monte_carlo") for a in (0.95, 0.99)
    }
    assert all(m.cvar >= m.var for m in ms)


@pytest.mark.parametrize("alpha", [0.4, 1.0])
def test_alpha_out_of_range(alpha: float) -> None:
    with pytest.raises(ValueError, match="alpha"):
        var_cvar_historical([1.0, 2.0], alpha)


def test_aggregate_daily_sums_per_trading_day() -> None:
    days = np.array(["2026-01-06", "2026-01-05", "2026-01-06", "2026-01-05"], dtype="datetime64[D]")
    keys, sums = aggregate_daily(np.array([1.0, 2.0, 3.0, np.nan]), days)
    assert keys.tolist() == list(np.array(["2026-01-05", "2026-01-06"], dtype="datetime64[D]").tolist())
    assert sums.tolist() == [2.0, 4.0]
    with pytest.raises(ValueError):
        aggregate_daily(np.ones(3), days)


# --- stress -------------------------------------------------------------------------------
CU = StressPosition("SHFE.cu2602", net=2, sigma=800.0, multiplier=5.0, price_tick=10.0)
AU = StressPosition("SHFE.au2602", net=-1, sigma=6.0, multiplier=1000.0, price_tick=0.02)


def test_stress_scenarios_by_hand() -> None:
    # v = [2*800*5, -1*6*1000] = [8000, -6000]
    r = stress_test([CU, AU], loss_limit=50_000.0, n_sigma=3.0, freeze_ticks=2.0)
    assert r.losses["n_sigma"] == pytest.approx(3 * 10_000.0)  # independent: sqrt(8000^2 + 6000^2)
    # exits: cu 2 * 10 * 5 * (1 + 2) = 300, au 2 * 0.02 * 1000 * 1 = 40
    assert r.losses["liquidity_freeze"] == pytest.approx(30_000.0 + 340.0)
    assert r.losses["correlation_spike"] == pytest.approx(3 * 14_000.0)
    assert r.worst_scenario == "correlation_spike" and r.worst_loss == pytest.approx(42_000.0)
    assert r.passed
    assert not stress_test([CU, AU], loss_limit=41_999.0).passed
    # with a given correlation of -1 between a long and a short, the n-sigma move adds up
    corr = np.array([[1.0, -1.0], [-1.0, 1.0]])
    assert stress_test([CU, AU], loss_limit=1e9, correlation=corr).losses["n_sigma"] == pytest.approx(42_000.0)
    with pytest.raises(ValueError, match="correlation"):
        stress_test([CU, AU], loss_limit=1.0, correlation=np.eye(3))


def test_pre_trade_stress_applies_the_order_and_working_lots() -> None:
    buy = OrderRequest("SHFE.cu2602", codes.BUY, 1, 75_000.0)
    r = pre_trade_stress(buy, [CU], loss_limit=60_000.0, working_same_side=1, n_sigma=3.0, freeze_ticks=0.0)
    assert r.losses["n_sigma"] == pytest.approx(3 * 4 * 800 * 5)  # net 2 + 1 working + 1
    assert r.passed
    sell = OrderRequest("SHFE.cu2602", codes.SELL, 2, 75_000.0)
    flat = pre_trade_stress(sell, [CU, AU], loss_limit=1.0, n_sigma=3.0, freeze_ticks=0.0)
    assert flat.losses["n_sigma"] == pytest.approx(18_000.0)  # only gold is left
    with pytest.raises(ValueError, match="exactly once"):
        pre_trade_stress(buy, [AU], loss_limit=1.0)
