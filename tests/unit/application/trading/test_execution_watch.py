"""Execution checks in the trading loop (execution_watch.py): each anomaly injected into a fake
execution stream is raised with its type and severity; in a sim run the orders' arrival mid and
latency are journaled and a fill-rate collapse made CRITICAL halts the run, no opening order after it."""

from __future__ import annotations

from typing import Any

import numpy as np

from ghtrader.application.trading.alerts import RuntimeAlerts
from ghtrader.application.trading.execution_watch import ExecutionWatch
from ghtrader.domain.anomaly import AnomalyConfig
from ghtrader.domain.microsim.codes import BUY, CANCELLED, FILLED, LIVE, PENDING, REJECTED, SELL
from ghtrader.domain.trading.orders import ExecutionEvent, OrderRequest, OrderState

from .world import START_NS, FakeRisk, FakeVenue, TradingWorld

TICK = 10.0
S = 1_000_000_000
QUOTE = np.dtype([("datetime_ns", "i8"), ("bid_price1", "f8"), ("ask_price1", "f8"), ("last_price", "f8")])


class _Journal:
    def __init__(self) -> None:
        self.events: list[tuple[str, int, dict[str, Any]]] = []

    def __call__(self, kind: str, ns: int, **fields: Any) -> None:
        self.events.append((kind, ns, fields))

    def anomalies(self) -> list[tuple[str, str, str]]:
        return [(f["anomaly_type"], f["severity"], f["response"]) for k, _, f in self.events if k == "anomaly"]


def _watch(**config: Any) -> tuple[ExecutionWatch, _Journal]:
    journal = _Journal()
    cfg = AnomalyConfig.from_mapping({"exec_window": 5, **config})
    return ExecutionWatch(RuntimeAlerts(cfg, "SHFE.cu", TICK, journal), TICK), journal


def _quote(bid: float = 70_000.0, ask: float = 70_010.0) -> np.void:
    q = np.zeros(1, QUOTE)
    q["bid_price1"], q["ask_price1"], q["last_price"] = bid, ask, bid
    return q[0]


class _Stream:
    """Orders through a watch: send at ``ns``, then events ``latency_ms`` later."""

    def __init__(self, watch: ExecutionWatch) -> None:
        self.watch, self.n = watch, 0

    def order(self, ns: int, side: int = BUY, price: float = 70_010.0) -> OrderState:
        self.n += 1
        st = OrderState(f"o{self.n}", OrderRequest("SHFE.cu2701", side, 1, price), PENDING)
        self.watch.sent(st, ns, _quote())
        return st

    def fill(self, ns: int, fill_price: float, latency_ms: float = 100.0, side: int = BUY) -> tuple[dict, str]:  # type: ignore[type-arg]
        st = self.order(ns, side, 70_010.0 if side == BUY else 70_000.0)
        done = OrderState(st.order_id, st.request, FILLED, 1, fill_price)
        at = ns + int(latency_ms * 1e6)
        fields, why = self.watch.on_event(ExecutionEvent("trade_fill", at, done, 1, fill_price, 1.0))
        return fields, why or self.watch.on_event(ExecutionEvent("order_update", at, done))[1]

    def finish(self, ns: int, status: int, latency_ms: float = 100.0) -> str:
        st = self.order(ns)
        at = ns + int(latency_ms * 1e6)
        ack = self.watch.on_event(ExecutionEvent("order_update", at, OrderState(st.order_id, st.request, LIVE)))[1]
        end = self.watch.on_event(ExecutionEvent("order_update", at, OrderState(st.order_id, st.request, status)))[1]
        return ack or end


def test_fills_carry_arrival_mid_latency_and_slippage_beyond_half_the_spread() -> None:
    watch, _ = _watch()
    fields, why = _Stream(watch).fill(0, 70_030.0, latency_ms=250.0)  # a buy at the ask + 2 ticks
    assert fields == {"latency_ms": 250.0, "arrival_mid": 70_005.0, "slippage_ticks": 2.0} and not why
    sell, _ = _Stream(watch).fill(0, 70_000.0, side=SELL)  # a sell at the bid: exactly the half spread
    assert sell["slippage_ticks"] == 0.0


