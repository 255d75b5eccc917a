"""The online calibrator inside trading runs over the replayed synthetic market (the world's
logistic model, horizon 10): learning across a roll, a drift's fallback, the switch that turns
it off, and the feature-vector preflight check."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from ghtrader.application.errors import FailedPrecondition
from ghtrader.application.trading.online_calibration import SOURCE, CalibrationSetup, OnlineCalibration

from .test_online_calibration import _FireOnce
from .world import FakeRisk, FakeVenue, TradingWorld

FAST = {"warmup": 50, "cooldown": 40}  # arms within the world's short runs


def _events(world: TradingWorld, run_id: str) -> list[dict]:  # type: ignore[type-arg]
    return world.store.tail_events(run_id, 100_000)


def _state(world: TradingWorld, run_id: str) -> dict:  # type: ignore[type-arg]
    return json.loads((world.store.root / run_id / "state.json").read_text())


def test_paper_run_learns_serves_calibrated_probabilities_and_resets_on_the_roll(world: TradingWorld) -> None:
    run = world.start(calibrator_config=FAST)(world.request(max_ticks=600))
    assert run.run()["status"] == "finished"
    config = world.store.read_config(run.run_id)
    assert config is not None
    oc = config["online_calibration"]
    assert oc["on"] and oc["horizon"] == 10 and oc["k"] == 1.0 and oc["k_source"] == "default"
    assert oc["calibrator"]["detector_stride"] == 10 and oc["calibrator"]["warmup"] == 50
    assert oc["calibrator"]["n_features"] == len(config["model"]["features"])

    events = _events(world, run.run_id)
    roll = next(i for i, e in enumerate(events) if e["kind"] == "roll")
    armed = [i for i, e in enumerate(events) if e["kind"] == "signals_enabled" and e.get("source") == SOURCE]
    assert any(i < roll for i in armed) and any(i > roll for i in armed)  # learned again after the roll
    changes = [e for e in events if e["kind"] == "target_change"]
    assert changes and all(len(e["raw_probs"]) == 3 for e in changes)
    assert any(not np.allclose(e["probs"], e["raw_probs"]) for e in changes)  # the policy saw calibrated ones

    state = _state(world, run.run_id)["online_calibration"]
    assert state["resets"] == 1 and state["n_updates"] > 50 and state["buffer"]["cleared"] > 0
    assert {"enabled", "mode", "reason", "rolling_ll_raw", "rolling_ll_cal"} <= set(state)


def test_a_drift_logs_signals_disabled_and_the_policy_gets_the_raw_model(world: TradingWorld) -> None:
    # the loss detector fires at its 30th block of 10 rows over the whole run: after the roll
    # (about 11 blocks before it) and the new contract's warm-up (5 blocks)
    def factory(setup: CalibrationSetup) -> OnlineCalibration:
        return OnlineCalibration(setup, loss_detectors=[_FireOnce(30)], error_detectors=[])

    run = world.start(calibrator_config={**FAST, "cooldown": 10_000}, calibration_factory=factory)(
        world.request(max_ticks=600)
    )
    run.run()
    events = _events(world, run.run_id)
    roll = next(i for i, e in enumerate(events) if e["kind"] == "roll")
    off = [i for i, e in enumerate(events) if e["kind"] == "signals_disabled"]
    assert len(off) == 1 and off[0] > roll
    ev = events[off[0]]
    assert ev["source"] == SOURCE and ev["code"] == "drift" and ev["serving"] == "raw" and ev["mode"] == "fallback"
    before = [e for e in events[roll : off[0]] if e["kind"] == "target_change"]
    after = [e for e in events[off[0] :] if e["kind"] == "target_change"]
    assert after and all(e["probs"] == e["raw_probs"] for e in after)  # fallback: the raw model
    assert any(e["probs"] != e["raw_probs"] for e in before)  # calibrated until the drift
    state = _state(world, run.run_id)
    assert state["signals_enabled"] is True  # the operator's switch is not the calibrator's
    assert state["online_calibration"]["mode"] == "fallback" and state["online_calibration"]["n_drifts"] == 1


def _targets(events: list[dict]) -> list[tuple[int, int]]:  # type: ignore[type-arg]
    return [(e["time_ns"], e["target"]) for e in events if e["kind"] == "target_change"]


def test_turned_off_the_run_is_the_raw_model_run(world: TradingWorld) -> None:
    off = world.start()(world.request(max_ticks=400, online_calibration=False))
    off.run()
    config = world.store.read_config(off.run_id)
    assert config is not None and config["online_calibration"] == {"on": False}
    events = _events(world, off.run_id)
    assert "online_calibration" not in _state(world, off.run_id)
    assert not any("raw_probs" in e or e.get("source") == SOURCE for e in events)
    # a calibrator that never arms serves the raw model: the same targets, tick for tick
    unarmed = world.start(calibrator_config={"warmup": 10**9})(world.request(max_ticks=400))
    unarmed.run()
    targets = _targets(events)
    assert len(targets) > 5 and targets == _targets(_events(world, unarmed.run_id))


def _mismatched_model(world: TradingWorld) -> str:
    """A copy of the world's model whose sidecar says the graph takes one more value per row."""
    registry = world.backtest._registry
    entry = max((e for e in registry.list() if e.model_id == world.model_id), key=lambda e: int(e.version))
    src = Path(entry.artifact_path)
    dst = src.parent / "mismatch"
    if not dst.exists():
        shutil.copytree(src, dst)
        meta_path = next(dst.glob("model_h*.meta.json"))
        meta = json.loads(meta_path.read_text())
        meta["onnx"]["input_shape"][-1] = len(meta["enabled_factors"]) + 1
        meta_path.write_text(json.dumps(meta))
        registry.register(replace(entry, model_id="tr-mismatch", version="1", artifact_path=str(dst)))
    return "tr-mismatch"


@pytest.mark.parametrize("mode", ["paper", "sim"])
def test_a_feature_vector_mismatch_refuses_to_start(world: TradingWorld, mode: str) -> None:
    model_id = _mismatched_model(world)
    venue = FakeVenue(fail_on_submit=True)
    start = world.start(venue=venue, risk=FakeRisk())
    with pytest.raises(FailedPrecondition, match="feature vector mismatch"):
        start(world.request(mode=mode, model_id=model_id, run_id=f"mismatch-{mode}"))
    failed = [e for e in _events(world, f"mismatch-{mode}") if e["kind"] == "preflight_failed"]
    assert len(failed) == 1 and "takes 5 values per row" in failed[0]["message"]
    assert venue.submitted == []
