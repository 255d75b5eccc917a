"""TradingRuns: background runs, status and tail, operator commands, shutdown."""

from __future__ import annotations

import time

import pytest

from ghtrader.application.errors import InvalidArgument, NotFound
from ghtrader.application.trading.service import TradingRuns

from .world import TradingWorld


def _wait(runs: TradingRuns, run_id: str, until: str, timeout_s: float = 30.0) -> dict:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        s = runs.status(run_id)
        if s.get("status") == until and not s["alive"]:
            return s
        time.sleep(0.02)
    raise AssertionError(f"{run_id} did not reach {until}: {runs.status(run_id).get('status')}")


def test_runs_in_the_background_and_answers_commands(world: TradingWorld) -> None:
    world.feed_pause["s"] = 0.002
    try:
        runs = TradingRuns(world.start(), world.store, world.clock)
        started = runs.start(world.request(max_ticks=0))
        run_id = started["run_id"]
        assert started["config"]["mode"] == "paper" and runs.running(run_id)
        listed = [r for r in runs.list_runs() if r["run_id"] == run_id]
        assert [(r["account_type"], r["executor"]) for r in listed] == [("paper", "none")]
        runs.command(run_id, "halt", "test")
        with pytest.raises(InvalidArgument):
            runs.command(run_id, "explode")
        with pytest.raises(NotFound):
            runs.status("nope")
        time.sleep(0.2)
        runs.shutdown()
        status = _wait(runs, run_id, "finished")
        assert status["stop_reason"] == "shutdown"
        kinds = [e["kind"] for e in runs.tail(run_id, 0)]
        assert "operator_command" in kinds and "signals_disabled" in kinds and "shutdown_signal" in kinds
        assert [r["status"] for r in runs.list_runs() if r["run_id"] == run_id] == ["finished"]
    finally:
        world.feed_pause["s"] = 0.0
