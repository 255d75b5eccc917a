"""XGBoostFamily: learns a planted signal with early stopping, deterministic, NaN routed by
default directions, save/load round trip, and an onnxmltools graph whose probabilities equal
the booster's through the ONNX runtime (atol 1e-5) with the same predicted classes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from ghtrader.adapters.onnx import OnnxInferenceRuntime
from ghtrader.adapters.xgboost import XGBoostFamily
from ghtrader.application.errors import FailedPrecondition, InvalidArgument
from ghtrader.application.ports.models import FeatureFrame, TrainConfig
from tests.fakes.frames import synthetic_frame
from tests.fakes.tabular_frames import planted_frame

PARAMS = {"num_boost_round": 300, "early_stopping_rounds": 10, "learning_rate": 0.3, "max_depth": 4, "num_threads": 1}
CONFIG = TrainConfig(horizon=10, seed=3, params=PARAMS)


def _split(frame: FeatureFrame, at: float = 0.7) -> tuple[FeatureFrame, FeatureFrame]:
    cut = int(len(frame) * at)
    return frame.take(np.arange(cut - frame.horizon)), frame.take(np.arange(cut, len(frame)))


@pytest.fixture(scope="module")
def fitted():
    train, valid = _split(planted_frame(4000, 5, seed=4, nan_fraction=0.05))
    return XGBoostFamily().fit(train, valid, CONFIG), train, valid


def test_learns_the_planted_signal_and_stops_early(fitted) -> None:
    model, _, valid = fitted
    ok = ~np.isnan(valid.labels)
    y = valid.labels[ok].astype(int)
    p = model.predict_proba(valid)
    assert p.shape == (len(valid), 3) and np.allclose(p.sum(axis=1), 1.0)
    accuracy = float((p[ok].argmax(axis=1) == y).mean())
    assert accuracy > np.bincount(y).max() / y.size + 0.15
    assert 1 <= model.best_iteration < PARAMS["num_boost_round"]  # early stopping on valid
    assert model.best_iteration < model.rounds_trained <= model.best_iteration + PARAMS["early_stopping_rounds"]
    assert model.booster.num_boosted_rounds() == model.best_iteration  # only the best trees are kept


def test_fit_is_deterministic_and_reports_progress(fitted) -> None:
    model, train, valid = fitted
    calls: list[tuple[int, int, str]] = []
    again = XGBoostFamily().fit(train, valid, CONFIG, lambda d, t, m: calls.append((d, t, m)))
    np.testing.assert_array_equal(again.predict_proba(valid), model.predict_proba(valid))
    assert calls and calls[-1][0] == calls[-1][1] and "best round" in calls[-1][2]
    other = XGBoostFamily().fit(train, valid, replace(CONFIG, seed=4))
    assert not np.array_equal(other.predict_proba(valid), model.predict_proba(valid))  # the seed matters (subsample)


def test_class_weights_change_the_model(fitted) -> None:
    model, train, valid = fitted
    plain = XGBoostFamily().fit(train, valid, replace(CONFIG, params=PARAMS | {"class_weight": None}))
    assert not np.allclose(plain.predict_proba(valid), model.predict_proba(valid))


def test_nan_features_are_routed_natively(fitted) -> None:
    model, _, valid = fitted
    x = valid.features.copy()
    x[:, 0] = np.nan
    p = model.predict_proba(replace(valid, features=x))
    assert np.isfinite(p).all() and np.allclose(p.sum(axis=1), 1.0)
    assert not np.allclose(p, model.predict_proba(valid))  # the missing value changed the route


def test_onnx_probabilities_and_classes_equal_the_booster(fitted, tmp_path: Path) -> None:
    model, _, valid = fitted
    signature = model.export_onnx(tmp_path / "m.onnx")
    assert signature.input_name == "features" and signature.input_shape == ("batch", 5)
    assert signature.output_name == "probabilities"
    x, rows = model.inputs(valid)
    assert np.isnan(x).any()
    session = OnnxInferenceRuntime().load(tmp_path / "m.onnx", prefer_gpu=False)
    expected = model.predict_proba(valid)[rows]
    got = session.run(x)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert np.array_equal(got.argmax(axis=1), expected.argmax(axis=1))
    np.testing.assert_allclose(session.run(x[:1]), expected[:1], atol=1e-5)


def test_onnx_parity_on_real_factor_columns(tmp_path: Path) -> None:
    train, valid = _split(synthetic_frame(days=2, horizon=10))
    model = XGBoostFamily().fit(train, valid, replace(CONFIG, max_train_rows=8000))
    model.export_onnx(tmp_path / "m.onnx")
    x, rows = model.inputs(valid)
    session = OnnxInferenceRuntime().load(tmp_path / "m.onnx", prefer_gpu=False)
    expected = model.predict_proba(valid)[rows]
    got = session.run(x)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert np.array_equal(got.argmax(axis=1), expected.argmax(axis=1))


def test_save_load_round_trip(fitted, tmp_path: Path) -> None:
    model, _, valid = fitted
    written = model.save(tmp_path / "w")
    assert sorted(p.name for p in written) == ["xgboost_booster.json", "xgboost_model.json"]
    loaded = XGBoostFamily().load(tmp_path / "w")
    assert loaded.feature_names == model.feature_names
    assert loaded.best_iteration == model.best_iteration and loaded.rounds_trained == model.rounds_trained
    np.testing.assert_array_equal(loaded.predict_proba(valid), model.predict_proba(valid))
    described = loaded.describe()
    assert described["normalization"]["kind"] == "none" and described["parameter_count"] == 3 * model.best_iteration


def test_load_refuses_mismatched_files(fitted, tmp_path: Path) -> None:
    model, _, _ = fitted
    model.save(tmp_path / "w")
    meta = tmp_path / "w" / "xgboost_model.json"
    meta.write_text(meta.read_text().replace('"x4"', '"x4", "x5"'))
    with pytest.raises(FailedPrecondition, match="features"):
        XGBoostFamily().load(tmp_path / "w")
    (tmp_path / "w" / "xgboost_booster.json").write_text("garbage")
    with pytest.raises(FailedPrecondition, match="booster"):
        XGBoostFamily().load(tmp_path / "w")
    with pytest.raises(FailedPrecondition, match="no XGBoost model"):
        XGBoostFamily().load(tmp_path / "missing")


def test_unusable_training_data_is_refused() -> None:
    train, valid = _split(planted_frame(1500, 4, seed=5))
    empty = replace(train, labels=np.full(len(train), np.nan))
    with pytest.raises(InvalidArgument, match="no labelled rows"):
        XGBoostFamily().fit(empty, valid, CONFIG)
    with pytest.raises(InvalidArgument, match="unknown xgboost params"):
        XGBoostFamily().fit(train, valid, TrainConfig(horizon=10, params={"n_estimators": 5}))
    with pytest.raises(InvalidArgument, match=">= 1"):
        XGBoostFamily().fit(train, valid, TrainConfig(horizon=10, params={"num_boost_round": 0}))
