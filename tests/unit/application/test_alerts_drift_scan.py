"""ScanModelDrift: a logistic model scanned on later days of its own market raises no CRITICAL and
does not flag the feature we leave alone; the same days with that feature shifted by 5 sigma and
the labels inverted flag the feature (PSI far above) and a CRITICAL rolling-accuracy collapse."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import numpy as np

from ghtrader.adapters.memory.anomaly_store import InMemoryAnomalyStore
from ghtrader.application.alerts_drift import DriftScanRequest, ScanModelDrift
from ghtrader.application.ports.alerts import AnomalyFilter
from ghtrader.application.ports.models import FeatureFrame
from ghtrader.domain.anomaly import Severity
from tests.fakes.frames import synthetic_frame
from tests.fakes.system import FakeClock
from tests.unit.application.research.train_world import PROVENANCE, request, train_world


@dataclass
class RangeFrames:
    """FrameSource serving the rows of one frame whose trading day is in the asked range."""

    frame: FeatureFrame

    def load(self, symbol, ticks_lake, start_day, end_day, horizon, feature_names):  # type: ignore[no-untyped-def]
        days = self.frame.trading_day.astype("datetime64[D]")
        idx = np.flatnonzero((days >= np.datetime64(start_day)) & (days <= np.datetime64(end_day)))
        return self.frame.take(idx), PROVENANCE


def _scan(tmp: Path, frame: FeatureFrame) -> tuple[ScanModelDrift, InMemoryAnomalyStore, list[date]]:
    days = [d.item() for d in np.unique(frame.trading_day.astype("datetime64[D]"))]
    tw = train_world(tmp, frame)
    tw.trainer(request(frame, start_day=days[0], end_day=days[2], model_id="m"))
    store = InMemoryAnomalyStore()
    scan = ScanModelDrift(registry=tw.registry, artifacts=tw.store, runtime=tw.runtime, frames=RangeFrames(frame),
                          store=lambda: store, clock=FakeClock(now=1))  # fmt: skip
    return scan, store, days


def _worst_psi(store: InMemoryAnomalyStore, feature: str) -> float:
    rows = store.list_events(AnomalyFilter(anomaly_type="feature_drift", limit=1000))
    return max((r.event.drift_score for r in rows if r.event.details["feature"] == feature), default=0.0)


def test_drift_scan_flags_a_shifted_feature_and_an_accuracy_collapse(tmp_path: Path) -> None:
    frame = synthetic_frame(days=5, signal_strength=0.6)
    shifted = frame.feature_names[0]
    scan, store, days = _scan(tmp_path, frame)
    quiet = scan(DriftScanRequest("m", days[3], days[4]))
    assert quiet.ticks > 10_000 and quiet.ticks_lake == "model:m@1"
    assert quiet.by_severity.get("CRITICAL", 0) == 0  # drift types stop at WARNING; accuracy holds
    assert _worst_psi(store, shifted) < 0.25

    later = frame.trading_day.astype("datetime64[D]") >= np.datetime64(days[3])
    feats = frame.features.copy()
    feats[later, 0] += 5 * np.nanstd(feats[:, 0])
    labels = frame.labels.copy()
    labels[later] = np.where(np.isfinite(labels[later]), 2.0 - labels[later], np.nan)  # UP <-> DOWN
    scan2, store2, _ = _scan(tmp_path / "b", replace(frame, features=feats, labels=labels))
    r = scan2(DriftScanRequest("m", days[3], days[4]))
    assert {"feature_drift", "rolling_accuracy"} <= set(r.by_type)
    assert _worst_psi(store2, shifted) > 5.0  # the shifted feature now tops its windows
    acc = store2.list_events(AnomalyFilter(anomaly_type="rolling_accuracy", limit=1000))
    assert max(row.event.severity for row in acc) == Severity.CRITICAL
    assert all(row.event.details["model_id"] == "m" for row in acc)
