"""Pieces of the benchmark scoring: realized moves, the expected-move rule's threshold fitted on train, and the
same classification scores as train validation on the same predictions."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ghtrader.application.ports.models import FeatureFrame
from ghtrader.application.research.benchmark_metrics import (
    EXPECTED_MOVE_THRESHOLD_GRID_TICKS,
    FrameContext,
    expected_move_rule_codes,
    fit_expected_move_threshold,
    realized_moves,
    score_rows,
)
from ghtrader.application.research.train import validation_metrics
from ghtrader.domain.evaluation import CostModel, SignalRule, macro_f1
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


def test_expected_move_threshold_is_the_best_of_the_grid_on_training_rows() -> None:
    frame = synthetic_frame(days=2, tick_interval_ms=5000)
    e, y = frame.extras["oracle_dmid"], frame.labels
    threshold, f1 = fit_expected_move_threshold(e, y, frame.price_tick)
    ok = np.isfinite(e) & np.isfinite(y)
    scores = []
    for t in EXPECTED_MOVE_THRESHOLD_GRID_TICKS:
        pred = np.where(e[ok] > t * 10.0, 2, np.where(e[ok] < -t * 10.0, 0, 1))
        scores.append(macro_f1(y[ok], _one_hot(pred)))
    assert f1 == max(scores)
    assert threshold == EXPECTED_MOVE_THRESHOLD_GRID_TICKS[int(np.argmax(scores))] * 10.0
    # below the labels' own k = 1 tick: the realized move is the expectation plus noise
    assert 0 < threshold < 10.0
    assert f1 > scores[EXPECTED_MOVE_THRESHOLD_GRID_TICKS.index(1.0)]


def test_expected_move_rule_codes_prefer_the_fitted_expectation() -> None:
    frame = synthetic_frame(days=2, tick_interval_ms=5000)
    train = np.arange(len(frame) // 2)
    codes, fit = expected_move_rule_codes(frame, train)
    assert codes is not None and fit is not None and fit.threshold is not None
    e = frame.extras["oracle_dmid"]
    assert np.all(codes[e > fit.threshold] == 2) and np.all(codes[e < -fit.threshold] == 0)
    given, fit2 = expected_move_rule_codes(
        replace(frame, extras={"oracle_direction": frame.extras["oracle_direction"]}), train
    )
    assert fit2 is not None and fit2.source == "oracle_direction" and fit2.threshold is None
    np.testing.assert_array_equal(given, frame.extras["oracle_direction"])
    assert expected_move_rule_codes(replace(frame, extras={}), train) == (None, None)


def _score_like_the_benchmark(frame: FeatureFrame, rows: np.ndarray, probs: np.ndarray) -> dict[str, float]:
    ctx = FrameContext(
        frame=frame,
        moves=realized_moves(frame, [frame.horizon]),
        vol=np.zeros(len(frame)),
        session=np.zeros(len(frame), dtype=np.int8),
        multiplier=5.0,
    )
    score = score_rows(
        ctx,
        rows,
        probs,
        horizon=frame.horizon,
        decay_horizons=[frame.horizon],
        regime_codes=np.zeros(rows.shape[0], dtype=np.int8),
        expected_move_rule=None,
        costs=CostModel(),
        signal=SignalRule(),
        entry="grid",
        n_bins=15,
    )
    return score.flat()


def test_train_validation_and_the_benchmark_score_the_same_predictions_alike() -> None:
    frame = synthetic_frame(days=2, tick_interval_ms=5000)
    rng = np.random.default_rng(3)
    n = len(frame)
    logits = rng.normal(0.0, 1.0, (n, 3))
    # float32 softmax rows, as an ONNX graph returns them (sums off 1 by ~1e-7)
    probs = (np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)).astype(np.float32).astype(np.float64)
    probs[5] = np.nan  # a row the model could not score
    block = np.arange(n // 3, 2 * n // 3)
    without_up = block[frame.labels[block] != 2]  # a fold where UP never occurs
    never_up = probs.copy()
    never_up[:, 1] += never_up[:, 2]
    never_up[:, 2] = 0.0  # ... and where the model never says UP
    for rows, p in ((np.arange(n), probs), (block, probs), (without_up, probs), (without_up, never_up)):
        bench = _score_like_the_benchmark(frame, rows, p[rows])
        train = validation_metrics(frame.take(rows), p[rows])
        assert train["n_valid"] > 0
        for key in ("accuracy", "macro_f1", "log_loss", "brier", "ece"):
            assert train[key] == bench[key], key
    assert validation_metrics(frame.take(without_up), never_up[without_up])["classes_absent"] == ["UP"]
