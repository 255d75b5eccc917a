"""The online calibrator's glue (buffer + calibrator per tick) and the feature-vector preflight
check, with hand-made ticks and probabilities (no model)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from ghtrader.application.errors import FailedPrecondition
from ghtrader.application.ports.datasets import BuildMetadata
from ghtrader.application.ports.models import OnnxSignature
from ghtrader.application.research.artifacts import ModelMeta
from ghtrader.application.trading.online_calibration import (
    SOURCE,
    CalibrationSetup,
    OnlineCalibration,
    calibration_setup,
    check_feature_vector,
    label_threshold,
)
from ghtrader.domain.online import CalibratorConfig, DriftDetector

H, TICK = 5, 10.0
DAY, NEXT_DAY = date(2026, 11, 23), date(2026, 11, 24)
RAW = np.array([0.3, 0.4, 0.3])  # an uninformative model
TICK_DTYPE = np.dtype([("datetime_ns", "i8"), ("bid_price1", "f8"), ("ask_price1", "f8")])


def _tick(mid: float) -> np.void:
    t = np.zeros(1, TICK_DTYPE)
    t["bid_price1"], t["ask_price1"] = mid - TICK / 2, mid + TICK / 2
    return t[0]


def _setup(**config: object) -> CalibrationSetup:
    params = {"n_features": 2, "warmup": 50, "window": 200, "cooldown": 30, "detector_stride": H, **config}
    return CalibrationSetup(H, 1.0, "test", TICK, CalibratorConfig(**params))  # type: ignore[arg-type]


def _rising(cal: OnlineCalibration, n: int, start: int = 0, day: date = DAY, feats: np.ndarray | None = None):  # type: ignore[no-untyped-def]
    """Feed ``n`` ticks of a market rising one tick per tick (every label UP); returns the served
    probabilities and the events."""
    rng = np.random.default_rng(start)
    served, events = [], []
    for i in range(start, start + n):
        f = rng.normal(size=2) if feats is None else feats
        q, ev = cal.step(_tick(50_000.0 + TICK * i), day, RAW, f)
        served.append(q)
        events.extend(ev)
    return np.array(served), events


class _FireOnce(DriftDetector):
    """Fires once, at its ``at``-th update over its whole life (resets do not restart the count)."""

    name = "fake"

    def __init__(self, at: int) -> None:
        super().__init__()
        self.at, self.total = at, 0

    def _update(self, x: float) -> bool:
        self.total += 1
        return self.total == self.at

    def _reset_state(self) -> None:
        pass

    @property
    def n(self) -> int:
        return self.total


def test_calibrator_learns_and_changes_the_probabilities_after_warm_up() -> None:
    cal = OnlineCalibration(_setup())
    served, events = _rising(cal, 400)
    armed_at = 50 + H  # warm-up rows learned, each resolving H ticks after it was pushed
    assert np.array_equal(served[: armed_at - 1], np.tile(RAW, (armed_at - 1, 1)))  # raw while warming up
    assert [k for k, _ in events] == ["signals_enabled"]
    assert events[0][1]["source"] == SOURCE and events[0][1]["serving"] == "calibrated"
    assert served[-1][2] > 0.6 > RAW[2]  # learned that UP keeps coming
    state = cal.state()
    assert state["enabled"] and state["mode"] == "active" and state["n_updates"] == 400 - H
    assert state["rolling_ll_cal"] < state["rolling_ll_raw"]
    assert state["buffer"]["pending"] == H


def test_a_drift_disables_the_calibrator_and_falls_back_to_the_raw_model() -> None:
    # the loss detector fires at its 20th block of H rows: after warm-up (50 rows = 10 blocks)
    cal = OnlineCalibration(_setup(), loss_detectors=[_FireOnce(20)], error_detectors=[])
    served, events = _rising(cal, 400)
    kinds = [k for k, _ in events]
    assert kinds == ["signals_enabled", "signals_disabled", "signals_enabled"]  # armed, drift, re-armed
    disabled = events[1][1]
    assert disabled["source"] == SOURCE and disabled["code"] == "drift" and disabled["mode"] == "fallback"
    assert disabled["serving"] == "raw" and "fake on calibrated log-loss" in disabled["reason"]
    assert disabled["n_updates"] == 100
    drift = 100 + H - 1  # the tick whose push resolved the 100th row: raw from there for the 30-row cool-down
    assert np.array_equal(served[drift : drift + 30], np.tile(RAW, (30, 1)))
    assert not np.allclose(served[drift - 1], RAW) and not np.allclose(served[drift + 30], RAW)
    assert cal.state()["n_drifts"] == 1


def test_worse_than_raw_disables_it_and_serves_the_raw_model() -> None:
    cal = OnlineCalibration(_setup(window=20), loss_detectors=[], error_detectors=[])
    _rising(cal, 150)  # learns "UP keeps coming"
    assert cal.state()["enabled"]
    rng = np.random.default_rng(1)
    served, events = [], []
    for i in range(150, 250):  # then the market falls: every label DOWN
        q, ev = cal.step(_tick(50_000.0 + TICK * (300 - i)), DAY, RAW, rng.normal(size=2))
        served.append(q)
        events.extend(ev)
    assert [k for k, _ in events] == ["signals_disabled"]
    assert events[0][1]["code"] == "worse_than_raw" and events[0][1]["mode"] == "disabled"
    assert np.array_equal(served[-1], RAW) and cal.state()["mode"] == "disabled"


def test_non_finite_inputs_disable_it_for_good() -> None:
    cal = OnlineCalibration(_setup(max_bad_rows=5))
    _rising(cal, 100)
    served, events = _rising(cal, 30, start=100, feats=np.array([np.nan, 1.0]))
    assert [k for k, _ in events] == ["signals_disabled"]
    assert events[0][1]["code"] == "non_finite_inputs" and events[0][1]["mode"] == "disabled"
    served, events = _rising(cal, 100, start=130)
    assert events == [] and np.array_equal(served, np.tile(RAW, (100, 1)))
    assert cal.state()["mode"] == "disabled"


def test_a_roll_clears_pending_rows_and_what_was_learned() -> None:
    cal = OnlineCalibration(_setup())
    _rising(cal, 200)
    assert cal.state()["enabled"]
    cal.reset()
    s = cal.state()
    assert s["mode"] == "warmup" and s["n_updates"] == 0 and s["buffer"]["pending"] == 0
    assert s["buffer"]["cleared"] == H and s["resets"] == 1
    served, events = _rising(cal, H, start=200)  # no row of before the roll resolves after it
    assert cal.state()["n_updates"] == 0 and events == [] and np.array_equal(served, np.tile(RAW, (H, 1)))
    _rising(cal, 1, start=200 + H)
    assert cal.state()["n_updates"] == 1


def test_a_new_trading_day_clears_pending_rows_but_keeps_the_calibrator() -> None:
    cal = OnlineCalibration(_setup())
    _rising(cal, 200)
    learned = cal.state()["n_updates"]
    _rising(cal, H, start=200, day=NEXT_DAY)
    s = cal.state()
    assert s["n_updates"] == learned and s["enabled"] and s["buffer"]["cleared"] == H


def test_rows_from_before_the_factors_are_warm_are_not_learned() -> None:
    cal = OnlineCalibration(_setup(max_bad_rows=5))
    _rising(cal, 20, feats=np.array([np.nan, 0.0]))  # a factor engine warming up: more than max_bad_rows
    _rising(cal, 100, start=20)
    s = cal.state()
    assert s["mode"] == "active" and s["n_skipped"] == 0
    assert s["rows_before_warm_factors"] == 20 and s["n_updates"] == 120 - 20 - H


def _meta(names: tuple[str, ...], width: object = None, **raw: object) -> ModelMeta:
    return ModelMeta(
        model_id="m", version="1", family="logistic", kind="tabular", horizon=10, window=1, feature_names=names,
        onnx=OnnxSignature("x", (None, width if width is not None else len(names)), "p", 17), onnx_sha256="",
        onnx_input="raw_features", weights={}, config_hash="", raw=dict(raw),
    )  # fmt: skip


def test_feature_vector_is_checked_against_the_sidecar() -> None:
    meta = _meta(("a", "b", "c"))
    check_feature_vector(("a", "b", "c"), meta)
    with pytest.raises(FailedPrecondition, match="position 1 is 'c', the model expects 'b'"):
        check_feature_vector(("a", "c", "b"), meta)
    with pytest.raises(FailedPrecondition, match=r"unexpected \['d'\], missing \['c'\]"):
        check_feature_vector(("a", "b", "d"), meta)
    with pytest.raises(FailedPrecondition, match="takes 4 values per row"):
        check_feature_vector(("a", "b", "c"), _meta(("a", "b", "c"), width=4))


class _Builds:
    def __init__(self, params: dict) -> None:  # type: ignore[type-arg]
        self.params = params

    def get_build(self, build_id: str) -> BuildMetadata | None:
        return BuildMetadata(build_id, "labels", "h", self.params) if build_id == "lb-1" else None


def test_label_threshold_and_setup_follow_the_model() -> None:
    assert label_threshold(_meta(("a",), label_config={"k": 2.0})) == (2.0, "meta")
    builds = _Builds({"label_config": {"k": 3.0}})
    assert label_threshold(_meta(("a",), label_build_id="lb-1"), builds) == (3.0, "label_build")  # type: ignore[arg-type]
    assert label_threshold(_meta(("a",), label_build_id="lb-2"), builds) == (1.0, "default")  # type: ignore[arg-type]
    setup = calibration_setup(_meta(("a", "b")), 10.0, overrides={"warmup": 7, "n_features": 99})
    assert setup.horizon == 10 and setup.config.detector_stride == 10
    assert setup.config.n_features == 2 and setup.config.warmup == 7
    assert setup.to_dict()["calibrator"]["detector_stride"] == 10
