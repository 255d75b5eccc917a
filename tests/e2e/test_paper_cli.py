"""End to end through `ghtrader serve` and the CLI: train a logistic model, then `ghtrader paper`
on KQ.m@SHFE.cu over a replayed synthetic window that crosses a roll of the stored schedule, and
the `trading` commands that read the run back."""

from __future__ import annotations

import json
import time
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.e2e.test_record_train_cli import Server, server  # noqa: F401  (the fixture)

pytestmark = pytest.mark.e2e


def _ok(done, step: str) -> None:  # type: ignore[no-untyped-def]
    assert done.returncode == 0, f"{step}: {done.stdout[-2000:]}{done.stderr[-2000:]}"


def test_paper_run_across_a_roll(server: Server) -> None:  # noqa: F811
    from ghtrader.domain.factors import CORE_L5_FACTORS

    start, end = "2026-10-19", "2026-10-27"
    for contract in ("SHFE.cu2611", "SHFE.cu2612"):
        _ok(server.cli("download", contract, "--start", start, "--end", end), f"download {contract}")
    sched = server.cli("--json", "main-schedule", "--var", "SHFE.cu", "--start", start, "--end", end)
    _ok(sched, "main-schedule")
    segments = json.loads(sched.stdout)["result"]["segments"]
    assert len(segments) >= 2, segments
    roll_day = date.fromisoformat(segments[1]["first_day"])  # the first day of the second main
    before = date.fromisoformat(segments[0]["last_day"])  # the old main's last day
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

    # ten minutes before the old main's last close, through the roll into the new main's night session
    replay = f"{before.isoformat()}T14:50"
    done = server.cli(
        "--json", "paper", "--model", model, "--symbol", "KQ.m@SHFE.cu", "--max-ticks", "3000",
        "--replay-from", replay, "--speedup", "20000", timeout=600,
    )  # fmt: skip
    _ok(done, "paper")
    status = json.loads(done.stdout)
    assert status["status"] == "finished" and status["stop_reason"] == "max_ticks" and status["ticks"] == 3000
    assert status["rolls"] == 1 and status["execution_symbol"] == segments[1]["contract"]
    run_id = status["run_id"]

    d = server.tmp / "runs" / "trading" / run_id
    for name in ("run_config.json", "snapshots.jsonl", "events.jsonl", "state.json"):
        assert (d / name).is_file(), name
    config = json.loads((d / "run_config.json").read_text())
    assert config["mode"] == "paper" and config["symbols"]["requested"] == "KQ.m@SHFE.cu"
    assert config["symbols"]["resolved"] == segments[0]["contract"] and config["symbols"]["binding"] == "schedule"
    assert config["policy"]["fit_days"] == [fit_day.isoformat()]
    # the online calibrator is on by default, with the model's horizon and its label build's k
    oc = config["online_calibration"]
    assert oc["on"] and oc["horizon"] == 10 and oc["k_source"] == "label_build" and oc["k"] == 1.0
    assert oc["calibrator"]["detector_stride"] == 10
    calibration = status["online_calibration"]  # state.json through GetRunStatus
    assert calibration["resets"] == 1 and calibration["n_updates"] > 0 and calibration["buffer"]["pushed"] > 0
    events = [json.loads(x) for x in (d / "events.jsonl").read_text().splitlines()]
    rolls = [e for e in events if e["kind"] == "roll"]
    assert len(rolls) == 1 and rolls[0]["trading_day"] == roll_day.isoformat()
    assert (rolls[0]["from_symbol"], rolls[0]["to_symbol"]) == (segments[0]["contract"], segments[1]["contract"])
    assert not any(e["kind"].startswith("order") for e in events)
    snaps = [json.loads(x) for x in (d / "snapshots.jsonl").read_text().splitlines()]
    assert snaps and all(s["schema_version"] == 2 for s in snaps)

    # the run read back through the server
    runs = server.cli("--json", "trading", "runs")
    _ok(runs, "trading runs")
    assert [r["run_id"] for r in json.loads(runs.stdout)["runs"]] == [run_id]
    tail = server.cli("--json", "trading", "tail", run_id, "--kind", "roll")
    _ok(tail, "trading tail")
    assert [e["kind"] for e in json.loads(tail.stdout)["events"]] == ["roll"]
    human = server.cli("trading", "status", run_id)
    _ok(human, "trading status")
    assert "finished" in human.stdout and "1 rolls" in human.stdout
    halt = server.cli("trading", "halt", run_id)
    _ok(halt, "trading halt")
    assert "not running" in halt.stdout

    # sim: the micro-sim's simulated account behind the risk engine. A daily-loss limit of 1 CNY is
    # crossed by the first fill's fee: risk_kill, cancel, flatten, stop, flat.
    sim = server.cli(
        "--json", "trade", "--mode", "sim", "--model", model, "--symbol", "KQ.m@SHFE.cu", "--max-ticks", "3000",
        "--replay-from", replay, "--speedup", "20000", "--passive", "--order-kind", "limit", "--commission-bp", "0",
        "--limit", "max_daily_loss=1", "--no-online-calibration", timeout=600,
    )  # fmt: skip
    _ok(sim, "trade --mode sim")
    sim_status = json.loads(sim.stdout)
    # turned off through the CLI flag and the wire
    assert sim_status["config"]["online_calibration"] == {"on": False} and "online_calibration" not in sim_status
    counts = sim_status["event_counts"]
    assert counts.get("trade_fill", 0) >= 1 and counts.get("risk_kill") == 1, counts
    assert sim_status["stop_reason"] == "risk_kill" and sim_status["kill_latched"] is True
    assert sim_status["position"] == 0 and sim_status["risk_state"] == 2  # HALTED
    sim_dir = server.tmp / "runs" / "trading" / sim_status["run_id"]
    sim_events = [json.loads(x) for x in (sim_dir / "events.jsonl").read_text().splitlines()]
    kill_at = next(i for i, e in enumerate(sim_events) if e["kind"] == "risk_kill")
    assert "max_daily_loss" in sim_events[kill_at]["reason"]
    after = [e["kind"] for e in sim_events[kill_at + 1 :]]
    assert after[-1] == "run_finished" and "target_change" not in after  # no new decision after the kill
    last = [json.loads(x) for x in (sim_dir / "snapshots.jsonl").read_text().splitlines()][-1]
    assert all(p["net"] == 0 for p in last["positions"]) and last["orders_alive"] == []
    # sized beyond one lot (vol-target, capped at 3 lots) through the target executor, behind a
    # stress check no position can pass (1 CNY): targets of 3 lots, every opening refused by it
    # (passive and commission-free, as above: the policy fitted for crossing the spread never trades)
    sized = server.cli(
        "--json", "trade", "--mode", "sim", "--model", model, "--symbol", "KQ.m@SHFE.cu", "--max-ticks", "3000",
        "--replay-from", replay, "--speedup", "20000", "--executor", "target", "--sizing", "vol-target",
        "--target-vol", "1000000", "--max-lots", "3", "--risk-horizon-s", "600", "--stress-loss-limit", "1",
        "--commission-bp", "0", "--passive", "--no-online-calibration", timeout=600,
    )  # fmt: skip
    _ok(sized, "trade --mode sim --sizing vol-target --stress-loss-limit")
    sized_status = json.loads(sized.stdout)
    cfg = sized_status["config"]
    assert cfg["account_type"] == "sim-local" and cfg["executor"] == "target/PASSIVE" and cfg["venue"] == "local"
    assert cfg["sizing"]["sizing"] == "vol-target" and cfg["sizing"]["max_lots"] == 3
    assert cfg["stress_check"]["on"] and cfg["stress_check"]["loss_limit"] == 1.0
    sized_events = [
        json.loads(x)
        for x in (server.tmp / "runs" / "trading" / sized_status["run_id"] / "events.jsonl").read_text().splitlines()
    ]
    assert cfg["policy"]["trades"], "the policy fitted no threshold: nothing to size"
    assert {abs(e["target"]) for e in sized_events if e["kind"] == "target_change"} == {0, 3}
    refused = [e["reason"] for e in sized_events if e["kind"] == "risk_refused"]
    assert refused and all(r.startswith("stress:") for r in refused), refused
    assert not any(e["kind"] == "trade_fill" for e in sized_events) and sized_status["position"] == 0
    bad_limit = server.cli("trade", "--mode", "sim", "--model", model, "--limit", "max_fun=3", "--replay-from", replay)
    assert bad_limit.returncode != 0 and "max_fun" in (bad_limit.stderr + bad_limit.stdout)

    # refusals: live is off; a bad time names the flag
    live = server.cli("trade", "--mode", "live", "--model", model, "--confirm-live", "I_UNDERSTAND")
    assert live.returncode != 0 and "GHTRADER_LIVE_ENABLED" in (live.stderr + live.stdout)
    bad = server.cli("paper", "--model", model, "--replay-from", "yesterday")
    assert bad.returncode == 2 and "--replay-from" in bad.stderr

    # shadow: a second version (trained on a day less) in status shadow decides beside version 1
    _ok(server.cli("train", "logistic", "--start", start, "--end", (fit_day - timedelta(days=1)).isoformat(),
                   "--seed", "1"), "train v2")  # fmt: skip
    for stage in ("staging", "shadow"):
        _ok(server.cli("models", "--model-id", model, "--version", "2", "--set-status", stage), f"models {stage}")
    shadowed = server.cli(
        "--json", "paper", "--model", model, "--version", "1", "--shadow-model", model, "--symbol", "KQ.m@SHFE.cu",
        "--max-ticks", "1000", "--replay-from", replay, "--speedup", "20000", timeout=600,
    )  # fmt: skip
    _ok(shadowed, "paper --shadow-model")
    sh_status = json.loads(shadowed.stdout)
    assert sh_status["config"]["shadow"]["version"] == "2" and sh_status["config"]["model"]["version"] == "1"
    sh = sh_status["shadow"]
    assert sh["ticks"] == 1000 and 0 <= sh["agreed"] <= 1000 and set(sh["virtual_pnl"]) == {"production", "shadow"}
    sh_events = [
        json.loads(x)
        for x in (server.tmp / "runs" / "trading" / sh_status["run_id"] / "events.jsonl").read_text().splitlines()
    ]
    assert sum(e["kind"] == "shadow_decision" for e in sh_events) == sh["disagreements"]
    assert "shadow" in sh_status["latency"]["stages"]
    assert not any(e["kind"].startswith("order") for e in sh_events)
    sh_human = server.cli("trading", "status", sh_status["run_id"])
    _ok(sh_human, "trading status (shadow)")
    assert f"shadow {model} v2: agreement" in sh_human.stdout and "virtual PnL production" in sh_human.stdout

    # a run that keeps going: stopped by the operator, another by the server's shutdown
    def detached() -> str:
        r = server.cli("--json", "paper", "--model", model, "--replay-from", replay, "--speedup", "1", "--detach")
        _ok(r, "paper --detach")
        return str(json.loads(r.stdout)["run_id"])

    def state_of(run: str) -> dict:  # type: ignore[type-arg]
        path = server.tmp / "runs" / "trading" / run / "state.json"
        return json.loads(path.read_text()) if path.is_file() else {}

    first = detached()
    running = json.loads(server.cli("--json", "trading", "status", first).stdout)
    assert running["alive"] is True and running["status"] in ("running", "preflight")
    _ok(server.cli("trading", "stop", first, "--reason", "e2e"), "trading stop")
    deadline = time.monotonic() + 60
    while state_of(first).get("status") != "finished" and time.monotonic() < deadline:
        time.sleep(0.5)
    assert state_of(first)["stop_reason"] == "operator_stop"
    second = detached()
    server.stop()
    final = state_of(second)
    assert final["status"] == "finished" and final["stop_reason"] == "shutdown"
    assert any(e["kind"] == "shutdown_signal" for e in final["events"])
    assert Path(d).is_dir()
