"""Every family calibrated as the container wires it (CalibratedFamily + the ONNX calibration
writer): the exported graph, run by the ONNX runtime, returns the calibrated probabilities
(atol 1e-5); load(save(model)) predicts identically; calibration lowers the ECE on held-out
rows. Tabular: logistic, lightgbm, xgboost; deep: tcn, deeplob (tiny, one CPU thread)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import onnx
import pytest

from ghtrader.adapters.lightgbm import LightGBMFamily
from ghtrader.adapters.linear import LogisticFamily
from ghtrader.adapters.onnx import OnnxCalibrationGraphWriter, OnnxInferenceRuntime
from ghtrader.adapters.onnx.calibration_graph import append_calibration
from ghtrader.adapters.xgboost import XGBoostFamily
from ghtrader.application.errors import FailedPrecondition
from ghtrader.application.ports.models import FeatureFrame, ModelFamily, TrainConfig
from ghtrader.application.research.calibration import CALIBRATION_FILE, CalibratedFamily, CalibratedModel
from ghtrader.domain.evaluation import expected_calibration_error

TABULAR: dict[str, tuple[ModelFamily, dict]] = {
    "logistic": (LogisticFamily(), {}),
    "lightgbm": (LightGBMFamily(), {"num_boost_round": 150, "learning_rate": 0.1, "num_threads": 1}),
    "xgboost": (XGBoostFamily(), {"num_boost_round": 60, "learning_rate": 0.2, "max_depth": 4, "num_threads": 1}),
}
DEEP = ("tcn", "deeplob")


def _imbalanced_frame(n: int, seed: int) -> FeatureFrame:
    """FLAT-heavy labels (about 70%) from a noisy linear score of x0, x1 (x2, x3 are noise)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4)).astype(np.float32)
    score = x[:, 0] - 0.6 * x[:, 1] + rng.standard_normal(n)
    labels = np.where(score < -1.5, 0.0, np.where(score > 1.5, 2.0, 1.0))
    day = np.minimum(np.arange(n) * 3 // n, 2)
    return FeatureFrame(
        features=x,
        feature_names=("x0", "x1", "x2", "x3"),
        labels=labels,
        segment_id=day.astype(np.int64),
        datetime_ns=1_793_000_000_000_000_000 + np.arange(n, dtype=np.int64) * 500_000_000,
        trading_day=np.array([np.datetime64(date(2026, 11, 2) + timedelta(days=int(d)), "D") for d in day]),
        mid=80_000.0 + np.cumsum(rng.standard_normal(n)),
        spread=np.full(n, 10.0),
        symbol="SHFE.cu2612",
        horizon=10,
        price_tick=10.0,
    )


def _ece(model: CalibratedModel, frame: FeatureFrame) -> tuple[float, float]:
    """ECE on ``frame``'s labelled rows with probabilities: (uncalibrated, calibrated)."""
    cal, raw = model.predict_proba(frame), model.predict_proba_uncalibrated(frame)
    ok = np.isfinite(frame.labels) & np.isfinite(cal).all(axis=1)
    return expected_calibration_error(frame.labels[ok], raw[ok]), expected_calibration_error(frame.labels[ok], cal[ok])


@pytest.fixture(scope="module")
def tabular_splits() -> tuple[FeatureFrame, FeatureFrame, FeatureFrame]:
    frame = _imbalanced_frame(16_000, seed=21)
    return (
        frame.take(np.arange(10_000)),
        frame.take(np.arange(10_010, 12_000)),
        frame.take(np.arange(12_010, 16_000)),
    )


@pytest.fixture(scope="module")
def deep_splits() -> Iterator[tuple[FeatureFrame, FeatureFrame, FeatureFrame]]:
    torch = pytest.importorskip("torch")
    from tests.unit.adapters.torch_deep.frames import market_frame

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    frame = market_frame()
    day0, day1 = np.flatnonzero(frame.segment_id == 0), np.flatnonzero(frame.segment_id == 1)
    yield frame.take(day0[:20_000]), frame.take(day0[20_100:26_000]), frame.take(day1[:12_000])
    torch.set_num_threads(before)


def _fit_tabular(name: str, splits) -> tuple[CalibratedFamily, CalibratedModel]:
    base, params = TABULAR[name]
    family = CalibratedFamily(base, OnnxCalibrationGraphWriter())
    train, valid, _ = splits
    return family, family.fit(train, valid, TrainConfig(horizon=10, seed=1, params=params))


def _fit_deep(name: str, splits) -> tuple[CalibratedFamily, CalibratedModel]:
    from ghtrader.adapters.torch import deep_families
    from tests.unit.adapters.torch_deep.tiny import TINY

    family = CalibratedFamily(deep_families()[name], OnnxCalibrationGraphWriter())
    train, valid, _ = splits
    config = TrainConfig(
        horizon=10,
        window=16,
        max_epochs=2,
        batch_size=128,
        max_train_rows=4000,
        params={**TINY[name], "class_weighting": "balanced"},  # skewed priors: a real calibration task
    )
    return family, family.fit(train, valid, config)


@pytest.fixture(scope="module", params=[*TABULAR, *DEEP])
def fitted(request, tabular_splits, deep_splits):
    name = request.param
    splits = tabular_splits if name in TABULAR else deep_splits
    family, model = (_fit_tabular if name in TABULAR else _fit_deep)(name, splits)
    return name, family, model, splits[2]


def test_the_method_follows_the_family_kind(fitted) -> None:
    name, _, model, _ = fitted
    calibration = model.describe()["calibration"]
    assert calibration["method"] == ("temperature" if name in DEEP else "logistic")
    assert calibration["rows"] >= 1500 and calibration["note"] == ""
    assert calibration["log_loss_after"] < calibration["log_loss_before"]


def test_onnx_graph_returns_the_calibrated_probabilities(fitted, tmp_path: Path) -> None:
    _, _, model, test = fitted
    signature = model.export_onnx(tmp_path / "model.onnx")
    assert signature.output_name == "probabilities"
    session = OnnxInferenceRuntime().load(tmp_path / "model.onnx", prefer_gpu=False)
    assert session.output_name == "probabilities" and session.input_name == signature.input_name
    x, rows = model.inputs(test)
    calibrated = model.predict_proba(test)[rows]
    # The calibrator moves the probabilities far more than the tolerance checked below.
    assert np.abs(calibrated - model.predict_proba_uncalibrated(test)[rows]).max() > 1e-2
    np.testing.assert_allclose(session.run(x), calibrated, atol=1e-5)
    np.testing.assert_allclose(session.run(x[:1]), calibrated[:1], atol=1e-5)


def test_load_of_save_predicts_identically(fitted, tmp_path: Path) -> None:
    _, family, model, test = fitted
    files = model.save(tmp_path / "weights")
    assert (tmp_path / "weights" / CALIBRATION_FILE) in files
    again = family.load(tmp_path / "weights")
    np.testing.assert_array_equal(again.predict_proba(test), model.predict_proba(test))
    assert again.describe()["calibration"] == model.describe()["calibration"]


def test_calibration_lowers_the_ece_on_held_out_rows(fitted) -> None:
    _, _, model, test = fitted
    before, after = _ece(model, test)
    assert after < before


def test_lightgbm_with_balanced_weights_gets_close_to_calibrated(tabular_splits) -> None:
    _, model = _fit_tabular("lightgbm", tabular_splits)
    before, after = _ece(model, tabular_splits[2])
    assert before > 0.05 and after < 0.03


def test_a_model_saved_without_calibration_loads_as_identity(tabular_splits, tmp_path: Path) -> None:
    base = LogisticFamily()
    train, valid, test = tabular_splits
    base.fit(train, valid, TrainConfig(horizon=10)).save(tmp_path)
    model = CalibratedFamily(base, OnnxCalibrationGraphWriter()).load(tmp_path)
    assert model.calibrator.is_identity and CALIBRATION_FILE in model.calibrator.note
    np.testing.assert_array_equal(model.predict_proba(test), model.predict_proba_uncalibrated(test))
    (tmp_path / CALIBRATION_FILE).write_text("{}", encoding="utf-8")
    with pytest.raises(FailedPrecondition, match="calibrator"):
        CalibratedFamily(base, OnnxCalibrationGraphWriter()).load(tmp_path)


def test_append_keeps_other_consumers_on_the_uncalibrated_tensor() -> None:
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [
            helper.make_node("Softmax", ["x"], ["probabilities"], axis=-1),
            helper.make_node("ArgMax", ["probabilities"], ["label"], axis=1, keepdims=0),
        ],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])],
        [
            helper.make_tensor_value_info("label", TensorProto.INT64, ["batch"]),
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 3]),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    out = append_calibration(model, np.eye(3) * 2.0, np.array([0.0, 1.0, 0.0]), 1e-7)
    assert [o.name for o in out.graph.output] == ["label", "probabilities"]
    argmax = next(n for n in out.graph.node if n.op_type == "ArgMax")
    assert list(argmax.input) == ["probabilities_uncalibrated"]
    assert [n.op_type for n in out.graph.node][-5:] == ["Max", "Log", "MatMul", "Add", "Softmax"]
    assert len(model.graph.node) == 2  # the input model is not changed
    with pytest.raises(FailedPrecondition, match="no output"):
        append_calibration(model, np.eye(3), np.zeros(3), 1e-7, output="scores")
    onnx.checker.check_model(out)


