"""End to end through `ghtrader serve`: a model trained on generated features (a stored feature
set with every generator operator, `train --features @NAME`) is served by the online factor
engine: `backtest` runs it over one day, and `trade --mode sim` over the same ticks decides with
it and gives the backtest's orders, fills and PnL (the runner computes the generated features
tick by tick, the backtest one day per kernel call). About 2 minutes on a busy 2-core machine."""

from __future__ import annotations

import json
import time
from datetime import date, timedelta
from pathlib import Path

import pytest

from ghtrader.adapters.filesystem.feature_sets import JsonFeatureSetStore
from ghtrader.application.ports.feature_sets import FeatureSet
from ghtrader.domain.factors import CORE_L5_FACTORS
from tests.e2e.test_record_train_cli import Server, server  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# the backtest-vs-sim test's market: 5 s snapshots with a planted signal the policy can trade
SERVER_ENV = {"GHTRADER_SYNTHETIC_SIGNAL_STRENGTH": "0.6", "GHTRADER_SYNTHETIC_TICK_INTERVAL_MS": "5000"}
FLAT_S = "120"
A, B, C = CORE_L5_FACTORS[:3]
FEATURES = (
    A, B,
    f"gen__lag2__{A}", f"gen__diff1__{B}", f"gen__mean20__{A}", f"gen__std20__{B}", f"gen__ewm10__{C}",
    f"gen__mul__{A}__{B}", f"gen__div__{A}__{C}",
)  # fmt: skip
MODEL = "gen-logistic"


def _ok(done, step: str) -> None:  # type: ignore[no-untyped-def]
    assert done.returncode == 0, f"{step}: {done.stdout[-2000:]}{done.stderr[-2000:]}"


def test_backtest_and_sim_run_a_model_on_generated_features(server: Server) -> None:  # noqa: F811
    start, end = "2026-10-19", "2026-10-27"
    for contract in ("SHFE.cu2611", "SHFE.cu2612"):
        _ok(server.cli("download", contract, "--start", start, "--end", end), f"download {contract}")
    sched = server.cli("--json", "main-schedule", "--var", "SHFE.cu", "--start", start, "--end", end)
    _ok(sched, "main-schedule")
    segments = json.loads(sched.stdout)["result"]["segments"]
    assert len(segments) >= 2, segments
    before = date.fromisoformat(segments[0]["last_day"])
    fit_day = before - timedelta(days=1)
    while fit_day.weekday() >= 5:
        fit_day -= timedelta(days=1)
    for step in (
        ("main-l5", "--var", "SHFE.cu", "--start", start, "--end", end),
        ("build", "KQ.m@SHFE.cu", "--start", start, "--end", end, "--horizons", "10",
         "--factors", ",".join(CORE_L5_FACTORS)),
    ):  # fmt: skip
        _ok(server.cli(*step), step[0])

    # a stored set, as `features select` writes it (the server reads runs/feature_sets)
    JsonFeatureSetStore(server.tmp / "runs" / "feature_sets").save(
        FeatureSet(name="gen-set", features=FEATURES, created_at_ns=time.time_ns(), symbol="KQ.m@SHFE.cu", horizon=10)
    )
    trained = server.cli(
        "--json", "train", "logistic", "--features", "@gen-set", "--model-id", MODEL,
        "--start", start, "--end", fit_day.isoformat(), "--seed", "1",
    )  # fmt: skip
    _ok(trained, "train --features @gen-set")
    meta = json.loads(Path(json.loads(trained.stdout)["result"]["meta_path"]).read_text())
    assert meta["enabled_factors"] == list(FEATURES)

    bt = server.cli(
        "--json", "backtest", "--model", MODEL, "--start", before.isoformat(), "--end", before.isoformat(),
        "--flat-s", FLAT_S, timeout=600,
    )  # fmt: skip
    _ok(bt, "backtest")
    result = json.loads(bt.stdout)["result"]
    assert result["fit_days"] == [fit_day.isoformat()] and result["rows"] > 0
    summary = result["summary"]
    assert summary["fills"] > 0, (result["policy"], result["notes"])  # the comparison below is not 0 == 0

    sim = server.cli(
        "--json", "trade", "--mode", "sim", "--model", MODEL, "--symbol", "KQ.m@SHFE.cu",
        "--replay-from", f"{fit_day.isoformat()}T20:00", "--speedup", "20000", "--max-ticks", str(result["rows"]),
        "--flat-s", FLAT_S, "--limit", "max_consecutive_losses=100000", "--limit", "max_orders_per_second=50",
        "--no-online-calibration", timeout=600,
    )  # fmt: skip
    _ok(sim, "trade --mode sim")
    status = json.loads(sim.stdout)
    assert status["stop_reason"] == "max_ticks" and status["rolls"] == 0, status
    counts = status["event_counts"]
    assert counts.get("target_change", 0) == result["target_changes"]
    assert counts.get("order_new", 0) == result["orders"]
    assert counts.get("trade_fill", 0) == summary["fills"]
    run_dir = server.tmp / "runs" / "trading" / status["run_id"]
    config = json.loads((run_dir / "run_config.json").read_text())
    assert config["model"]["features"] == list(FEATURES), config["model"]
    last = [json.loads(x) for x in (run_dir / "snapshots.jsonl").read_text().splitlines()][-1]
    assert last["balance"] - 1_000_000.0 == pytest.approx(summary["pnl_net"], abs=1e-6)
