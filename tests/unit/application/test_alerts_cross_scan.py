"""Cross-asset scan: the synthetic CU / AU / AG mains co-move (weakly) through their common
factor; a day on which gold moves exactly against copper breaks the CU / AU correlation."""

from __future__ import annotations

from datetime import date

import numpy as np

from ghtrader.adapters.memory import InMemoryTickStore
from ghtrader.adapters.memory.anomaly_store import InMemoryAnomalyStore
from ghtrader.application.alerts import ScanAnomalies, ScanRequest
from ghtrader.application.ports.alerts import AnomalyFilter
from ghtrader.application.ports.stores import TickBatch
from ghtrader.domain.ticks import row_hash
from tests.fakes.frames import SYNTHETIC_START, synthetic_market
from tests.fakes.system import FakeClock


class _Cal:
    def __init__(self, market):  # type: ignore[no-untyped-def]
        self.market = market

    def load(self):  # type: ignore[no-untyped-def]
        return self.market.calendar


def _world(break_last_day: bool) -> tuple[ScanAnomalies, InMemoryAnomalyStore, list[date], list[str]]:
    m = synthetic_market(seed=7, tick_interval_ms=2000)
    days = m.calendar.trading_days(SYNTHETIC_START, date(SYNTHETIC_START.year, 12, 31))[:4]
    ticks = InMemoryTickStore()
    names = ["CU", "AU", "AG"]
    for name, variety in zip(names, ("SHFE.cu", "SHFE.au", "SHFE.ag"), strict=True):
        for i, d in enumerate(days):
            t = m.ticks(m.main_contract(variety, d), d).copy()
            if break_last_day and name == "AU" and i == len(days) - 1:
                cu = m.ticks(m.main_contract("SHFE.cu", d), d)  # gold's moves: copper's, inverted
                cu_mid = (cu["bid_price1"] + cu["ask_price1"]) / 2
                mid = (t["bid_price1"][0] + t["ask_price1"][0]) / 2 * np.exp(-np.log(cu_mid / cu_mid[0]))
                t = cu.copy()
                t["bid_price1"], t["ask_price1"] = mid - 0.02, mid + 0.02
            tday = np.full(t.shape[0], np.datetime64(d, "D"))
            ticks.write_ticks(TickBatch(name, "raw", t, tday, row_hash(t)))
    store = InMemoryAnomalyStore()
    scan = ScanAnomalies(ticks=ticks, calendar=_Cal(m), store=lambda: store, clock=FakeClock(now=1))
    return scan, store, days, names


def test_inverted_gold_breaks_its_correlations_and_a_clean_window_does_not() -> None:
    scan, store, days, names = _world(break_last_day=False)
    clean = scan(ScanRequest(",".join(names), days[0], days[-1], ticks_lake="raw"))
    assert clean.days == 4 and clean.by_severity.get("WARNING", 0) == 0

    scan, store, days, names = _world(break_last_day=True)
    r = scan(ScanRequest(",".join(names), days[0], days[-1], ticks_lake="raw"))
    warned = store.list_events(AnomalyFilter(anomaly_type="correlation_break", limit=1000))
    pairs = {w.event.symbol for w in warned if w.event.severity.name == "WARNING"}
    assert pairs == {"CU/AU"} and r.by_severity.get("CRITICAL", 0) == 0
    last_day_start = min(w.event.datetime_ns for w in warned if w.event.severity.name == "WARNING")
    assert np.datetime64(last_day_start, "ns") > np.datetime64(days[-2])
