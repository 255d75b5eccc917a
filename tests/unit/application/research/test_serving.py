"""Predictor: serves a published model through the ONNX runtime and refuses inputs or files that
do not match the model's meta sidecar."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from ghtrader.application.errors import FailedPrecondition
from ghtrader.application.ports.models import FeatureFrame, OnnxSignature
from ghtrader.application.research.artifacts import (
    ONNX_INPUT_MODEL,
    ModelMeta,
    load_model,
)
from ghtrader.application.research.serving import Predictor
from tests.fakes.tabular_frames import planted_frame

from .train_world import TrainWorld, request, train_world


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[TrainWorld, Path, FeatureFrame]:
    frame = planted_frame(2000, 4, seed=21)
    world = train_world(tmp_path_factory.mktemp("serving"), frame)
    result = world.trainer(request(frame))
    return world, result.artifact_dir, frame


def test_predictions_equal_the_trained_model(trained) -> None:
    world, directory, frame = trained
    predictor = Predictor.open(world.store, world.runtime, directory, horizon=10, prefer_gpu=False)
    assert predictor.feature_names == frame.feature_names and predictor.window == 1
    assert predictor.providers == ("CPUExecutionProvider",)
    model, _ = load_model(world.store, world.families, directory)
    expected = model.predict_proba(frame)
    np.testing.assert_allclose(predictor.predict_frame(frame), expected, atol=1e-5)
    one = predictor.predict(frame.features[7], frame.feature_names)  # a single feature vector
    np.testing.assert_allclose(one, expected[7:8], atol=1e-5)


def test_feature_names_order_and_count_must_match(trained) -> None:
    world, directory, frame = trained
    predictor = Predictor.open(world.store, world.runtime, directory)
    names = frame.feature_names
    with pytest.raises(FailedPrecondition, match="another order.*position 0 is 'x1'"):
        predictor.predict(frame.features[:2], (names[1], names[0], *names[2:]))
    with pytest.raises(FailedPrecondition, match="feature count 3 does not match the model's 4"):
        predictor.predict(frame.features[:2, :3], names[:3])
    with pytest.raises(FailedPrecondition, match=r"unexpected \['spread'\], missing \['x3'\]"):
        predictor.predict(frame.features[:2], (*names[:3], "spread"))
    with pytest.raises(FailedPrecondition, match="3 features per row"):
        predictor.predict(frame.features[:2, :3], names)
    with pytest.raises(FailedPrecondition, match="another order"):
        predictor.predict_frame(replace(frame, feature_names=tuple(reversed(names))))


def test_a_changed_onnx_file_is_refused(trained, tmp_path: Path) -> None:
    world, directory, _ = trained
    import shutil

    copy = world.store.root / "logistic" / "copy"
    shutil.copytree(directory, copy)
    onnx_path = copy / "model.onnx"
    onnx_path.write_bytes(onnx_path.read_bytes() + b"\x00")
    with pytest.raises(FailedPrecondition, match="model.onnx does not match its meta sidecar"):
        Predictor.open(world.store, world.runtime, copy)


def test_missing_or_other_horizon_meta_is_refused(trained) -> None:
    world, directory, _ = trained
    with pytest.raises(FailedPrecondition, match="not trained for horizon 50"):
        Predictor.open(world.store, world.runtime, directory, horizon=50)
    empty = world.store.root / "logistic" / "empty"
    empty.mkdir()
    with pytest.raises(FailedPrecondition, match="found none"):
        Predictor.open(world.store, world.runtime, empty)
    broken = world.store.root / "logistic" / "broken"
    broken.mkdir()
    meta = json.loads((directory / "model_h10.meta.json").read_text())
    del meta["enabled_factors"]
    (broken / "model_h10.meta.json").write_text(json.dumps(meta))
    with pytest.raises(FailedPrecondition, match="malformed model meta.*enabled_factors"):
        Predictor.open(world.store, world.runtime, broken)


class _CountingSession:
    """InferenceSession fake: uniform probabilities, remembers the shapes it was given."""

    providers = ("CPUExecutionProvider",)

    def __init__(self) -> None:
        self.shapes: list[tuple[int, ...]] = []

    def run(self, x: np.ndarray) -> np.ndarray:
        self.shapes.append(x.shape)
        return np.full((x.shape[0], 3), 1 / 3)


def _window_meta(window: int, names: tuple[str, ...]) -> ModelMeta:
    return ModelMeta(
        model_id="tcn-x",
        version="1",
        family="tcn",
        kind="deep",
        horizon=10,
        window=window,
        feature_names=names,
        onnx=OnnxSignature("x", ("batch", window, len(names)), "probabilities", 17),
        onnx_sha256="sha256:0",
        onnx_input=ONNX_INPUT_MODEL,
        weights={},
        config_hash="c",
    )


def test_window_length_must_match_for_windowed_models() -> None:
    names = ("a", "b")
    session = _CountingSession()
    predictor = Predictor(_window_meta(5, names), session)
    assert predictor.predict(np.zeros((5, 2)), names).shape == (1, 3)  # one window
    assert predictor.predict(np.zeros((3, 5, 2)), names).shape == (3, 3)
    with pytest.raises(FailedPrecondition, match="window of 4 ticks does not match the model's window of 5"):
        predictor.predict(np.zeros((3, 4, 2)), names)
    with pytest.raises(FailedPrecondition, match="does not fit the model"):
        predictor.predict(np.zeros(2), names)
    assert session.shapes == [(1, 5, 2), (3, 5, 2)]


def test_windowed_frames_need_the_models_inputs() -> None:
    frame = planted_frame(12, 2, seed=3, horizon=2, days=1)
    predictor = Predictor(_window_meta(5, frame.feature_names), _CountingSession())
    with pytest.raises(FailedPrecondition, match="normalised windows"):
        predictor.predict_frame(frame)

    def inputs(f: FeatureFrame) -> tuple[np.ndarray, np.ndarray]:
        rows = np.arange(4, len(f))
        return np.stack([f.features[r - 4 : r + 1] for r in rows]), rows

    out = predictor.predict_frame(frame, inputs)
    assert np.isnan(out[:4]).all() and np.allclose(out[4:], 1 / 3)
