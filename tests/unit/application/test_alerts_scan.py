"""ScanAnomalies over an in-memory tick store: a clean day raises no critical, a day with a
crossed book raises one at its tick, and a rescan writes nothing new."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from ghtrader.adapters.memory import InMemoryTickStore
from ghtrader.adapters.memory.anomaly_store import InMemoryAnomalyStore
from ghtrader.application.alerts import ListAnomalies, ScanAnomalies, ScanRequest
from ghtrader.application.errors import InvalidArgument
from ghtrader.application.ports.alerts import AnomalyFilter
from ghtrader.application.ports.stores import TickBatch
from ghtrader.domain.anomaly import Severity
from ghtrader.domain.ticks import row_hash
from tests.fakes.frames import SYNTHETIC_START, synthetic_market
from tests.fakes.system import FakeClock

SYMBOL = "SHFE.cu2612"


class _Cal:
    def __init__(self, market):  # type: ignore[no-untyped-def]
        self.market = market

    def load(self):  # type: ignore[no-untyped-def]
        return self.market.calendar


def test_scan_writes_events_idempotently_and_finds_the_injected_critical() -> None:
    market = synthetic_market(seed=7, tick_interval_ms=2000)
    days = market.calendar.trading_days(SYNTHETIC_START, date(SYNTHETIC_START.year, 12, 31))[:3]
    ticks = InMemoryTickStore()
    bad_ns = 0
    for i, d in enumerate(days):
        t = market.ticks(SYMBOL, d).copy()
        if i == 2:
            j = t.shape[0] // 2
            t["bid_price1"][j] = t["ask_price1"][j] + 20
            bad_ns = int(t["datetime_ns"][j])
        tday = np.full(t.shape[0], np.datetime64(d, "D"))
        ticks.write_ticks(TickBatch(SYMBOL, "raw", t, tday, row_hash(t)))
    store = InMemoryAnomalyStore()
    scan = ScanAnomalies(ticks=ticks, calendar=_Cal(market), store=lambda: store, clock=FakeClock(now=1))
    seen: list[str] = []
    r = scan(ScanRequest(SYMBOL, days[0], days[-1]), lambda d, n, m: seen.append(m))
    assert r.days == 3 and r.ticks > 0 and r.ticks_lake == "raw" and seen[-1] == r.summary()
    assert r.by_severity.get("CRITICAL") == 1 and r.critical[0]["datetime_ns"] == bad_ns
    assert r.critical[0]["anomaly_type"] == "crossed_book"
    assert r.new_events == r.events > 0
    again = scan(ScanRequest(SYMBOL, days[0], days[-1]))
    assert again.events == r.events and again.new_events == 0
    crit = ListAnomalies(lambda: store)(AnomalyFilter(min_severity=Severity.CRITICAL))
    assert [c.event.datetime_ns for c in crit] == [bad_ns]
    with pytest.raises(InvalidArgument):
        scan(ScanRequest(SYMBOL, days[1], days[0]))
    with pytest.raises(InvalidArgument):
        ListAnomalies(lambda: store)(AnomalyFilter(limit=0))
