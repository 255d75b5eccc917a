"""Mutual information is ~0 for an independent feature, grows with dependence and is capped by
H(Y); the correlation filter keeps the best of a correlated pair."""

from __future__ import annotations

import numpy as np
import pytest

from ghtrader.domain.evaluation import EvaluationError
from ghtrader.domain.evaluation.feature_scores import correlation_filter, mutual_information


def test_mutual_information_orders_dependence() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 20_000).astype(np.float64)
    noise = rng.standard_normal(y.shape[0])
    weak, strong = y + 3.0 * noise, y + 0.3 * noise
    independent = rng.standard_normal(y.shape[0])
    mi = [mutual_information(v, y) for v in (independent, weak, strong, y)]
    assert mi[0] < 0.002 < mi[1] < mi[2] <= mi[3] <= np.log(3) + 1e-9
    assert abs(mi[3] - np.log(3)) < 0.01  # the label itself: H(Y) of three even classes
    with_nan = strong.copy()
    with_nan[::3] = np.nan
    assert abs(mutual_information(with_nan, y) - mi[2]) < 0.02
    assert mutual_information(np.ones(100), y[:100]) == 0.0
    with pytest.raises(EvaluationError):
        mutual_information(strong, y, bins=1)


def test_correlation_filter_keeps_the_better_of_a_pair() -> None:
    rng = np.random.default_rng(1)
    a = rng.standard_normal(500)
    x = np.column_stack([a, rng.standard_normal(500), a * 2 + 0.01 * rng.standard_normal(500), np.ones(500)])
    x[::7, 1] = np.nan
    kept, dropped = correlation_filter(x, [2, 0, 1, 3], 0.95)
    assert kept == [2, 1] and dropped == {0: 2}  # 3 is constant: no information, neither kept nor a duplicate
    kept, dropped = correlation_filter(x, [0, 1, 2], 1.0)
    assert kept == [0, 1, 2] and dropped == {}
