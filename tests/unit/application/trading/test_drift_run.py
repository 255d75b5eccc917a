"""The drift rungs inside a paper run over the replayed synthetic market: drift windows recalibrate
the online calibrator, then the fallback model decides; a fallback model not in the registry is
refused before the run has records."""

from __future__ import annotations

import json

import pytest

from ghtrader.application.errors import NotFound

from .world import TradingWorld

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
# every prediction window is a drift WARNING (PSI >= 0): the ladder's rungs on a clean market
ALWAYS_DRIFT = {"drift_window": 40, "prediction_shift": {"info": 0.0, "warning": 0.0}}


def test_persisting_drift_recalibrates_then_hands_decisions_to_the_fallback(world: TradingWorld) -> None:
    from ghtrader.domain.anomaly import AnomalyConfig

    run = world.start(alerts=AnomalyConfig())(
        world.request(
            max_ticks=400, fallback_model_id=world.model_id, drift_fallback_after=2, anomaly_config=ALWAYS_DRIFT
        )  # fmt: skip
    )
    status = run.run()
    events = world.store.tail_events(run.run_id, 0)
    responses = [e["response"] for e in events if e["kind"] == "anomaly" and e["anomaly_type"] == "prediction_shift"]
    assert responses[:2] == ["recalibrate", "fallback"] and len(responses) == 400 // 40 - 1
    recal = [e for e in events if e["kind"] == "recalibrate"]
    assert len(recal) == len(responses) - 1 and all(e["done"] for e in recal)
    assert recal[-1]["refit_rows"] > 0 and recal[-1]["refits"] == len(recal)  # refitted from learned rows
    assert status["online_calibration"]["refits"] == len(recal)
    fb = next(e for e in events if e["kind"] == "model_fallback")
    assert fb["model"]["model_id"] == world.model_id and fb["reason"].startswith("drift persisted: 2 drift events")
    drift = status["drift"]
    assert drift["deciding"] == "fallback" and drift["fallback"]["at_ns"] == fb["time_ns"]
    assert 0 < drift["fallback_ticks"] <= 400 - 3 * 40 + 1  # every tick from the third window's last on
    config = json.loads((world.store.root / run.run_id / "run_config.json").read_text())
    assert config["drift_fallback"]["model_id"] == world.model_id and config["drift_fallback"]["after"] == 2
    assert not any(e["kind"] == "anomaly" and e["severity"] == "CRITICAL" for e in events)


def test_an_unknown_fallback_model_is_refused_before_the_run_has_records(world: TradingWorld) -> None:
    before = set(world.store.list_runs())
    with pytest.raises(NotFound, match="no-such-model"):
        world.start()(world.request(fallback_model_id="no-such-model"))
    assert set(world.store.list_runs()) == before


class _ForeignReference:
    """A FrameSource whose 'training window' is N(0, 1) noise with all labels 'flat': the run's
    real factors and realised labels drift against it from the first window on."""

    def __init__(self) -> None:
        self.loads: list[tuple] = []

    def load(self, symbol, lake, start, end, horizon, names):  # type: ignore[no-untyped-def]
        import numpy as np

        from ghtrader.application.ports.models import FeatureFrame

        self.loads.append((symbol, start, end, horizon, tuple(names)))
        n, rng = 5000, np.random.default_rng(0)
        frame = FeatureFrame(
            features=rng.normal(size=(n, len(names))).astype(np.float32), feature_names=tuple(names),
            labels=np.ones(n), segment_id=np.zeros(n, np.int64), datetime_ns=np.arange(n, dtype=np.int64),
            trading_day=np.full(n, np.datetime64(start, "D")), mid=np.ones(n), spread=np.ones(n),
        )  # fmt: skip
        return frame, None


def test_a_run_scores_feature_and_prior_drift_against_the_training_reference(world: TradingWorld) -> None:
    from ghtrader.domain.anomaly import AnomalyConfig

    frames = _ForeignReference()
    run = world.start(alerts=AnomalyConfig(), frames=frames)(
        world.request(max_ticks=400, anomaly_config={"drift_window": 100})
    )
    run.run()
    config = json.loads((world.store.root / run.run_id / "run_config.json").read_text())
    ref = config["drift_reference"]
    assert ref["on"] and ref["rows"] == 5000 and ref["labels"] == "online_calibrator"
    assert ref["label_shares"] == [0.0, 1.0, 0.0]
    model_features = config["model"]["features"]
    assert frames.loads and frames.loads[0][4] == tuple(model_features)  # the served features, in order
    events = world.store.tail_events(run.run_id, 0)
    feat = [e for e in events if e["kind"] == "anomaly" and e["anomaly_type"] == "feature_drift"]
    assert len(feat) == 400 // 100  # every window of real factors vs noise
    assert all(e["severity"] == "WARNING" and e["response"] == "recalibrate" for e in feat)
    assert all(t["feature"] in model_features for e in feat for t in e["top"])
    prior = [e for e in events if e["kind"] == "anomaly" and e["anomaly_type"] == "prior_shift"]
    assert prior and prior[0]["shares"][1] < 0.9  # the calibrator's realised labels reached the monitor
    assert any(e["kind"] == "recalibrate" and e["reason"].startswith("feature_drift") for e in events)


def test_a_run_whose_reference_cannot_be_built_goes_on_without_it(world: TradingWorld) -> None:
    from ghtrader.domain.anomaly import AnomalyConfig

    run = world.start(alerts=AnomalyConfig())(world.request(max_ticks=50))  # no frame source
    status = run.run()
    config = json.loads((world.store.root / run.run_id / "run_config.json").read_text())
    assert config["drift_reference"] == {"on": False, "why": "no stored features on this server (frame source)"}
    assert status["ticks"] == 50 and status["status"] == "finished"
