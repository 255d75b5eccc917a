"""Alpha decay: IC (Spearman / Pearson), directional accuracy and the half-life horizon."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ghtrader.domain.evaluation import (
    EvaluationError,
    alpha_decay,
    directional_accuracy,
    half_life_horizon,
    information_coefficient,
)
from ghtrader.domain.evaluation.decay import rank_average


def test_average_ranks_and_spearman_without_ties() -> None:
    assert rank_average(np.array([10.0, 20.0, 20.0, 30.0, 5.0])).tolist() == [2.0, 3.5, 3.5, 5.0, 1.0]
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=200), rng.normal(size=200)
    b = a + b
    # no ties: rho = 1 - 6 sum d^2 / (n (n^2 - 1))
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    n = 200
    classic = 1 - 6 * float(np.sum((ra - rb) ** 2)) / (n * (n * n - 1))
    assert information_coefficient(a, b) == pytest.approx(classic, rel=1e-12)
    pearson = float(np.sum((a - a.mean()) * (b - b.mean())) / (n * a.std() * b.std()))
    assert information_coefficient(a, b, "pearson") == pytest.approx(pearson, rel=1e-12)


def test_spearman_with_ties_matches_scipy() -> None:
    from scipy import stats

    rng = np.random.default_rng(2)
    a = rng.integers(-3, 4, 500).astype(float)  # many ties, like a tick-valued dmid
    b = a + rng.integers(-4, 5, 500)
    assert information_coefficient(a, b) == pytest.approx(float(stats.spearmanr(a, b).statistic), rel=1e-12)


def test_nan_rows_and_degenerate_inputs() -> None:
    a = np.array([1.0, 2.0, np.nan, 4.0, 5.0])
    b = np.array([2.0, 4.0, 6.0, np.nan, 10.0])
    assert information_coefficient(a, b) == pytest.approx(1.0)  # rows 0, 1, 4
    assert math.isnan(information_coefficient(np.ones(10), np.arange(10.0)))
    assert math.isnan(information_coefficient(np.arange(2.0), np.arange(2.0)))
    with pytest.raises(EvaluationError):
        information_coefficient(a, b, "kendall")  # type: ignore[arg-type]


def test_directional_accuracy_by_hand() -> None:
    score = np.array([0.3, -0.2, 0.0, 0.1, -0.4, np.nan, 0.5])
    move = np.array([10.0, 10.0, 10.0, 0.0, -20.0, 10.0, 30.0])
    # usable rows 0, 1, 4, 6 (score 0, move 0 and NaN excluded): agree on 0, 4, 6
    assert directional_accuracy(score, move) == (pytest.approx(0.75), 4)


def test_half_life_of_an_exact_exponential_decay() -> None:
    hs = [10, 50, 100, 200]
    for tau in (30.0, 80.0, 150.0):
        ic = [0.2 * math.exp(-(h - 10) / tau) for h in hs]
        assert half_life_horizon(hs, ic) == pytest.approx(10 + tau * math.log(2), rel=1e-12)


def test_half_life_after_a_peak_linear_crossing_and_none() -> None:
    # peak 0.3 at 50; target 0.15 between 100 (0.2) and 200 (-0.1): linear because of the sign change
    assert half_life_horizon([10, 50, 100, 200], [0.1, 0.3, 0.2, -0.1]) == pytest.approx(100 + (0.05 / 0.3) * 100)
    assert half_life_horizon([10, 50, 100], [0.1, 0.09, 0.08]) is None  # never halves
    assert half_life_horizon([10, 50, 100], [-0.1, -0.2, 0.0]) is None  # no positive IC
    assert half_life_horizon([10, 50, 100], [math.nan, 0.4, 0.2]) == pytest.approx(100.0)
    with pytest.raises(EvaluationError):
        half_life_horizon([50, 10], [0.1, 0.2])


def test_alpha_decay_recovers_a_planted_exponential_decay() -> None:
    rng = np.random.default_rng(7)
    n, tau = 200_000, 80.0
    score = rng.normal(size=n)
    realised = {}
    for h in (10, 50, 100, 200, 400):
        rho = 0.6 * math.exp(-h / tau)
        realised[h] = rho * score + math.sqrt(1 - rho * rho) * rng.normal(size=n)
    realised[10][:100] = np.nan
    rep = alpha_decay(score, realised, method="pearson")
    assert rep.horizons == (10, 50, 100, 200)  # the default horizons present
    for h, ic in zip(rep.horizons, rep.ic, strict=True):
        assert ic == pytest.approx(0.6 * math.exp(-h / tau), abs=0.01)
    assert rep.n[0] == n - 100 and rep.n[1] == n
    # half-life of the IC: tau ln 2 after the peak at 10 -> 10 + 80 ln 2
    assert rep.half_life == pytest.approx(10 + tau * math.log(2), abs=4.0)
    assert rep.accuracy[0] > rep.accuracy[-1] > 0.5
    spear = alpha_decay(score, realised, horizons=[10, 50, 100, 200, 400])
    assert spear.ic[0] > spear.ic[1] > spear.ic[2] > spear.ic[3] > 0 and spear.half_life is not None
    d = spear.to_dict()
    assert d["method"] == "spearman" and [x["horizon"] for x in d["by_horizon"]] == [10, 50, 100, 200, 400]


def test_alpha_decay_needs_its_horizons() -> None:
    with pytest.raises(EvaluationError):
        alpha_decay(np.zeros(5), {7: np.zeros(5)})
    with pytest.raises(EvaluationError):
        alpha_decay(np.zeros(5), {10: np.zeros(5)}, horizons=[10, 50])
