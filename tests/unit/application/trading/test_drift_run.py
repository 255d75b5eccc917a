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