def test_slippage_worse_than_expected_is_flagged_then_critical() -> None:
    watch, journal = _watch()
    s = _Stream(watch)
    for i in range(5):
        assert not s.fill(i * S, 70_040.0)[1]  # 3 ticks beyond the half spread each: WARNING
    assert journal.anomalies() == [("slippage", "WARNING", "flag")]
    why = ""
    for i in range(5, 10):
        why = why or s.fill(i * S, 70_150.0)[1]  # 14 ticks beyond: the window mean reaches 10
    assert journal.anomalies()[-1] == ("slippage", "CRITICAL", "halt") and why.startswith("anomaly: slippage")
    assert watch.take_halt() == why and watch.take_halt() == ""


def test_a_rejection_burst_is_raised_and_critical_halts() -> None:
    watch, journal = _watch(rejection_burst={"critical": 6})
    s = _Stream(watch)
    whys = [s.finish(i * S, REJECTED) for i in range(6)]  # 6 rejections in 6 s (window 60 s)
    kinds = [a for a in journal.anomalies() if a[0] == "rejection_burst"]
    assert kinds == [("rejection_burst", "INFO", "log"), ("rejection_burst", "WARNING", "flag"),
                     ("rejection_burst", "CRITICAL", "halt")]  # fmt: skip
    assert whys[-1].startswith("anomaly: rejection_burst") and not any(whys[:-1])


def test_fill_rate_degradation_is_a_warning_by_default() -> None:
    watch, journal = _watch()
    s = _Stream(watch)
    for i in range(5):
        s.fill(i * S, 70_010.0)
    assert not journal.anomalies()  # all filled
    whys = [s.finish((5 + i) * S, CANCELLED) for i in range(5)]
    rates = [a for a in journal.anomalies() if a[0] == "fill_rate"]
    assert rates == [("fill_rate", "INFO", "log"), ("fill_rate", "WARNING", "flag")] and not any(whys)


def test_a_latency_spike_is_raised_with_its_severity() -> None:
    watch, journal = _watch()
    s = _Stream(watch)
    for i in range(30):
        s.finish(i * S, CANCELLED, latency_ms=100.0 + i % 3)
    assert not [a for a in journal.anomalies() if a[0] == "latency_spike"]
    s.finish(31 * S, CANCELLED, latency_ms=2_500.0)  # 25x the median
    assert ("latency_spike", "WARNING", "flag") in journal.anomalies()
    assert s.finish(32 * S, CANCELLED, latency_ms=30_000.0).startswith("anomaly: latency_spike")
    assert journal.anomalies()[-1] == ("latency_spike", "CRITICAL", "halt")


def test_a_fill_rate_collapse_made_critical_halts_a_sim_run(world: TradingWorld) -> None:
    """Nothing fills after the first hour: with a CRITICAL fill-rate level the run halts through
    the risk engine and no opening order follows the halt."""
    venue, risk = FakeVenue(fill_until_ns=START_NS + 3600 * S), FakeRisk(max_position=1)
    config = {"exec_window": 4, "fill_rate": {"info": 0.5, "warning": 0.3, "critical": 0.0}}
    run = world.start(venue=venue, risk=risk, alerts=AnomalyConfig())(
        world.request(mode="sim", max_ticks=1500, anomaly_config=config)
    )
    run.run()
    events = world.store.tail_events(run.run_id, 0)
    first = next(e for e in events if e["kind"] == "order_new")
    assert first["arrival_mid"] > 0
    fills = [e for e in events if e["kind"] == "trade_fill"]
    assert fills and all("latency_ms" in f and "slippage_ticks" in f for f in fills)
    at = next(i for i, e in enumerate(events) if e["kind"] == "anomaly" and e["severity"] == "CRITICAL")
    assert events[at]["anomaly_type"] == "fill_rate" and events[at]["response"] == "halt"
    assert events[at]["time_ns"] > START_NS + 3600 * S
    assert any(c.startswith("halt:anomaly: fill_rate") for c in risk.calls)
    # the halt lands while the roll drains a position nothing fills: its closing orders go on (the
    # drain's flatten is exempt from the risk check by design); nothing opens after the halt
    after = [e["order"] for e in events[at:] if e["kind"] == "order_new"]
    assert all(o["offset"] != "OPEN" for o in after)
    assert any(e["kind"] == "order_new" and e["order"]["offset"] == "OPEN" for e in events[:at])
    assert run.journal.status["alerts"]["halted"].startswith("anomaly: fill_rate")
