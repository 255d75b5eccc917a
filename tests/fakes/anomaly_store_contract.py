"""What every AnomalyStore must do (run on the in-memory fake and on PostgreSQL)."""

from __future__ import annotations

import math

from ghtrader.application.ports.alerts import AnomalyFilter, AnomalyStore
from ghtrader.domain.anomaly import AnomalyEvent, Severity

T0 = 1_790_000_000_000_000_000


def sample_events() -> list[AnomalyEvent]:
    return [
        AnomalyEvent(T0 + 1, "price_spike", Severity.CRITICAL, "SHFE.cu2612", {"rows": 1}, 42.0, "robust_z"),
        AnomalyEvent(T0 + 2, "tick_gap", Severity.WARNING, "SHFE.cu2612", {"rows": 1}, 400.0, "session_gap"),
        AnomalyEvent(T0 + 3, "spread_widening", Severity.INFO, "SHFE.au2612", {"window": 600}, 9.0, "ratio"),
        AnomalyEvent(T0 + 4, "feature_drift", Severity.WARNING, "KQ.m@SHFE.cu", {"feature": "imb"}, math.nan, "psi"),
    ]


def check_anomaly_store(store: AnomalyStore) -> None:
    events = sample_events()
    assert store.latest_seq() == 0
    assert store.write_events(events[:3], created_ns=5) == 3
    assert store.write_events(events, created_ns=6) == 1  # a rescan adds only what is new
    rows = store.list_events(AnomalyFilter())
    assert [r.event.datetime_ns for r in rows] == [T0 + 4, T0 + 3, T0 + 2, T0 + 1]  # newest first
    got = {r.event.event_id: r.event for r in rows}
    assert got[events[0].event_id] == events[0]
    assert math.isnan(got[events[3].event_id].drift_score) and got[events[3].event_id].details == {"feature": "imb"}
    warn = store.list_events(AnomalyFilter(min_severity=Severity.WARNING))
    assert {r.event.anomaly_type for r in warn} == {"price_spike", "tick_gap", "feature_drift"}
    assert [r.event.anomaly_type for r in store.list_events(AnomalyFilter(symbol="SHFE.au2612"))] == ["spread_widening"]
    assert len(store.list_events(AnomalyFilter(anomaly_type="tick_gap", since_ns=T0 + 2))) == 1
    assert store.list_events(AnomalyFilter(since_ns=T0 + 5)) == []
    assert len(store.list_events(AnomalyFilter(limit=2))) == 2
    by_seq = store.list_events(AnomalyFilter(after_seq=0))
    seqs = [r.seq for r in by_seq]
    assert seqs == sorted(seqs) and len(seqs) == 4 and store.latest_seq() == seqs[-1]
    assert [r.event.datetime_ns for r in store.list_events(AnomalyFilter(after_seq=seqs[2]))] == [T0 + 4]
