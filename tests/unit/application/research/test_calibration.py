"""CalibratedFamily with a hand-written base family: which rows the base is fitted on (the head,
ending a purge gap before the tail), which rows the calibrator is fitted on (the tail, with the
window's context for deep models), the parameters it owns, the identity fallbacks, and when the
graph writer is asked to append the calibrator."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ghtrader.application.errors import InvalidArgument
from ghtrader.application.ports.models import FeatureFrame, OnnxSignature, TrainConfig
from ghtrader.application.research.calibration import CalibratedFamily, calibration_split
from tests.fakes.tabular_frames import planted_frame


class SkewedModel:
    """Probabilities that over-weight DOWN and UP, from the frame's own labels (a stand-in for a
    model trained with balanced class weights); deep: the first ``window - 1`` rows are NaN."""

    family = "fake"

    def __init__(self, kind: str, window: int, feature_names: tuple[str, ...]) -> None:
        self.kind = kind
        self.window = window
        self.feature_names = feature_names
        self.predicted: list[int] = []

    def predict_proba(self, frame: FeatureFrame) -> np.ndarray:
        self.predicted.append(len(frame))
        rng = np.random.default_rng(len(frame))
        y = np.nan_to_num(frame.labels, nan=1.0).astype(int)
        truth = np.full((len(frame), 3), 0.15)
        truth[np.arange(len(frame)), y] = 0.7
        noisy = truth + rng.random(truth.shape) * 0.6
        p = noisy * np.array([2.0, 0.5, 2.0])
        p /= p.sum(axis=1, keepdims=True)
        p[: self.window - 1] = np.nan
        return p

    def inputs(self, frame: FeatureFrame) -> tuple[np.ndarray, np.ndarray]:
        return frame.features, np.arange(len(frame))

    def save(self, directory: Path) -> list[Path]:
        return []

    def export_onnx(self, path: Path) -> OnnxSignature:
        return OnnxSignature("features", ("batch", len(self.feature_names)), "probabilities", 17)

    def describe(self) -> dict[str, Any]:
        return {"architecture": "fake"}


@dataclass
class FakeFamily:
    kind: str = "tabular"
    window: int = 1
    name: str = "fake"
    seen: list[tuple[FeatureFrame, TrainConfig]] = field(default_factory=list)

    def default_params(self) -> dict[str, Any]:
        return {"depth": 3}

    def fit(self, train, valid, config, progress=None) -> SkewedModel:
        self.seen.append((train, config))
        return SkewedModel(self.kind, self.window, train.feature_names)

    def load(self, directory: Path) -> SkewedModel:
        return SkewedModel(self.kind, self.window, ())


class RecordingGraph:
    def __init__(self) -> None:
        self.calls: list[tuple[Path, np.ndarray, np.ndarray, float]] = []

    def append(self, onnx_path: Path, weights: np.ndarray, bias: np.ndarray, eps: float) -> None:
        self.calls.append((onnx_path, weights, bias, eps))


@pytest.fixture(scope="module")
def frames() -> tuple[FeatureFrame, FeatureFrame]:
    frame = planted_frame(6000, 4, seed=2, nan_fraction=0.0, days=1)
    return frame.take(np.arange(5000)), frame.take(np.arange(5010, 6000))


def test_split_puts_a_purge_gap_between_head_and_tail() -> None:
    head, tail = calibration_split(1000, 0.2, 10)
    assert tail[0] == 800 and tail[-1] == 999 and head[-1] == 789 and head.shape[0] == 790


def test_base_fits_on_the_head_and_the_calibrator_on_the_tail(frames) -> None:
    train, valid = frames
    base, graph = FakeFamily(), RecordingGraph()
    family = CalibratedFamily(base, graph)
    config = TrainConfig(horizon=10, params={"depth": 5, "calibration_fraction": 0.3})
    model = family.fit(train, valid, config)
    ((head, seen_config),) = base.seen
    assert len(head) == 3500 - 10 and head.datetime_ns[-1] == train.datetime_ns[3489]
    assert dict(seen_config.params) == {"depth": 5}  # the wrapper's keys never reach the base
    calibrator = model.calibrator
    assert calibrator.method == "logistic" and calibrator.rows == int(np.isfinite(train.labels[3500:]).sum())
    assert calibrator.ece_after < calibrator.ece_before and calibrator.log_loss_after < calibrator.log_loss_before
    assert family.default_params() == {"depth": 3, "calibration": "auto", "calibration_fraction": 0.2}
    model.export_onnx(Path("m.onnx"))
    ((path, w, b, eps),) = graph.calls
    assert path == Path("m.onnx") and eps == 1e-7
    np.testing.assert_array_equal(w, calibrator.weights)
    np.testing.assert_array_equal(b, calibrator.bias)


def test_deep_models_predict_the_tail_with_window_context(frames) -> None:
    train, valid = frames
    base = FakeFamily(kind="deep", window=16)
    model = CalibratedFamily(base, RecordingGraph()).fit(train, valid, TrainConfig(horizon=10))
    assert model.base.predicted == [1000 + 15]  # the tail and the 15 rows before it
    assert model.calibrator.method == "temperature"
    assert model.calibrator.rows == int(np.isfinite(train.labels[4000:]).sum())


def test_none_and_small_tails_leave_the_model_uncalibrated(frames) -> None:
    train, valid = frames
    base, graph = FakeFamily(), RecordingGraph()
    off = CalibratedFamily(base, graph).fit(train, valid, TrainConfig(horizon=10, params={"calibration": "none"}))
    assert off.calibrator.is_identity and len(base.seen[-1][0]) == len(train)
    small = CalibratedFamily(base, graph, min_rows=2000).fit(train, valid, TrainConfig(horizon=10))
    assert small.calibrator.is_identity and "under 2000 rows" in small.calibrator.note
    assert len(base.seen[-1][0]) == len(train)  # the whole fold, since nothing is calibrated
    small.export_onnx(Path("m.onnx"))
    assert graph.calls == []  # nothing to append for the identity
    x = valid.take(np.arange(100))
    np.testing.assert_array_equal(small.predict_proba(x), small.predict_proba_uncalibrated(x))
    assert small.describe()["calibration"]["method"] == "identity"


def test_forced_method_and_bad_settings(frames) -> None:
    train, valid = frames
    family = CalibratedFamily(FakeFamily(), RecordingGraph())
    forced = family.fit(train, valid, TrainConfig(horizon=10, params={"calibration": "temperature"}))
    assert forced.calibrator.method == "temperature"
    for params in ({"calibration": "isotonic"}, {"calibration_fraction": 1.0}, {"calibration_fraction": "x"}):
        with pytest.raises(InvalidArgument):
            family.fit(train, valid, replace(TrainConfig(horizon=10), params=params))
