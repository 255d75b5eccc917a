"""The trading loop's anomaly monitor scores ticks exactly as the batch detectors do (one
definition: the domain's step kernels), and its episodes raise one event per start or escalation."""

from __future__ import annotations

from typing import Any

import numpy as np

from ghtrader.application.trading.alerts import RuntimeAlerts
from ghtrader.domain.anomaly import AnomalyConfig
from ghtrader.domain.anomaly.data_quality import crossed_book_mask, price_spike_scores, run_length
from ghtrader.domain.anomaly.market import spread_ratio
from ghtrader.domain.instruments import contract_spec
from tests.fakes.frames import SYNTHETIC_START, synthetic_market

CFG = AnomalyConfig()


def _session_ticks() -> tuple[np.ndarray, float]:
    m = synthetic_market(seed=7, tick_interval_ms=500)
    c = m.main_contract("SHFE.cu", SYNTHETIC_START)
    spec = contract_spec(c)
    t = m.ticks(c, SYNTHETIC_START)
    start, end = m.calendar.session_windows_ns(SYNTHETIC_START, spec)[-1]  # the afternoon session
    t = t[(t["datetime_ns"] >= start) & (t["datetime_ns"] < end)][:3000].copy()
    i = 2000
    for f in ("bid_price1", "ask_price1", "last_price"):
        t[f][i:] += 60 * spec.price_tick  # a jump the batch and the runtime must both score
    t["bid_price1"][2500:2503] = t["ask_price1"][2500:2503] + spec.price_tick
    return t, spec.price_tick


def test_runtime_scores_equal_the_batch_detectors() -> None:
    ticks, tick = _session_ticks()
    journal: list[tuple[str, int, dict[str, Any]]] = []
    monitor = RuntimeAlerts(CFG, "SHFE.cu", tick, lambda kind, ns, **f: journal.append((kind, ns, f)))
    online = {"price_spike": [], "spread_widening": [], "crossed_book": []}  # type: ignore[var-annotated]
    for row in ticks:
        scores = monitor._quality(row)
        for k in online:
            online[k].append(scores[k])
    sid = np.zeros(ticks.shape[0], dtype=np.int64)
    np.testing.assert_allclose(online["price_spike"], price_spike_scores(ticks, tick, CFG, sid), equal_nan=True)
    np.testing.assert_allclose(online["spread_widening"], spread_ratio(ticks, tick, CFG), equal_nan=True)
    np.testing.assert_array_equal(online["crossed_book"], run_length(crossed_book_mask(ticks)))
    assert np.nanmax(online["price_spike"]) >= CFG.threshold("price_spike").critical


def test_observe_raises_one_event_per_episode_start_or_escalation_and_halts_once() -> None:
    ticks, tick = _session_ticks()
    journal: list[tuple[str, int, dict[str, Any]]] = []
    monitor = RuntimeAlerts(CFG, "SHFE.cu", tick, lambda kind, ns, **f: journal.append((kind, ns, f)))
    probs = np.array([0.2, 0.3, 0.5])
    halts = [monitor.observe(row, probs, int(row["datetime_ns"]), "SHFE.cu2612") for row in ticks]
    reasons = [h for h in halts if h]
    assert len(reasons) == 1 and reasons[0].startswith("anomaly: price_spike")
    assert halts.index(reasons[0]) == 2000
    crossed = [f for kind, _ns, f in journal if f["anomaly_type"] == "crossed_book"]
    assert [f["severity"] for f in crossed] == ["CRITICAL"]  # three bad ticks, one event
    assert all(kind == "anomaly" for kind, _ns, _f in journal)
    assert monitor.state()["halted"] == reasons[0] and monitor.counts["CRITICAL"] >= 2
