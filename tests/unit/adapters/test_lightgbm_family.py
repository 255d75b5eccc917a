"""LightGBMFamily: learns a planted signal with early stopping, deterministic, NaN handled
natively, save/load round trip, and an onnxmltools graph whose probabilities equal the
booster's through the ONNX runtime (atol 1e-5)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from ghtrader.adapters.lightgbm import LightGBMFamily
from ghtrader.adapters.onnx import OnnxInferenceRuntime
from ghtrader.application.errors import FailedPrecondition, InvalidArgument
from ghtrader.application.ports.models import FeatureFrame, TrainConfig
from tests.fakes.frames import synthetic_frame
from tests.fakes.tabular_frames import planted_frame

PARAMS = {"num_boost_round": 300, "early_stopping_rounds": 10, "learning_rate": 0.2, "num_leaves": 15, "num_threads": 1}
CONFIG = TrainConfig(horizon=10, seed=3, params=PARAMS)


def _split(frame: FeatureFrame, at: float = 0.7) -> tuple[FeatureFrame, FeatureFrame]:
    cut = int(len(frame) * at)
    return frame.take(np.arange(cut - frame.horizon)), frame.take(np.arange(cut, len(frame)))


@pytest.fixture(scope="module")
def fitted():
    train, valid = _split(planted_frame(4000, 5, seed=4, nan_fraction=0.05))
    return LightGBMFamily().fit(train, valid, CONFIG), train, valid


def test_learns_the_planted_signal_and_stops_early(fitted) -> None:
    model, _, valid = fitted
    ok = ~np.isnan(valid.labels)
    y = valid.labels[ok].astype(int)
    accuracy = float((model.predict_proba(valid)[ok].argmax(axis=1) == y).mean())
    assert accuracy > np.bincount(y).max() / y.size + 0.15
    assert 1 <= model.best_iteration < PARAMS["num_boost_round"]  # early stopping on valid
    assert model.booster.current_iteration() <= model.best_iteration + PARAMS["early_stopping_rounds"]


def test_fit_is_deterministic_and_reports_progress(fitted) -> None:
    model, train, valid = fitted
    calls: list[tuple[int, int, str]] = []
    again = LightGBMFamily().fit(train, valid, CONFIG, lambda d, t, m: calls.append((d, t, m)))
    np.testing.assert_array_equal(again.predict_proba(valid), model.predict_proba(valid))
    assert calls and calls[-1][0] == calls[-1][1] and "best round" in calls[-1][2]


def test_nan_features_are_routed_natively(fitted) -> None:
    model, _, valid = fitted
    x = valid.features.copy()
    x[:, 0] = np.nan
    p = model.predict_proba(replace(valid, features=x))
    assert np.isfinite(p).all() and np.allclose(p.sum(axis=1), 1.0)
    assert not np.allclose(p, model.predict_proba(valid))  # the missing value changed the route


def test_onnx_probabilities_equal_the_booster(fitted, tmp_path: Path) -> None:
    model, _, valid = fitted
    signature = model.export_onnx(tmp_path / "m.onnx")
    assert signature.input_name == "features" and signature.input_shape == ("batch", 5)
    x, rows = model.inputs(valid)
    assert np.isnan(x).any()
    session = OnnxInferenceRuntime().load(tmp_path / "m.onnx", prefer_gpu=False)
    np.testing.assert_allclose(session.run(x), model.predict_proba(valid)[rows], atol=1e-5)
    np.testing.assert_allclose(session.run(x[:1]), model.predict_proba(valid)[:1], atol=1e-5)


def test_onnx_parity_on_real_factor_columns(tmp_path: Path) -> None:
    frame = synthetic_frame(days=2, horizon=10)
    train, valid = _split(frame)
    model = LightGBMFamily().fit(train, valid, replace(CONFIG, max_train_rows=8000))
    model.export_onnx(tmp_path / "m.onnx")
    x, rows = model.inputs(valid)
    session = OnnxInferenceRuntime().load(tmp_path / "m.onnx", prefer_gpu=False)
    np.testing.assert_allclose(session.run(x), model.predict_proba(valid)[rows], atol=1e-5)


def test_save_load_round_trip_keeps_only_the_best_trees(fitted, tmp_path: Path) -> None:
    model, _, valid = fitted
    model.save(tmp_path / "w")
    loaded = LightGBMFamily().load(tmp_path / "w")
    assert loaded.feature_names == model.feature_names
    assert loaded.best_iteration == model.best_iteration == loaded.booster.current_iteration()
    np.testing.assert_allclose(loaded.predict_proba(valid), model.predict_proba(valid), atol=1e-12)
    assert loaded.describe()["normalization"]["kind"] == "none"


def test_load_refuses_mismatched_files(fitted, tmp_path: Path) -> None:
    model, _, _ = fitted
    model.save(tmp_path / "w")
    meta = tmp_path / "w" / "lightgbm_model.json"
    meta.write_text(meta.read_text().replace('"x4"', '"x4", "x5"'))
    with pytest.raises(FailedPrecondition, match="features"):
        LightGBMFamily().load(tmp_path / "w")
    (tmp_path / "w" / "lightgbm_booster.txt").write_text("garbage")
    with pytest.raises(FailedPrecondition, match="booster"):
        LightGBMFamily().load(tmp_path / "w")


def test_unusable_training_data_is_refused() -> None:
    train, valid = _split(planted_frame(1500, 4, seed=5))
    empty = replace(train, labels=np.full(len(train), np.nan))
    with pytest.raises(InvalidArgument, match="no labelled rows"):
        LightGBMFamily().fit(empty, valid, CONFIG)
    with pytest.raises(InvalidArgument, match="unknown lightgbm params"):
        LightGBMFamily().fit(train, valid, TrainConfig(horizon=10, params={"n_estimators": 5}))
