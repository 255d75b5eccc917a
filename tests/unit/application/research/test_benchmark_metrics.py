"""Pieces of the benchmark scoring: realized moves and the oracle threshold fitted on train."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ghtrader.application.research.benchmark_metrics import (
    ORACLE_THRESHOLD_GRID_TICKS,
    fit_oracle_threshold,
    oracle_codes,
    realized_moves,
)
from ghtrader.domain.evaluation import macro_f1
from tests.fakes.frames import synthetic_frame


def _one_hot(codes: np.ndarray) -> np.ndarray:
    return np.eye(3)[codes.astype(np.int64)]


def test_realized_moves_from_mid_match_the_label_build() -> None:
    frame = synthetic_frame(days=2, tick_interval_ms=5000)
    stored = realized_moves(frame, [10, 50])
    bare = replace(frame, extras={})
    computed = realized_moves(bare, [10, 50, 37])
    for h in (10, 50):
        np.testing.assert_array_equal(stored[h], frame.extras[f"dmid_h{h}"])
        np.testing.assert_allclose(computed[h], stored[h], equal_nan=True)
    m = frame.mid
    np.testing.assert_allclose(computed[37][:100], m[37:137] - m[:100])


def test_oracle_threshold_is_the_best_of_the_grid_on_training_rows() -> None:
    frame = synthetic_frame(days=2, tick_interval_ms=5000)
    e, y = frame.extras["oracle_dmid"], frame.labels
    threshold, f1 = fit_oracle_threshold(e, y, frame.price_tick)
    ok = np.isfinite(e) & np.isfinite(y)
    scores = []
    for t in ORACLE_THRESHOLD_GRID_TICKS:
        pred = np.where(e[ok] > t * 10.0, 2, np.where(e[ok] < -t * 10.0, 0, 1))
        scores.append(macro_f1(y[ok], _one_hot(pred)))
    assert f1 == max(scores)
    assert threshold == ORACLE_THRESHOLD_GRID_TICKS[int(np.argmax(scores))] * 10.0
    # below the labels' own k = 1 tick: the realized move is the expectation plus noise
    assert 0 < threshold < 10.0
    assert f1 > scores[ORACLE_THRESHOLD_GRID_TICKS.index(1.0)]


def test_oracle_codes_prefer_the_fitted_expectation() -> None:
    frame = synthetic_frame(days=2, tick_interval_ms=5000)
    train = np.arange(len(frame) // 2)
    codes, fit = oracle_codes(frame, train)
    assert codes is not None and fit is not None and fit.threshold is not None
    e = frame.extras["oracle_dmid"]
    assert np.all(codes[e > fit.threshold] == 2) and np.all(codes[e < -fit.threshold] == 0)
    given, fit2 = oracle_codes(replace(frame, extras={"oracle_direction": frame.extras["oracle_direction"]}), train)
    assert fit2 is not None and fit2.source == "oracle_direction" and fit2.threshold is None
    np.testing.assert_array_equal(given, frame.extras["oracle_direction"])
    assert oracle_codes(replace(frame, extras={}), train) == (None, None)
