"""The anomaly monitor inside a sim run: a clean replay (a roll included) raises no CRITICAL; a
crossed book injected into the feed halts the run through the risk engine (the fake, then the
real domain RiskEngine with a broken print), and no order is sent after it."""

from __future__ import annotations

from typing import Any

import numpy as np

from ghtrader.adapters.memory.anomaly_store import InMemoryAnomalyStore
from ghtrader.application.ports.alerts import AnomalyFilter
from ghtrader.application.trading.risk_setup import risk_engine_factory
from ghtrader.domain.anomaly import AnomalyConfig, Severity
from ghtrader.domain.risk.engine import TradingState

from .world import NEW, START_NS, FakeRisk, FakeVenue, ReplayFeed, TradingWorld, bj

BAD_AT = bj(2026, 11, 23, 22, 0)  # DAY2 night session, on the new contract after the roll


def _run(world: TradingWorld, ticks: dict[str, np.ndarray]) -> tuple[Any, FakeVenue, FakeRisk, InMemoryAnomalyStore]:
    venue, risk, store = FakeVenue(), FakeRisk(max_position=1), InMemoryAnomalyStore()
    start = world.start(
        venue=venue, risk=risk, alerts=AnomalyConfig(), alert_store=lambda: store,
        feed=lambda replay_from_ns, speedup: ReplayFeed(ticks, replay_from_ns or START_NS),
    )  # fmt: skip
    run = start(world.request(mode="sim", max_ticks=1000))
    run.run()
    return run, venue, risk, store


def test_a_clean_sim_run_raises_no_critical(world: TradingWorld) -> None:
    run, venue, risk, store = _run(world, world.ticks)
    events = world.store.tail_events(run.run_id, 0)
    assert "roll" in [e["kind"] for e in events] and venue.submitted
    anomalies = [e for e in events if e["kind"] == "anomaly"]
    assert not [a for a in anomalies if a["severity"] == "CRITICAL"]
    assert not any(c.startswith("halt:") for c in risk.calls)
    assert len(store.list_events(AnomalyFilter(limit=10_000))) == len(anomalies)


def test_an_injected_crossed_book_halts_the_run_and_no_order_follows(world: TradingWorld) -> None:
    ticks = {s: t.copy() for s, t in world.ticks.items()}
    bad = ticks[NEW]
    i = int(np.searchsorted(bad["datetime_ns"], BAD_AT))
    bad["bid_price1"][i : i + 3] = bad["ask_price1"][i : i + 3] + 10.0
    run, venue, risk, store = _run(world, ticks)
    events = world.store.tail_events(run.run_id, 0)
    crit = [e for e in events if e["kind"] == "anomaly" and e["severity"] == "CRITICAL"]
    assert [(e["anomaly_type"], e["response"], e["time_ns"]) for e in crit] == [
        ("crossed_book", "halt", int(bad["datetime_ns"][i]))
    ]
    assert any(c.startswith("halt:anomaly: crossed_book") for c in risk.calls) and risk.state == 2
    at = next(j for j, e in enumerate(events) if e["kind"] == "anomaly" and e["severity"] == "CRITICAL")
    assert any(e["kind"] == "order_new" for e in events[:at]), "nothing traded before the anomaly"
    assert not any(e["kind"] == "order_new" for e in events[at:])
    assert run.journal.status["signals_enabled"] is False
    alerts = run.journal.status["alerts"]
    assert alerts["halted"].startswith("anomaly: crossed_book") and "crossed_book" in alerts["flags"]
    stored = store.list_events(AnomalyFilter(min_severity=Severity.CRITICAL))
    assert [s.event.anomaly_type for s in stored] == ["crossed_book"]


def test_the_real_risk_engine_is_halted_by_an_injected_critical(world: TradingWorld) -> None:
    ticks = {s: t.copy() for s, t in world.ticks.items()}
    bad = ticks[NEW]
    i = int(np.searchsorted(bad["datetime_ns"], BAD_AT))
    bad["last_price"][i] = np.nan  # a broken print: bad_price, CRITICAL at once
    engine = risk_engine_factory(_Calendar(world.market))({}, None)  # type: ignore[arg-type]  # the default limits
    venue = FakeVenue()
    start = world.start(
        venue=venue, risk=engine, alerts=AnomalyConfig(),
        feed=lambda replay_from_ns, speedup: ReplayFeed(ticks, replay_from_ns or START_NS),
    )  # fmt: skip
    run = start(world.request(mode="sim", max_ticks=1000))
    run.run()
    assert engine.state == TradingState.HALTED and engine.state_reason.startswith("halted: anomaly: bad_price")
    events = world.store.tail_events(run.run_id, 0)
    at = next(j for j, e in enumerate(events) if e["kind"] == "anomaly" and e["severity"] == "CRITICAL")
    assert events[at]["time_ns"] == int(bad["datetime_ns"][i])
    assert any(e["kind"] == "order_new" for e in events[:at])
    assert not any(e["kind"] == "order_new" for e in events[at:])


class _Calendar:
    def __init__(self, market: Any) -> None:
        self.market = market

    def load(self) -> Any:
        return self.market.calendar
