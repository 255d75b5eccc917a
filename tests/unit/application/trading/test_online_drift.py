"""Runtime feature / concept / prior drift against the training reference (online_drift.py), graded
and answered by the run's anomaly monitor: injected drift raises its type at its severity and the
drift ladder's response is journaled; a clean stream raises none at WARNING or above."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from ghtrader.application.errors import NotFound
from ghtrader.application.ports.models import FeatureFrame
from ghtrader.application.trading.alerts import RuntimeAlerts
from ghtrader.application.trading.drift_response import DriftResponse
from ghtrader.application.trading.online_drift import DriftReference, OnlineDrift, open_online_drift
from ghtrader.domain.anomaly import AnomalyConfig
from ghtrader.domain.drift import reference_bins

NAMES = ("f0", "f1", "f2", "f3", "f4")
WINDOW = 500
REF_SHARES = np.array([0.3, 0.4, 0.3])
_TICK = np.array([(100.0, 101.0, 100.0)], dtype=[("bid_price1", "f8"), ("ask_price1", "f8"), ("last_price", "f8")])[0]
_PROBS = np.array([0.25, 0.5, 0.25])  # the served probabilities: constant, so prediction_shift stays quiet


class Journal:
    def __init__(self) -> None:
        self.events: list[tuple[str, int, dict[str, Any]]] = []

    def __call__(self, kind: str, ns: int, **fields: Any) -> None:
        self.events.append((kind, ns, fields))

    def anomalies(self, kind: str) -> list[dict[str, Any]]:
        return [f for k, _, f in self.events if k == "anomaly" and f["anomaly_type"] == kind]


class Stream:
    """A fake run: a factor vector and, optionally, a labelled row per decision tick."""

    def __init__(self) -> None:
        self.x: np.ndarray | None = None
        self.count = 0
        self.row: tuple[np.ndarray, int] | None = None

    def labelled(self) -> tuple[int, np.ndarray, int] | None:
        return None if self.row is None else (self.count, self.row[0], self.row[1])


def _monitor(stream: Stream, fallback_after: int = 0) -> tuple[RuntimeAlerts, Journal]:
    rng = np.random.default_rng(11)
    edges, shares = reference_bins(rng.normal(size=(20_000, len(NAMES))), 10)
    ref = DriftReference(NAMES, edges, shares, REF_SHARES, 20_000)
    cfg = AnomalyConfig.from_mapping({"drift_window": WINDOW})
    journal = Journal()
    fallback = SimpleNamespace(model={"model_id": "simple"}) if fallback_after else None
    drift = DriftResponse(journal, fallback=fallback, fallback_after=fallback_after)  # type: ignore[arg-type]
    online = OnlineDrift(ref, cfg, lambda: stream.x, stream.labelled, stride=1)
    return RuntimeAlerts(cfg, "SHFE.cu", 10.0, journal, drift=drift, online=online), journal


def _run(alerts: RuntimeAlerts, stream: Stream, n: int, x: np.ndarray, rows: list | None = None, t0: int = 0) -> None:
    for i in range(n):
        stream.x = x[i]
        if rows is not None:
            stream.count += 1
            stream.row = rows[i]
        alerts.observe(_TICK, _PROBS, (t0 + i + 1) * 1_000_000_000)


def _rows(rng: np.random.Generator, n: int, shares: np.ndarray, wrong: bool = False, mix: float = 0.7) -> list:
    """Labelled rows of a calibrated model: per row probabilities ``mix`` parts a confident random
    draw, the rest ``shares``, and a label drawn from them (``wrong``: the model reports them
    shifted by one class: mean log-loss about 0.85 -> 1.65)."""
    probs = mix * rng.dirichlet(np.full(3, 0.3), size=n) + (1 - mix) * shares
    labels = (rng.random(n)[:, None] > np.cumsum(probs, axis=1)).sum(axis=1).clip(0, 2)
    served = np.roll(probs, 1, axis=1) if wrong else probs
    return [(served[i], int(labels[i])) for i in range(n)]


def _at_least_warning(journal: Journal) -> list[dict[str, Any]]:
    return [f for k, _, f in journal.events if k == "anomaly" and f["severity"] in ("WARNING", "CRITICAL")]


def test_a_clean_stream_raises_no_drift_at_warning_or_above() -> None:
    rng = np.random.default_rng(1)
    stream = Stream()
    alerts, journal = _monitor(stream)
    n = 4 * WINDOW
    _run(alerts, stream, n, rng.normal(size=(n, len(NAMES))), _rows(rng, n, REF_SHARES))
    assert _at_least_warning(journal) == []
    assert alerts.online is not None and alerts.online._loss.seen == n  # every labelled row was read


def test_shifted_features_raise_feature_drift_and_the_ladder_recalibrates() -> None:
    rng = np.random.default_rng(2)
    stream = Stream()
    alerts, journal = _monitor(stream)
    clean = rng.normal(size=(WINDOW, len(NAMES)))
    _run(alerts, stream, WINDOW, clean)
    assert journal.anomalies("feature_drift") == [] or all(
        e["severity"] == "INFO" for e in journal.anomalies("feature_drift")
    )
    shifted = rng.normal(size=(2 * WINDOW, len(NAMES)))
    shifted[:, 2] += 1.5  # one feature moves by 1.5 sigma
    _run(alerts, stream, 2 * WINDOW, shifted, t0=WINDOW)
    events = journal.anomalies("feature_drift")
    assert [e["severity"] for e in events] == ["WARNING", "WARNING"]  # one per drifted window
    assert all(e["top"][0]["feature"] == "f2" and e["n_drifted"] == 1 for e in events)
    assert events[0]["drift_score"] == pytest.approx(events[0]["top"][0]["psi"], abs=1e-4)
    assert events[0]["drift_score"] > 0.25 and events[0]["response"] == "recalibrate"
    recal = [f for k, _, f in journal.events if k == "recalibrate"]
    assert len(recal) == 2 and recal[0]["reason"].startswith("feature_drift")
    assert alerts.state()["flags"] == ["feature_drift"]


def test_persisting_feature_drift_falls_back_and_a_clean_window_restarts_the_count() -> None:
    rng = np.random.default_rng(3)
    stream = Stream()
    alerts, journal = _monitor(stream, fallback_after=2)
    x = rng.normal(size=(2 * WINDOW, len(NAMES))) * 2.0  # every feature twice as wide
    _run(alerts, stream, 2 * WINDOW, x)
    assert [e["response"] for e in journal.anomalies("feature_drift")] == ["recalibrate", "fallback"]
    assert alerts.drift is not None and alerts.drift.active is not None
    assert alerts.drift.active["reason"].startswith("drift persisted: 2 drift events in a row, last feature_drift")

    stream2 = Stream()
    alerts2, journal2 = _monitor(stream2, fallback_after=2)
    parts = [rng.normal(size=(WINDOW, len(NAMES))) * s for s in (2.0, 1.0, 2.0)]  # drift, clean, drift
    _run(alerts2, stream2, 3 * WINDOW, np.concatenate(parts))
    assert [e["response"] for e in journal2.anomalies("feature_drift")] == ["recalibrate", "recalibrate"]
    assert alerts2.drift is not None and alerts2.drift.active is None


def test_a_model_that_turns_wrong_raises_concept_drift() -> None:
    rng = np.random.default_rng(4)
    stream = Stream()
    alerts, journal = _monitor(stream)
    n = 300
    x = rng.normal(size=(2 * n, len(NAMES)))
    rows = _rows(rng, n, REF_SHARES) + _rows(rng, n, REF_SHARES, wrong=True)
    _run(alerts, stream, n, x[:n], rows[:n])
    assert journal.anomalies("concept_drift") == []
    _run(alerts, stream, n, x[n:], rows[n:], t0=n)
    events = journal.anomalies("concept_drift")
    assert events and events[0]["severity"] == "WARNING" and events[0]["detection_method"] == "page_hinkley"
    assert events[0]["response"] == "recalibrate"
    assert events[0]["recent_mean_loss"] > 1.2  # about 0.85 while right
    first_ns = next(t for k, t, f in journal.events if k == "anomaly" and f["anomaly_type"] == "concept_drift")
    assert n * 1_000_000_000 < first_ns <= (n + 100) * 1_000_000_000  # within a few dozen wrong rows


def test_a_label_share_change_raises_prior_shift() -> None:
    rng = np.random.default_rng(5)
    stream = Stream()
    alerts, journal = _monitor(stream)
    x = rng.normal(size=(2 * WINDOW, len(NAMES)))
    shifted = np.array([0.0, 0.0, 1.0])
    # still calibrated (its loss does not rise): the labels alone moved
    rows = _rows(rng, WINDOW, REF_SHARES, mix=0.5) + _rows(rng, WINDOW, shifted, mix=0.5)
    _run(alerts, stream, 2 * WINDOW, x, rows)
    events = journal.anomalies("prior_shift")
    assert [e["severity"] for e in events] == ["WARNING"] and events[0]["response"] == "recalibrate"
    assert events[0]["shares"][2] > 0.6 and events[0]["drift_score"] > 0.25  # shares ~ 1/6, 1/6, 2/3
    assert [e["anomaly_type"] for e in _at_least_warning(journal)] == ["prior_shift"]


class _Frames:
    def __init__(self, frame: FeatureFrame | None) -> None:
        self.frame = frame
        self.calls: list[tuple] = []

    def load(self, symbol: str, lake: str, start: Any, end: Any, horizon: int, names: Any) -> tuple:
        self.calls.append((symbol, lake, start, end, horizon, tuple(names)))
        if self.frame is None:
            raise NotFound(f"no feature build of {symbol}")
        return self.frame, None


def _meta(**raw: Any) -> SimpleNamespace:
    return SimpleNamespace(model_id="m", version="1", horizon=10, feature_names=NAMES, raw=raw)


def test_the_run_builds_its_reference_from_the_training_window_or_goes_on_without_one() -> None:
    rng = np.random.default_rng(6)
    n = 3000
    frame = FeatureFrame(
        features=rng.normal(size=(n, len(NAMES))).astype(np.float32), feature_names=NAMES,
        labels=rng.choice([0.0, 1.0, 2.0, np.nan], size=n, p=[0.2, 0.5, 0.2, 0.1]),
        segment_id=np.zeros(n, np.int64), datetime_ns=np.arange(n, dtype=np.int64),
        trading_day=np.full(n, np.datetime64("2026-11-02", "D")), mid=np.ones(n), spread=np.ones(n),
    )  # fmt: skip
    cfg = AnomalyConfig()
    meta = _meta(symbol="KQ.m@SHFE.cu", data={"start_day": "2026-11-02", "end_day": "2026-11-06"})
    pipeline = SimpleNamespace(last_x=None)
    frames = _Frames(frame)
    online, desc = open_online_drift(frames, meta, cfg, pipeline, None)  # type: ignore[arg-type]
    assert (
        online is not None and desc["on"] and desc["rows"] == n and desc["train_days"] == ["2026-11-02", "2026-11-06"]
    )
    assert frames.calls[0][:2] == ("KQ.m@SHFE.cu", "main_l5") and frames.calls[0][4:] == (10, NAMES)
    assert desc["label_shares"] == pytest.approx([0.2 / 0.9, 0.5 / 0.9, 0.2 / 0.9], abs=0.03)
    assert desc["labels"].startswith("none")
    assert online.scores() == {}  # no factor vector yet, no labels: nothing to score

    off, why = open_online_drift(_Frames(None), meta, cfg, pipeline, None)  # type: ignore[arg-type]
    assert off is None and why == {"on": False, "why": "NotFound: no feature build of KQ.m@SHFE.cu"}
    off, why = open_online_drift(frames, _meta(symbol="x"), cfg, pipeline, None)  # type: ignore[arg-type]
    assert off is None and "records no training window" in why["why"]
    off, why = open_online_drift(None, meta, cfg, pipeline, None)  # type: ignore[arg-type]
    assert off is None and why["why"].startswith("no stored features")
