"""End to end through `ghtrader serve`: `backtest` and `trade --mode sim` over the same two trading
days (the old main's last day, then the roll to the new main) give the same orders, fills and PnL
(docs/trading.md "Backtest and sim agree"; the unit test compares them tick for tick).

Costs and fees are both sides' defaults (the policy's 1 bp, the variety's fee table)."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from tests.e2e.test_record_train_cli import Server, server  # noqa: F401  (the fixture)

pytestmark = pytest.mark.e2e

# 5 s snapshots with a stronger planted signal (the unit trading world's market): at the default
# 500 ms and 0.1 the moves over the horizon never pay the spread and the policy does not trade
SERVER_ENV = {"GHTRADER_SYNTHETIC_SIGNAL_STRENGTH": "0.6", "GHTRADER_SYNTHETIC_TICK_INTERVAL_MS": "5000"}
FLAT_S = "120"  # both sides flat in the last 2 minutes of each day: the backtest's 10 last rows lie inside


def _ok(done, step: str) -> None:  # type: ignore[no-untyped-def]
    assert done.returncode == 0, f"{step}: {done.stdout[-2000:]}{done.stderr[-2000:]}"


def test_backtest_summary_equals_the_sim_run(server: Server) -> None:  # noqa: F811
    from ghtrader.domain.factors import CORE_L5_FACTORS

    start, end = "2026-10-19", "2026-10-27"
    for contract in ("SHFE.cu2611", "SHFE.cu2612"):
        _ok(server.cli("download", contract, "--start", start, "--end", end), f"download {contract}")
    sched = server.cli("--json", "main-schedule", "--var", "SHFE.cu", "--start", start, "--end", end)
    _ok(sched, "main-schedule")
    segments = json.loads(sched.stdout)["result"]["segments"]
    assert len(segments) >= 2, segments
    roll_day = date.fromisoformat(segments[1]["first_day"])
    before = date.fromisoformat(segments[0]["last_day"])
    fit_day = before - timedelta(days=1)
    while fit_day.weekday() >= 5:
        fit_day -= timedelta(days=1)
    factors = ",".join(CORE_L5_FACTORS)
    for step in (
        ("main-l5", "--var", "SHFE.cu", "--start", start, "--end", end),
        ("build", "KQ.m@SHFE.cu", "--start", start, "--end", end, "--horizons", "10", "--factors", factors),
        ("train", "logistic", "--start", start, "--end", fit_day.isoformat(), "--seed", "1"),
    ):
        _ok(server.cli(*step), step[0])
    model = "logistic-KQ.m@SHFE.cu-h10"

    bt = server.cli(
        "--json", "backtest", "--model", model, "--start", before.isoformat(), "--end", roll_day.isoformat(),
        "--flat-s", FLAT_S, timeout=600,
    )  # fmt: skip
    _ok(bt, "backtest")
    result = json.loads(bt.stdout)["result"]
    assert result["fit_days"] == [fit_day.isoformat()]
    summary = result["summary"]
    assert summary["fills"] > 0 and summary["final_position"] == 0, (result["policy"], result["notes"])

    # the sim run: from the evening of the policy-fit day (the next trading day's by the 18:00 cut-off)
    # for exactly the backtest's snapshots; risk limits that refuse nothing this strategy sends. The
    # speed-up is one the runner keeps up with: a roll's re-subscription starts where the market
    # clock has got to, and ticks further back than the feed's history would be lost
    # (docs/trading.md "Backtest and sim agree")
    sim = server.cli(
        "--json", "trade", "--mode", "sim", "--model", model, "--symbol", "KQ.m@SHFE.cu",
        "--replay-from", f"{fit_day.isoformat()}T20:00", "--speedup", "3000", "--max-ticks", str(result["rows"]),
        "--flat-s", FLAT_S, "--limit", "max_consecutive_losses=100000", "--limit", "max_orders_per_second=50",
        "--no-online-calibration", timeout=600,
    )  # fmt: skip
    _ok(sim, "trade --mode sim")
    status = json.loads(sim.stdout)
    assert status["stop_reason"] == "max_ticks" and status["rolls"] == 1 and status["position"] == 0, status
    counts = status["event_counts"]
    run_dir = server.tmp / "runs" / "trading" / status["run_id"]
    assert "risk_refused" not in counts and "risk_kill" not in counts, counts
    assert counts.get("target_change", 0) == result["target_changes"]
    assert counts.get("order_new", 0) == result["orders"]
    assert counts.get("trade_fill", 0) == summary["fills"]
    last = [json.loads(x) for x in (run_dir / "snapshots.jsonl").read_text().splitlines()][-1]
    events = [json.loads(x) for x in (run_dir / "events.jsonl").read_text().splitlines()]
    fees = sum(e["fee"] for e in events if e["kind"] == "trade_fill")
    assert fees == pytest.approx(summary["fees"], abs=1e-6) and fees > 0
    assert last["balance"] - 1_000_000.0 == pytest.approx(summary["pnl_net"], abs=1e-6)
