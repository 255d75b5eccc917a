"""Probability calibration: the fits recover a known temperature and a known (W, b) from labels
drawn with them, lower the log-loss of miscalibrated probabilities, keep NaN rows NaN, fall
back to the identity with a note, and round-trip through to_dict / from_dict."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ghtrader.domain.evaluation import EvaluationError, expected_calibration_error, log_loss
from ghtrader.domain.evaluation.probability_calibration import (
    ProbabilityCalibrator,
    apply_calibration,
    fit_calibrator,
    fit_logistic_calibration,
    fit_temperature,
    identity_calibrator,
)


def _base_probs(n: int, seed: int, scale: float = 2.0) -> np.ndarray:
    logits = np.random.default_rng(seed).normal(size=(n, 3)) * scale
    p = np.exp(logits)
    return p / p.sum(axis=1, keepdims=True)


def _draw(q: np.ndarray, seed: int) -> np.ndarray:
    """One label per row drawn from the row's probabilities ``q``."""
    u = np.random.default_rng(seed).random(q.shape[0])[:, None]
    return (u > np.cumsum(q, axis=1)).sum(axis=1).astype(np.float64)


def test_temperature_is_recovered_from_labels_drawn_with_it() -> None:
    p = _base_probs(40_000, seed=1)
    for true_t in (0.5, 2.0):
        y = _draw(apply_calibration(np.eye(3) / true_t, np.zeros(3), p), seed=2)
        cal = fit_temperature(y, p)
        assert cal.method == "temperature" and cal.rows == 40_000
        assert cal.temperature == pytest.approx(true_t, rel=0.05)
        assert cal.log_loss_after < cal.log_loss_before
        assert cal.ece_after < cal.ece_before
        np.testing.assert_allclose(cal.bias, 0.0)
        np.testing.assert_allclose(cal.weights, np.eye(3) / cal.temperature)


def test_logistic_recovers_known_weights_and_bias() -> None:
    # Softmax ignores a shift shared by every row of [W | b]; the L2 pull toward [I | 0] picks
    # the representative whose rows of [W - I | b] sum to zero, so the truth is built that way.
    delta = np.array([[-0.4, 0.1, -0.1], [0.1, -0.2, 0.3], [0.3, 0.1, -0.2]])
    w_true = np.eye(3) + delta
    b_true = np.array([0.3, -0.2, -0.1])
    p = _base_probs(60_000, seed=3)
    y = _draw(apply_calibration(w_true, b_true, p), seed=4)
    cal = fit_logistic_calibration(y, p, l2=1e-6)
    assert cal.method == "logistic"
    np.testing.assert_allclose(cal.weights, w_true, atol=0.05)
    np.testing.assert_allclose(cal.bias, b_true, atol=0.05)
    assert cal.log_loss_after < cal.log_loss_before


def test_logistic_fixes_a_prior_shift_temperature_cannot() -> None:
    # Probabilities that over-weight the rare classes (as balanced class weights do).
    p_true = _base_probs(30_000, seed=5, scale=1.0)
    p_true[:, 1] *= 6.0
    p_true /= p_true.sum(axis=1, keepdims=True)
    y = _draw(p_true, seed=6)
    skewed = p_true * np.array([3.0, 0.5, 3.0])
    skewed /= skewed.sum(axis=1, keepdims=True)
    logistic = fit_calibrator("logistic", y, skewed)
    temperature = fit_calibrator("temperature", y, skewed)
    assert logistic.ece_after < 0.02 < logistic.ece_before
    assert logistic.log_loss_after < temperature.log_loss_after
    # Held-out rows drawn the same way get the same improvement.
    y2 = _draw(p_true, seed=7)
    assert expected_calibration_error(y2, logistic.apply(skewed)) < 0.5 * expected_calibration_error(y2, skewed)
    assert log_loss(y2, logistic.apply(skewed)) < log_loss(y2, skewed)


def test_nan_rows_stay_nan_and_are_not_fitted_on() -> None:
    p = _base_probs(3000, seed=8)
    y = _draw(p, seed=9)
    p_nan = p.copy()
    p_nan[:50] = np.nan
    y[60:70] = np.nan
    cal = fit_logistic_calibration(y, p_nan)
    assert cal.rows == 3000 - 60
    out = cal.apply(p_nan)
    assert np.isnan(out[:50]).all() and np.isfinite(out[50:]).all()
    np.testing.assert_allclose(out[50:].sum(axis=1), 1.0)


def test_identity_fallback_when_rows_are_few_or_a_class_is_missing() -> None:
    p = _base_probs(400, seed=10)
    y = _draw(p, seed=11)
    few = fit_calibrator("logistic", y, p, min_rows=500)
    assert few.is_identity and "fewer than 500" in few.note and few.rows == 400
    assert few.log_loss_after == few.log_loss_before
    np.testing.assert_array_equal(few.apply(p), p)
    two = fit_calibrator("temperature", np.where(y == 2, 1.0, y), p, min_rows=100)
    assert two.is_identity and "absent" in two.note
    off = fit_calibrator("identity", y, p)
    assert off.is_identity and off.note == "calibration switched off"
    with pytest.raises(EvaluationError):
        fit_calibrator("isotonic", y, p)  # type: ignore[arg-type]


def test_round_trip_through_json() -> None:
    p = _base_probs(2000, seed=12)
    cal = fit_logistic_calibration(_draw(p, seed=13), p)
    back = ProbabilityCalibrator.from_dict(json.loads(json.dumps(cal.to_dict())))
    assert back.to_dict() == cal.to_dict()
    np.testing.assert_array_equal(back.apply(p), cal.apply(p))
    empty = identity_calibrator("nothing")
    assert ProbabilityCalibrator.from_dict(json.loads(json.dumps(empty.to_dict()))).note == "nothing"
    with pytest.raises(EvaluationError):
        ProbabilityCalibrator.from_dict({"method": "logistic", "weights": [[1.0]], "bias": [0.0], "rows": 1})
