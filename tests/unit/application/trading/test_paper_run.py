"""Paper runs over the replayed synthetic market: targets and records, a roll, no orders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ghtrader.application.errors import FailedPrecondition

from .world import DAY2, MAIN, NEW, OLD, START_NS, FakeVenue, TradingWorld


def _lines(path: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def test_paper_run_crosses_the_roll_and_writes_the_four_files(world: TradingWorld) -> None:
    run = world.start()(world.request(max_ticks=600, snapshot_every_s=120))
    status = run.run()
    assert status["status"] == "finished" and status["stop_reason"] == "max_ticks"
    d = world.store.root / run.run_id
    assert {p.name for p in d.iterdir()} >= {"run_config.json", "snapshots.jsonl", "events.jsonl", "state.json"}
    config = json.loads((d / "run_config.json").read_text())
    assert config["mode"] == "paper" and config["monitor_only"] is False and config["executor"] == "none"
    assert config["symbols"]["requested"] == MAIN and config["symbols"]["resolved"] == OLD
    assert config["symbols"]["binding"] == "schedule" and config["symbols"]["schedule_hash"]
    assert config["model"]["model_id"] == "tr-logistic" and config["policy"]["fit_days"] == ["2026-11-20"]

    events = _lines(d / "events.jsonl")
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "startup_snapshot" and kinds[-1] == "run_finished"
    rolls = [e for e in events if e["kind"] == "roll"]
    assert len(rolls) == 1
    roll = rolls[0]
    assert (roll["from_symbol"], roll["to_symbol"], roll["trading_day"]) == (OLD, NEW, DAY2.isoformat())
    # the first tick after the roll is of the night session (21:00 Beijing = 13:00 UTC) of DAY2
    assert roll["ts"].startswith("2026-11-23T13:")
    # the feed re-subscribed to the new contract
    assert world.feeds[-1].subscriptions == [(OLD,), (NEW,)]
    # every target change before the roll is on the old contract, after it on the new one
    at_roll = events.index(roll)
    assert all(e["symbol"] == OLD for e in events[:at_roll] if e["kind"] == "target_change")
    assert all(e["symbol"] == NEW for e in events[at_roll:] if e["kind"] == "target_change")
    assert not any(k.startswith("order") or k == "trade_fill" for k in kinds)

    snaps = _lines(d / "snapshots.jsonl")
    assert len(snaps) >= 3 and all(s["schema_version"] == 2 for s in snaps)
    assert set(snaps[0]) >= {"ts", "balance", "available", "margin", "float_profit", "position_profit",
                             "risk_ratio", "equity", "positions", "orders_alive", "account_meta"}  # fmt: skip
    assert snaps[0]["account_meta"]["mode"] == "paper" and snaps[-1]["account_meta"]["execution_symbol"] == NEW

    state = json.loads((d / "state.json").read_text())
    assert state["status"] == "finished" and state["ticks"] == 600 and state["execution_symbol"] == NEW
    assert state["rolls"] == 1 and state["last_snapshot"] == snaps[-1]
    assert state["events"] == events[-50:]


def test_paper_holds_no_executor_and_never_submits(world: TradingWorld) -> None:
    venue = FakeVenue(fail_on_submit=True)
    run = world.start(venue=venue)(world.request(max_ticks=300))
    assert run.run()["status"] == "finished"
    assert venue.submitted == []


def test_paper_targets_are_flat_in_the_last_seconds_of_the_day(world: TradingWorld) -> None:
    run = world.start()(world.request(max_ticks=200, flat_s=600.0))  # the whole start window is flat
    run.run()
    events = world.store.tail_events(run.run_id, 1000)
    before_roll = [e for e in events if e["kind"] == "target_change" and e["time_ns"] < START_NS + 600 * 10**9]
    assert before_roll == []


def test_paper_without_schedule_follows_the_alias(world: TradingWorld) -> None:
    from ghtrader.adapters.memory.schedule_store import InMemoryScheduleStore

    run = world.start(schedules_store=InMemoryScheduleStore())(world.request(max_ticks=200))
    run.run()
    config = world.store.read_config(run.run_id)
    assert config is not None and config["symbols"]["resolved"] == MAIN and config["symbols"]["binding"] == "alias"
    assert world.feeds[-1].subscriptions == [(MAIN,)]


def test_feed_failure_is_recorded(world: TradingWorld) -> None:
    run = world.start()(world.request(max_ticks=0))
    world.feeds[-1].fail_after_passes = 3
    status = run.run()
    assert status["status"] == "failed"
    kinds = [e["kind"] for e in world.store.tail_events(run.run_id, 100)]
    assert "wait_update_failed" in kinds and kinds[-1] == "run_finished"


def test_operator_stop_and_halt_through_the_command_file(world: TradingWorld) -> None:
    run = world.start()(world.request(max_ticks=0))
    world.store.append_command(run.run_id, {"command": "halt", "reason": "test"})
    world.store.append_command(run.run_id, {"command": "stop"})
    status = run.run()
    assert status["stop_reason"] == "operator_stop"
    kinds = [e["kind"] for e in world.store.tail_events(run.run_id, 100)]
    assert kinds.count("operator_command") == 2 and "signals_disabled" in kinds and "shutdown_signal" in kinds


def test_order_modes_without_a_schedule_fail_fast(world: TradingWorld) -> None:
    from ghtrader.adapters.memory.schedule_store import InMemoryScheduleStore

    from .world import FakeRisk

    with pytest.raises(FailedPrecondition, match="main schedule"):
        world.start(schedules_store=InMemoryScheduleStore(), venue=FakeVenue(), risk=FakeRisk())(
            world.request(mode="sim")
        )
