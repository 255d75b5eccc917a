"""The StageTimer's percentiles on known laps, and the latency the runner reports."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ghtrader.application.trading import latency
from ghtrader.application.trading.latency import (
    AFTER_STAGES,
    CALIBRATOR,
    FEATURES,
    INFERENCE,
    LEARN,
    POLICY,
    SHADOW,
    SIDE_STAGES,
    STAGES,
    TICK_TO_ORDERS,
    StageTimer,
    nearest_rank,
)

from .world import FakeRisk, FakeVenue, TradingWorld


class _Clock:
    """perf_counter_ns stand-in: each call returns ``now`` and then advances it by ``step``."""

    def __init__(self) -> None:
        self.now = 0
        self.steps: list[int] = []

    def __call__(self) -> int:
        t = self.now
        self.now += self.steps.pop(0) if self.steps else 0
        return t


@pytest.fixture()
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    c = _Clock()
    monkeypatch.setattr(latency, "perf_counter_ns", c)
    return c


def test_nearest_rank_on_known_values() -> None:
    v = np.arange(1, 101, dtype=np.int64)[::-1].copy()  # 100 .. 1, unsorted
    assert nearest_rank(v, (50.0, 99.0, 100.0)) == [50.0, 99.0, 100.0]
    assert nearest_rank(np.array([7], np.int64), (50.0, 99.0)) == [7.0, 7.0]
    assert nearest_rank(np.array([1, 2, 3, 4], np.int64), (50.0, 75.0, 76.0)) == [2.0, 3.0, 4.0]


def test_stage_percentiles_on_known_laps(clock: _Clock) -> None:
    t = StageTimer(capacity=1000)
    for i in range(1, 101):  # features take i us, inference 3 us, policy 1 us; nothing else
        # begin -> lap(FEATURES) -> lap(INFERENCE) -> lap(POLICY) -> decided -> end (2 us later)
        clock.steps = [i * 1000, 3000, 1000, 0, 2000]
        t.begin()
        t.lap(FEATURES)
        t.lap(INFERENCE)
        t.lap(POLICY)
        t.decided()
        t.end()
    s = t.summary()
    assert s["ticks"] == 100 and s["window"] == 100
    # the calibrator was never lapped: it is left out
    assert list(s["stages"]) == ["features", "inference", "policy", "tick_to_decision", "tick_to_orders"]
    assert s["stages"]["features"] == {"n": 100, "p50_us": 50.0, "p99_us": 99.0, "max_us": 100.0}
    assert s["stages"]["inference"] == {"n": 100, "p50_us": 3.0, "p99_us": 3.0, "max_us": 3.0}
    assert s["stages"]["tick_to_decision"] == {"n": 100, "p50_us": 54.0, "p99_us": 103.0, "max_us": 104.0}
    assert s["stages"]["tick_to_orders"] == {"n": 100, "p50_us": 56.0, "p99_us": 105.0, "max_us": 106.0}


def test_add_moves_nested_time_out_of_the_lap_and_a_lap_twice_adds_up(clock: _Clock) -> None:
    t = StageTimer(capacity=4)
    clock.steps = [10_000, 5_000, 2_000, 0]
    t.begin()
    t.lap(POLICY)  # 10 us
    t.add(CALIBRATOR, 4_000)  # measured inside the next lap
    t.lap(INFERENCE)  # 5 us, of which 4 us are the calibrator's
    t.lap(POLICY)  # +2 us
    t.end()
    got = {STAGES[i]: int(t.samples(i)[0]) for i in (POLICY, CALIBRATOR, INFERENCE)}
    assert got == {"policy": 12_000, "calibrator": 4_000, "inference": 1_000}


def test_after_times_work_past_the_orders_outside_both_totals(clock: _Clock) -> None:
    t = StageTimer(capacity=4)
    clock.steps = [3_000, 2_000, 7_000, 0]
    t.begin()
    t.lap(POLICY)  # 3 us
    t.end()  # the orders are out 2 us after the policy
    t.after(LEARN)  # 7 us of learning once they are out
    assert int(t.samples(LEARN)[0]) == 7_000
    assert int(t.samples(TICK_TO_ORDERS)[0]) == 5_000  # not 12: learning is off the path
    s = t.summary()["stages"]
    assert list(s) == ["policy", "learn", "tick_to_orders"]


def test_consecutive_afters_time_each_piece_on_its_own(clock: _Clock) -> None:
    t = StageTimer(capacity=4)
    clock.steps = [3_000, 2_000, 7_000, 11_000, 0]
    t.begin()
    t.lap(POLICY)
    t.end()
    t.after(LEARN)  # 7 us
    t.after(SHADOW)  # 11 us more: the shadow's own, not learn's with it
    assert int(t.samples(LEARN)[0]) == 7_000 and int(t.samples(SHADOW)[0]) == 11_000


def test_the_ring_keeps_the_last_capacity_ticks_and_unended_ticks_are_not_recorded(clock: _Clock) -> None:
    t = StageTimer(capacity=10)
    for i in range(1, 26):
        clock.steps = [i * 1000, 0]
        t.begin()
        t.lap(FEATURES)
        t.end()
        clock.steps = [10**9]
        t.begin()  # a warm-up tick: begun, never ended
    s = t.summary()
    assert s["ticks"] == 25 and s["window"] == 10
    assert sorted(t.samples(FEATURES).tolist()) == [i * 1000 for i in range(16, 26)]
    assert s["stages"]["features"]["max_us"] == 25.0 and s["stages"]["features"]["p50_us"] == 20.0


def _check_latency(lat: dict, ticks: int, stages: set[str]) -> None:  # type: ignore[type-arg]
    assert lat["ticks"] == ticks and lat["window"] == ticks
    assert set(lat["stages"]) == stages
    for name, st in lat["stages"].items():
        assert set(st) == {"n", "p50_us", "p99_us", "max_us"}
        assert 0 <= st["p50_us"] <= st["p99_us"] <= st["max_us"], name
    decision, total = lat["stages"]["tick_to_decision"], lat["stages"]["tick_to_orders"]
    assert decision["n"] == total["n"] == ticks and 0 < decision["p50_us"] <= total["p50_us"]
    on_path = [s["max_us"] for name, s in lat["stages"].items() if name not in AFTER_STAGES]
    assert total["max_us"] >= max(on_path)


def test_paper_run_reports_per_stage_latency(world: TradingWorld) -> None:
    run = world.start()(world.request(max_ticks=300))
    status = run.run()
    paper = {"feed", "features", "inference", "calibrator", "policy", "executor", "learn", "tick_to_decision",
             "tick_to_orders"}  # fmt: skip
    _check_latency(status["latency"], 300, paper)
    off = world.start()(world.request(max_ticks=300, online_calibration=False)).run()
    _check_latency(off["latency"], 300, paper - {"calibrator", "learn"})  # no calibrator, no calibrator stages
    state = json.loads((world.store.root / run.run_id / "state.json").read_text())
    assert state["latency"] == status["latency"]
    events = world.store.tail_events(run.run_id, 10_000)
    summary = [e for e in events if e["kind"] == "latency_summary"]
    assert len(summary) == 1 and events[-1]["kind"] == "run_finished"
    assert summary[0]["stages"] == status["latency"]["stages"] and summary[0]["ticks"] == 300


def test_sim_run_times_the_venue_and_the_risk_checks(world: TradingWorld) -> None:
    risk = FakeRisk(max_position=1)
    run = world.start(venue=FakeVenue(), risk=risk)(world.request(mode="sim", max_ticks=300))
    status = run.run()
    assert risk.checks  # orders were checked, so the risk stage holds account and order checks
    _check_latency(status["latency"], 300, set(STAGES) - SIDE_STAGES)  # no canary, no shadow


def test_held_events_are_written_in_order_on_release(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from ghtrader.adapters.filesystem.trading_runs import FilesystemTradingRunStore
    from ghtrader.application.trading.journal import RunJournal

    store = FilesystemTradingRunStore(tmp_path)
    store.create("r1", {"run_id": "r1"})
    journal = RunJournal(store, "r1", lambda: 1)
    journal.event("startup_snapshot", 1)
    journal.hold()
    journal.event("target_change", 2, target=1)
    journal.event("order_new", 3)
    assert [e["kind"] for e in store.tail_events("r1", 10)] == ["startup_snapshot"]
    assert journal.counts["order_new"] == 1  # state.json's view is current while held
    journal.release()
    journal.event("run_finished", 4)
    assert [e["time_ns"] for e in store.tail_events("r1", 10)] == [1, 2, 3, 4]
