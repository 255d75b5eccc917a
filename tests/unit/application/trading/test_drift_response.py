"""The drift rungs (drift_response.py): a drift warning recalibrates, persisting drift falls back to
the fallback model, the operator resumes production, CRITICAL halts; with fakes, then through the
anomaly monitor, then the online calibrator's refit on real rows."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pytest

from ghtrader.application.errors import InvalidArgument
from ghtrader.application.trading.alerts import RuntimeAlerts, run_anomaly_config
from ghtrader.application.trading.decision import Decision
from ghtrader.application.trading.drift_response import DriftResponse, FallbackModel
from ghtrader.application.trading.online_calibration import CalibrationSetup, OnlineCalibration
from ghtrader.domain.anomaly import AnomalyConfig, AnomalyEvent, Severity
from ghtrader.domain.online import CalibratorConfig

DAY = date(2026, 11, 23)
TICK = 10.0
QUOTE = np.dtype([("datetime_ns", "i8"), ("bid_price1", "f8"), ("ask_price1", "f8"), ("last_price", "f8")])


class _Journal:
    def __init__(self) -> None:
        self.events: list[tuple[str, int, dict[str, Any]]] = []

    def __call__(self, kind: str, ns: int, **fields: Any) -> None:
        self.events.append((kind, ns, fields))

    def kinds(self) -> list[str]:
        return [k for k, _, _ in self.events]


class _FakeCalibration:
    def __init__(self) -> None:
        self.refits = 0

    def recalibrate(self) -> tuple[dict[str, Any], tuple[tuple[str, dict[str, Any]], ...]]:
        self.refits += 1
        return {"refit_rows": 7, "mode_before": "active", "mode_after": "active"}, (
            ("signals_enabled", {"source": "online_calibrator"}),
        )


class _FakePipeline:
    """Decides +1 on every tick; counts what it was shown."""

    def __init__(self) -> None:
        self.features_seen = self.decided = self.resets = 0

    def features(self, tick: np.void, day: date) -> np.ndarray:
        self.features_seen += 1
        return np.zeros(1)

    def on_tick(self, tick: np.void, day: date) -> Decision:
        self.decided += 1
        return Decision(1, 1, False, np.array([0.1, 0.2, 0.7]), 1, None)

    def reset(self) -> None:
        self.resets += 1


def _event(score: float = 0.3, severity: Severity = Severity.WARNING) -> AnomalyEvent:
    return AnomalyEvent(1, "prediction_shift", severity, "SHFE.cu", {}, score, "runtime")


def _production() -> Decision:
    return Decision(-1, -1, False, np.array([0.7, 0.2, 0.1]), -1, None)


def _quote(i: int) -> np.void:
    t = np.zeros(1, QUOTE)
    t["datetime_ns"] = 1_800_000_000_000_000_000 + i * 500_000_000
    t["bid_price1"], t["ask_price1"], t["last_price"] = 70_000.0, 70_010.0, 70_000.0
    return t[0]


def test_a_drift_warning_recalibrates_the_online_calibrator_and_journals_it() -> None:
    journal, cal = _Journal(), _FakeCalibration()
    drift = DriftResponse(journal, lambda: cal, None, fallback_after=3)  # type: ignore[arg-type,return-value]
    assert [drift.on_drift(_event(), 10 + i) for i in range(4)] == ["recalibrate"] * 4  # no fallback model
    assert cal.refits == 4 and drift.recalibrations == 4
    kind, ns, fields = journal.events[0]
    assert (kind, ns, fields["done"], fields["refit_rows"]) == ("recalibrate", 10, True, 7)
    assert "prediction_shift 0.3 (WARNING)" in fields["reason"]
    assert journal.kinds()[1] == "signals_enabled"  # the refit's own mode change is journaled too
    assert drift.state()["deciding"] == "production"


def test_without_a_calibrator_the_recalibrate_rung_says_so() -> None:
    journal = _Journal()
    assert DriftResponse(journal).on_drift(_event(), 5) == "recalibrate"
    assert journal.events == [("recalibrate", 5, {"reason": "prediction_shift 0.3 (WARNING)", "done": False,
                                                  "why": "the run has no online calibrator"})]  # fmt: skip


def test_persisting_drift_falls_back_and_the_operator_resumes_production() -> None:
    journal, cal, pipe = _Journal(), _FakeCalibration(), _FakePipeline()
    fallback = FallbackModel(pipe, {"model_id": "simple", "version": "2", "status": "production", "family": "x"})  # type: ignore[arg-type]
    drift = DriftResponse(journal, lambda: cal, fallback, fallback_after=3)  # type: ignore[arg-type,return-value]
    tick = _quote(0)
    assert drift.on_drift(_event(), 1) == "recalibrate"
    drift.on_clear()  # a clean window: the run of drift windows restarts
    assert [drift.on_drift(_event(), n) for n in (2, 3)] == ["recalibrate"] * 2
    assert drift.route(_production(), tick, DAY).target == -1  # production still decides
    assert pipe.features_seen == 1 and pipe.decided == 0  # the fallback's factors stay warm
    assert drift.on_drift(_event(0.4), 4) == "fallback"
    assert cal.refits == 3
    kind, ns, fields = journal.events[-1]
    assert (kind, ns) == ("model_fallback", 4)
    assert fields["model"] == {"model_id": "simple", "version": "2", "status": "production"}
    assert fields["reason"].startswith("drift persisted: 3 drift events in a row")
    assert drift.route(_production(), tick, DAY).target == 1 and pipe.decided == 1
    state = drift.state()
    assert state["deciding"] == "fallback" and state["fallback"]["at_ns"] == 4 and state["fallbacks"] == 1
    assert drift.on_drift(_event(), 5) == "recalibrate"  # in force already: production's calibrator refits
    assert drift.resume(6, "checked the feed") and journal.events[-1][0] == "model_resumed"
    assert journal.events[-1][2]["reason"] == "checked the feed" and journal.events[-1][2]["fallback_since_ns"] == 4
    assert drift.route(_production(), tick, DAY).target == -1 and drift.state()["deciding"] == "production"
    assert not drift.resume(7)  # nothing to resume: no event
    assert journal.kinds().count("model_resumed") == 1
    drift.on_roll()
    assert pipe.resets == 1


def test_fallback_after_zero_never_falls_back() -> None:
    drift = DriftResponse(_Journal(), fallback=FallbackModel(_FakePipeline(), {}), fallback_after=0)  # type: ignore[arg-type]
    assert {drift.on_drift(_event(), n) for n in range(10)} == {"recalibrate"}
    with pytest.raises(ValueError):
        DriftResponse(_Journal(), fallback_after=-1)


def _monitor(journal: _Journal, drift: DriftResponse, critical: float = float("inf")) -> RuntimeAlerts:
    config = AnomalyConfig.from_mapping(
        {
            "drift_window": 20,
            "model_window": 20,
            "prediction_shift": {"info": 0.1, "warning": 0.25, "critical": critical},
        }
    )
    return RuntimeAlerts(config, "SHFE.cu", TICK, journal, drift=drift)


def _feed(monitor: RuntimeAlerts, classes: list[int], start: int) -> list[str]:
    out = []
    for i, c in enumerate(classes):
        p = np.full(3, 0.1)
        p[c] = 0.8
        out.append(monitor.observe(_quote(start + i), p, _quote(start + i)["datetime_ns"], "cu2701"))
    return out


def test_the_monitor_walks_the_ladder_recalibrate_then_fallback() -> None:
    journal, cal, pipe = _Journal(), _FakeCalibration(), _FakePipeline()
    drift = DriftResponse(journal, lambda: cal, FallbackModel(pipe, {"model_id": "simple"}), fallback_after=2)  # type: ignore[arg-type,return-value]
    monitor = _monitor(journal, drift)
    assert not any(_feed(monitor, [1] * 20, 0))  # the reference window: mostly FLAT
    assert not any(_feed(monitor, [1] * 20, 20))  # a clean window
    assert drift.streak == 0 and cal.refits == 0
    assert not any(_feed(monitor, [2] * 20, 40))  # shifted: WARNING -> recalibrate
    anomalies = [f for k, _, f in journal.events if k == "anomaly"]
    assert [(a["anomaly_type"], a["severity"], a["response"]) for a in anomalies] == [
        ("prediction_shift", "WARNING", "recalibrate")
    ]
    assert cal.refits == 1
    assert not any(_feed(monitor, [2] * 20, 60))  # shifted again: the second in a row -> fallback
    anomalies = [f for k, _, f in journal.events if k == "anomaly"]
    assert anomalies[-1]["response"] == "fallback" and "model_fallback" in journal.kinds()
    assert drift.state()["deciding"] == "fallback" and not monitor.halted


def test_a_critical_drift_halts_instead() -> None:
    journal, cal = _Journal(), _FakeCalibration()
    monitor = _monitor(journal, DriftResponse(journal, lambda: cal), critical=1.0)  # type: ignore[arg-type,return-value]
    _feed(monitor, [1] * 20, 0)
    why = [w for w in _feed(monitor, [0] * 20, 20) if w]
    assert len(why) == 1 and why[0].startswith("anomaly: prediction_shift") and why[0].endswith("(CRITICAL)")
    anomalies = [f for k, _, f in journal.events if k == "anomaly"]
    assert [(a["severity"], a["response"]) for a in anomalies] == [("CRITICAL", "halt")] and cal.refits == 0


def test_run_anomaly_config_overrides_the_server_thresholds() -> None:
    base = AnomalyConfig.from_mapping({"window": 300, "price_spike": {"critical": 50}})
    assert run_anomaly_config(base, {}) is base and run_anomaly_config(None, {}) is None
    cfg = run_anomaly_config(
        base, {"spread_widening": {"info": 1.2, "warning": 1.5, "critical": 2}, "drift_window": 50}
    )
    assert cfg is not None and cfg.window == 300 and cfg.drift_window == 50
    assert cfg.threshold("price_spike").critical == 50 and cfg.threshold("spread_widening").critical == 2
    assert run_anomaly_config(None, {"bad_price": {"critical": 1}}) is not None  # the defaults under it
    with pytest.raises(InvalidArgument, match="must get worse"):  # 2 under the default warning level 12
        run_anomaly_config(base, {"spread_widening": {"critical": 2}})
    with pytest.raises(InvalidArgument, match="unknown"):
        run_anomaly_config(base, {"spred_widening": {"critical": 2}})


def _setup() -> CalibrationSetup:
    params = {"n_features": 2, "warmup": 30, "window": 200, "cooldown": 30, "detector_stride": 5}
    return CalibrationSetup(5, 1.0, "test", TICK, CalibratorConfig(**params))  # type: ignore[arg-type]


def _market(cal: OnlineCalibration, steps: list[float]) -> None:
    """Feed ticks whose mid moves by ``steps`` (ticks per tick); an uninformative model."""
    rng, mid = np.random.default_rng(3), 50_000.0
    for i, step in enumerate(steps):
        mid += step * TICK
        t = np.zeros(1, QUOTE)
        t["datetime_ns"], t["bid_price1"], t["ask_price1"] = i, mid - TICK / 2, mid + TICK / 2
        cal.learn(t[0], DAY, np.array([0.3, 0.4, 0.3]), rng.normal(size=2))


def test_recalibrate_refits_the_calibrator_from_the_recent_labelled_rows() -> None:
    """Up for 400 ticks, then down for 80: the refit forgets the up-trend the weights learned and
    serves what the last 60 rows (all down) say; the untouched twin still leans up."""
    steps = [1.0] * 400 + [-1.0] * 80
    refit, twin = OnlineCalibration(_setup(), recent_rows=60), OnlineCalibration(_setup(), recent_rows=60)
    _market(refit, steps)
    _market(twin, steps)
    x = np.zeros(2)
    raw = np.array([0.3, 0.4, 0.3])
    assert twin.serve(raw, x)[2] > twin.serve(raw, x)[0]  # still up after 75 down rows
    done, events = refit.recalibrate()
    assert done == {"refit_rows": 60, "mode_before": "active", "mode_after": "active", "refits": 1}
    assert [k for k, _ in events] == ["signals_enabled"]  # warm-up (30 rows) passed again within the refit
    q = refit.serve(raw, x)
    assert q[0] > 0.5 > q[2]  # DOWN now
    assert refit.state()["refits"] == 1 and refit.state()["n_updates"] == 60