def test_trained_and_served_through_the_artifacts(tmp_path: Path) -> None:
    """TrainModel -> artifacts -> Predictor: serving returns the calibrated probabilities, the
    sidecar records the calibrator and its file's digest, and a changed calibrator is refused."""
    import json

    from ghtrader.application.research.artifacts import load_model, read_meta
    from ghtrader.application.research.families import FamilyRegistry
    from ghtrader.application.research.serving import Predictor
    from tests.unit.application.research.train_world import request, train_world

    frame = _imbalanced_frame(8000, seed=5)
    families = FamilyRegistry([CalibratedFamily(LightGBMFamily(), OnnxCalibrationGraphWriter())])
    world = train_world(tmp_path, frame, families=families)
    result = world.trainer(request(frame, family="lightgbm"))
    meta = read_meta(world.store, result.artifact_dir, 10)
    assert meta.raw["calibration"]["method"] == "logistic"
    assert "weights/calibration.json" in meta.weights
    assert meta.raw["onnx"]["parity_max_abs_diff"] <= 1e-5
    model, _ = load_model(world.store, world.families, result.artifact_dir)
    predictor = Predictor.open(world.store, world.runtime, result.artifact_dir, prefer_gpu=False)
    served = predictor.predict_frame(frame)
    np.testing.assert_allclose(served, model.predict_proba(frame), atol=1e-5)
    assert np.abs(served - model.predict_proba_uncalibrated(frame)).max() > 1e-2
    path = result.artifact_dir / "weights" / CALIBRATION_FILE
    changed = json.loads(path.read_text())
    changed["bias"] = [0.0, 0.0, 0.0]
    path.write_text(json.dumps(changed))
    with pytest.raises(FailedPrecondition, match="does not match its meta"):
        load_model(world.store, world.families, result.artifact_dir)
