"""The ensemble family over calibrated logistic + LightGBM members, as the container wires it:
every strategy fits, gives probability vectors, exports ONNX whose probabilities match the model
(atol 1e-5) and whose disagreement / member outputs match ``predict_detail``; save / load
round-trips; bad params are refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from ghtrader.adapters.lightgbm import LightGBMFamily
from ghtrader.adapters.linear import LogisticFamily
from ghtrader.adapters.onnx import OnnxCalibrationGraphWriter, OnnxEnsembleGraphWriter, OnnxInferenceRuntime
from ghtrader.application.errors import InvalidArgument
from ghtrader.application.ports.models import FeatureFrame, TrainConfig
from ghtrader.application.research.calibration import CalibratedFamily
from ghtrader.application.research.ensemble import EnsembleFamily, EnsembleModel
from ghtrader.application.research.families import FamilyRegistry
from tests.unit.adapters.test_calibrated_families import _imbalanced_frame

LGB = {"num_boost_round": 40, "learning_rate": 0.2, "num_threads": 1}
MEMBER_PARAMS = {"lightgbm": LGB}


@pytest.fixture(scope="module")
def registry() -> FamilyRegistry:
    graph = OnnxCalibrationGraphWriter()
    families = FamilyRegistry(CalibratedFamily(f, graph) for f in (LogisticFamily(), LightGBMFamily()))
    families.register(CalibratedFamily(EnsembleFamily(families, OnnxEnsembleGraphWriter()), graph))
    return families


@pytest.fixture(scope="module")
def splits() -> tuple[FeatureFrame, FeatureFrame, FeatureFrame]:
    frame = _imbalanced_frame(9000, seed=4)
    return frame.take(np.arange(6000)), frame.take(np.arange(6010, 7000)), frame.take(np.arange(7010, 9000))


def _config(**params: object) -> TrainConfig:
    return TrainConfig(horizon=10, params={"member_params": MEMBER_PARAMS, **params})


@pytest.mark.parametrize(
    "params",
    [
        {"strategy": "stacking", "oof_folds": 2},
        {"strategy": "equal"},
        {"strategy": "weighted", "weights": [3.0, 1.0], "calibration": "none"},
        {"strategy": "blending"},
        {"strategy": "dynamic", "half_life_rows": 200},
        {"strategy": "dynamic", "half_life_rows": 200, "dynamic_metric": "sharpe"},
    ],
    ids=lambda p: p["strategy"] + ("-sharpe" if p.get("dynamic_metric") == "sharpe" else ""),
)
def test_strategy_fits_exports_and_round_trips(
    registry: FamilyRegistry, splits: tuple[FeatureFrame, ...], params: dict, tmp_path: Path
) -> None:
    train, valid, test = splits
    model = registry.get("ensemble").fit(train, valid, _config(**params))
    probs = model.predict_proba(test)
    assert probs.shape == (len(test), 3) and np.allclose(probs.sum(axis=1), 1.0) and (probs >= 0).all()
    ensemble = model.base
    assert isinstance(ensemble, EnsembleModel) and ensemble.member_names == ("logistic", "lightgbm")
    assert np.isclose(ensemble.weights.sum(), 1.0)
    if params["strategy"] == "weighted":
        np.testing.assert_allclose(ensemble.weights, [0.75, 0.25])
    report = ensemble.fit_report
    assert set(report["member_log_loss"]) == {"logistic", "lightgbm"} and report["diversity_rows"] > 0
    # the ensemble beats a coin toss on held-out rows (both members carry x0, x1's signal)
    y = test.labels.astype(np.int64)
    assert -np.log(probs[np.arange(len(test)), y]).mean() < np.log(3.0) - 0.05

    path = tmp_path / "model.onnx"
    signature = model.export_onnx(path)
    assert signature.input_shape == ("batch", 4) and signature.output_name == "probabilities"
    session = OnnxInferenceRuntime().load(path, prefer_gpu=False)
    x, rows = model.inputs(test)
    np.testing.assert_allclose(session.run(x), probs[rows], atol=1e-5)
    detail = ensemble.predict_detail(test)
    raw = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    disagreement, members = raw.run(["disagreement", "member_probabilities"], {"features": x})
    np.testing.assert_allclose(disagreement, detail["disagreement"], atol=1e-5)
    np.testing.assert_allclose(members, detail["member_probabilities"], atol=1e-5)
    assert (detail["disagreement"] > 0).any()

    files = model.save(tmp_path / "weights")
    assert any(f.name == "ensemble.json" for f in files) and all(f.is_file() for f in files)
    loaded = registry.get("ensemble").load(tmp_path / "weights")
    np.testing.assert_allclose(loaded.predict_proba(test), probs, atol=1e-12)


def test_bad_params_are_refused(registry: FamilyRegistry, splits: tuple[FeatureFrame, ...]) -> None:
    train, valid, _ = splits
    family = registry.get("ensemble")
    for params, message in (
        ({"members": ["logistic", "nope"]}, "unknown ensemble member"),
        ({"members": ["ensemble"]}, "unknown ensemble member"),
        ({"strategy": "median"}, "strategy must be one of"),
        ({"strategy": "weighted", "weights": [1.0]}, "one weight per member"),
        ({"oof_folds": 0}, "at least 1 fold"),
    ):
        with pytest.raises(InvalidArgument, match=message):
            family.fit(train, valid, _config(**params))


def test_stacking_skips_an_out_of_fold_split_a_member_cannot_fit(
    registry: FamilyRegistry, splits: tuple[FeatureFrame, ...]
) -> None:
    """A slow feature still NaN over the first split (as after a warm-up) skips that split only."""
    train, valid, test = splits
    features = train.features.copy()
    features[:2500, 3] = np.nan  # x3 is noise; NaN on the whole first OOF training block
    train = FeatureFrame(**{**train.__dict__, "features": features})
    model = registry.get("ensemble").fit(train, valid, _config(strategy="stacking", oof_folds=2, calibration="none"))
    report = model.base.fit_report
    assert (
        len(report["oof_splits_skipped"]) == 1
        and "NaN on every labelled training row" in report["oof_splits_skipped"][0]
    )
    assert report["oof_rows"] > 0 and model.predict_proba(test).shape == (len(test), 3)
