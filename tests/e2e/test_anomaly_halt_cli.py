"""End to end through `ghtrader serve`: a sim run whose anomaly thresholds (``--anomaly-config``)
make an everyday condition CRITICAL (a spread at or over its rolling median) halts through the
risk engine: the status shows the halt and its anomaly reason, no order follows the halt event in
the journal, and the anomaly is in `alerts list`. Then the drift rungs in a paper run: recalibrate,
the fallback model, `trading resume-model`. One contract over four days: a short set-up."""

from __future__ import annotations

import json
import time

import pytest

from tests.e2e.test_record_train_cli import Server, server  # noqa: F401  (the fixture)

pytestmark = pytest.mark.e2e

CONTRACT, MAIN, START, FIT, END = "SHFE.cu2611", "KQ.m@SHFE.cu", "2026-10-19", "2026-10-20", "2026-10-22"
# a spread at or over its median of the last ticks is no anomaly: here it is CRITICAL
OBVIOUS = {"spread_widening": {"info": 1, "warning": 1, "critical": 1}, "min_periods": 400, "window": 500}
ALWAYS_DRIFT = {"drift_window": 50, "prediction_shift": {"info": 0, "warning": 0}}
# 5 s snapshots with a planted signal the fitted policy trades on (as test_tca_cli.py)
SERVER_ENV = {"GHTRADER_SYNTHETIC_SIGNAL_STRENGTH": "0.6", "GHTRADER_SYNTHETIC_TICK_INTERVAL_MS": "5000"}


def _ok(done, step: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    assert done.returncode == 0, f"{step}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
    return json.loads(done.stdout) if done.stdout.strip().startswith("{") else {}


def test_a_critical_anomaly_halts_a_sim_run(server: Server) -> None:  # noqa: F811
    from ghtrader.domain.factors import CORE_L5_FACTORS

    _ok(server.cli("download", CONTRACT, "--start", START, "--end", END), "download")
    for step in (
        ("main-schedule", "--var", "SHFE.cu", "--start", START, "--end", END),
        ("main-l5", "--var", "SHFE.cu", "--start", START, "--end", END),
        ("build", MAIN, "--start", START, "--end", END, "--horizons", "10", "--factors", ",".join(CORE_L5_FACTORS)),
        ("train", "logistic", "--start", START, "--end", FIT, "--seed", "1"),
    ):
        _ok(server.cli(*step), step[0])
    models = _ok(server.cli("--json", "models"), "models")
    model = next(m["model_id"] for m in models["models"])
    status = _ok(server.cli(
        "--json", "trade", "--mode", "sim", "--model", model, "--symbol", MAIN, "--max-ticks", "2000",
        "--replay-from", "2026-10-20T20:00", "--speedup", "3000", "--no-online-calibration", "--flat-s", "120",
        "--limit", "max_consecutive_losses=100000", "--limit", "max_orders_per_second=50",
        "--anomaly-config", json.dumps(OBVIOUS), timeout=300,
    ), "trade --mode sim")  # fmt: skip
    assert status["risk_state"] == 2  # HALTED, through the operator halt path
    alerts = status["alerts"]
    assert alerts["halted"].startswith("anomaly: spread_widening") and alerts["halted"].endswith("(CRITICAL)")
    assert status["signals_enabled"] is False and status["config"]["run_id"] == status["run_id"]
    events = [json.loads(x) for x in
              (server.tmp / "runs" / "trading" / status["run_id"] / "events.jsonl").read_text().splitlines()]  # fmt: skip
    at = next(i for i, e in enumerate(events) if e["kind"] == "anomaly" and e["severity"] == "CRITICAL")
    assert events[at]["anomaly_type"] == "spread_widening" and events[at]["response"] == "halt"
    assert any(e["kind"] == "operator_command" and e["reason"].startswith("anomaly:") for e in events[at:])
    assert any(e["kind"] == "order_new" for e in events[:at]), "nothing traded before the halt"
    assert not any(e["kind"] == "order_new" for e in events[at:])
    listed = _ok(server.cli("--json", "alerts", "list", "--type", "spread_widening", "--severity", "critical"), "list")
    crit = [e for e in listed["events"] if e["datetime_ns"] == events[at]["time_ns"]]
    assert len(crit) == 1 and crit[0]["detection_method"] == "runtime", listed["events"][:3]

    # drift rungs: every prediction window a drift WARNING; the second in a row hands decisions to
    # the fallback model (the same model here), `trading resume-model` hands them back
    started = _ok(server.cli(
        "--json", "paper", "--model", model, "--symbol", MAIN, "--max-ticks", "3000", "--replay-from",
        "2026-10-20T20:00", "--speedup", "300", "--fallback-model", model, "--drift-fallback-after", "2",
        "--anomaly-config", json.dumps(ALWAYS_DRIFT), "--detach",
    ), "paper --fallback-model")  # fmt: skip
    run_id = started["run_id"]
    path = server.tmp / "runs" / "trading" / run_id / "events.jsonl"

    def kinds() -> list[str]:
        return [json.loads(x)["kind"] for x in path.read_text().splitlines()] if path.is_file() else []

    deadline = time.monotonic() + 60
    while "model_fallback" not in kinds() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert "recalibrate" in kinds() and "model_fallback" in kinds()
    assert _ok(server.cli("--json", "trading", "status", run_id), "status")["drift"]["deciding"] == "fallback"
    _ok(server.cli("trading", "resume-model", run_id, "--reason", "e2e"), "trading resume-model")
    while "model_resumed" not in kinds() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert "model_resumed" in kinds()
    _ok(server.cli("trading", "stop", run_id), "trading stop")
