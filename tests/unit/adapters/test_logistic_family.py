"""LogisticFamily: learns a planted signal, standardisation fitted on train only, NaN -> train
mean, deterministic, save/load round trip, and a hand-built ONNX graph that agrees with it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from ghtrader.adapters.linear import LogisticFamily
from ghtrader.adapters.onnx import OnnxInferenceRuntime
from ghtrader.application.errors import FailedPrecondition, InvalidArgument
from ghtrader.application.ports.models import FeatureFrame, TrainConfig
from tests.fakes.tabular_frames import planted_frame

CONFIG = TrainConfig(horizon=10, params={"l2_path": [0.1, 0.01, 0.001]})


def _split(frame: FeatureFrame, at: float = 0.7) -> tuple[FeatureFrame, FeatureFrame]:
    cut = int(len(frame) * at)
    return frame.take(np.arange(cut - 10)), frame.take(np.arange(cut, len(frame)))


@pytest.fixture(scope="module")
def fitted() -> tuple[object, FeatureFrame, FeatureFrame]:
    train, valid = _split(planted_frame(4000, 5, seed=1))
    return LogisticFamily().fit(train, valid, CONFIG), train, valid


def _accuracy(p: np.ndarray, frame: FeatureFrame) -> tuple[float, float]:
    ok = ~np.isnan(frame.labels)
    y = frame.labels[ok].astype(int)
    return float((p[ok].argmax(axis=1) == y).mean()), float(np.bincount(y).max() / y.size)


def test_learns_the_planted_signal_and_reports_progress() -> None:
    train, valid = _split(planted_frame(4000, 5, seed=1))
    calls: list[tuple[int, int, str]] = []
    model = LogisticFamily().fit(train, valid, CONFIG, lambda d, t, m: calls.append((d, t, m)))
    accuracy, majority = _accuracy(model.predict_proba(valid), valid)
    assert accuracy > majority + 0.15
    assert calls[-1][0] == calls[-1][1] and "best l2" in calls[-1][2]
    assert model.l2 in (0.1, 0.01, 0.001) and len(model.history) >= 2
    best = min(model.history, key=lambda h: h["valid_loss"])
    assert best["l2"] == model.l2  # chosen on the validation split


def test_standardisation_is_fitted_on_labelled_training_rows_only(fitted) -> None:
    model, train, valid = fitted
    ok = ~np.isnan(train.labels)
    np.testing.assert_allclose(model.mean, np.nanmean(train.features[ok].astype(np.float64), axis=0), rtol=1e-9)
    np.testing.assert_allclose(model.std, np.nanstd(train.features[ok].astype(np.float64), axis=0), rtol=1e-9)
    shifted = replace(valid, features=valid.features + 100.0)
    other = LogisticFamily().fit(train, shifted, CONFIG)
    np.testing.assert_array_equal(other.mean, model.mean)  # validation data never moves them


def test_nan_features_take_the_training_mean(fitted) -> None:
    model, _, valid = fitted
    row = valid.take(np.arange(1))
    with_nan = row.features.copy()
    with_nan[0, 2] = np.nan
    at_mean = row.features.copy()
    at_mean[0, 2] = model.mean[2]
    p_nan = model.predict_proba(replace(row, features=with_nan))
    p_mean = model.predict_proba(replace(row, features=at_mean))
    assert np.isfinite(p_nan).all()
    np.testing.assert_allclose(p_nan, p_mean, atol=1e-6)


def test_fit_is_deterministic(fitted) -> None:
    model, train, valid = fitted
    again = LogisticFamily().fit(train, valid, CONFIG)
    np.testing.assert_array_equal(again.weights, model.weights)


def test_onnx_graph_agrees_with_the_model(fitted, tmp_path: Path) -> None:
    model, _, valid = fitted
    signature = model.export_onnx(tmp_path / "m.onnx")
    assert signature.input_shape == ("batch", 5) and signature.output_name == "probabilities"
    x, rows = model.inputs(valid)
    assert np.isnan(x).any()  # NaN rows are part of the comparison
    session = OnnxInferenceRuntime().load(tmp_path / "m.onnx", prefer_gpu=False)
    np.testing.assert_allclose(session.run(x), model.predict_proba(valid)[rows], atol=1e-5)
    np.testing.assert_allclose(session.run(x[:1]), model.predict_proba(valid.take(np.arange(1))), atol=1e-5)


def test_save_load_round_trip(fitted, tmp_path: Path) -> None:
    model, _, valid = fitted
    files = model.save(tmp_path / "w")
    assert all(p.parent == tmp_path / "w" for p in files)
    loaded = LogisticFamily().load(tmp_path / "w")
    assert loaded.feature_names == model.feature_names and loaded.l2 == model.l2
    np.testing.assert_array_equal(loaded.predict_proba(valid), model.predict_proba(valid))
    d = loaded.describe()
    assert d["parameter_count"] == 5 * 3 + 3 and d["normalization"]["fitted_on"].startswith("labelled training")


def test_load_refuses_files_that_do_not_belong_together(fitted, tmp_path: Path) -> None:
    model, _, _ = fitted
    model.save(tmp_path / "w")
    meta = tmp_path / "w" / "logistic_model.json"
    meta.write_text(meta.read_text().replace('"x4"', '"x4", "x5"'))
    with pytest.raises(FailedPrecondition, match="does not match"):
        LogisticFamily().load(tmp_path / "w")
    with pytest.raises(FailedPrecondition, match="no logistic model"):
        LogisticFamily().load(tmp_path / "empty")


def test_prediction_refuses_other_feature_order(fitted) -> None:
    model, _, valid = fitted
    swapped = replace(valid, feature_names=tuple(reversed(valid.feature_names)))
    with pytest.raises(FailedPrecondition, match="names and order"):
        model.predict_proba(swapped)


def test_unusable_training_data_is_refused() -> None:
    train, valid = _split(planted_frame(1500, 4, seed=2))
    with pytest.raises(InvalidArgument, match="single class"):
        LogisticFamily().fit(replace(train, labels=np.where(np.isnan(train.labels), np.nan, 1.0)), valid, CONFIG)
    nan_col = train.features.copy()
    nan_col[:, 3] = np.nan
    with pytest.raises(InvalidArgument, match="x3"):
        LogisticFamily().fit(replace(train, features=nan_col), valid, CONFIG)
    with pytest.raises(InvalidArgument, match="unknown logistic params"):
        LogisticFamily().fit(train, valid, TrainConfig(horizon=10, params={"C": 1.0}))
