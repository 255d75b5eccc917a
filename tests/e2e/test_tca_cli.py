"""End to end through `ghtrader serve`: a short sim run on a synthetic window, then `ghtrader tca
--run <id>`: every order attributed, the components sum to the implementation shortfall, the
labels stored in PostgreSQL, the figures written; then `tca pretrade` on the same contract."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.e2e.test_record_train_cli import Server, server  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]  # ~4 min on the shared VM, mostly the pipeline set-up

# 5 s snapshots with a planted signal strong enough for the fitted policy to trade (as in
# test_backtest_sim_cli.py): at the defaults the policy finds nothing that pays the spread
SERVER_ENV = {"GHTRADER_SYNTHETIC_SIGNAL_STRENGTH": "0.6", "GHTRADER_SYNTHETIC_TICK_INTERVAL_MS": "5000"}


def _ok(done, step: str) -> None:  # type: ignore[no-untyped-def]
    assert done.returncode == 0, f"{step}: {done.stdout[-2000:]}{done.stderr[-2000:]}"


def test_tca_attributes_a_sim_runs_costs(server: Server) -> None:  # noqa: F811
    from ghtrader.domain.factors import CORE_L5_FACTORS

    start, end = "2026-10-19", "2026-10-27"
    for contract in ("SHFE.cu2611", "SHFE.cu2612"):
        _ok(server.cli("download", contract, "--start", start, "--end", end, timeout=600), f"download {contract}")
    sched = server.cli("--json", "main-schedule", "--var", "SHFE.cu", "--start", start, "--end", end)
    _ok(sched, "main-schedule")
    segments = json.loads(sched.stdout)["result"]["segments"]
    before = date.fromisoformat(segments[0]["last_day"])
    fit_day = before - timedelta(days=1)
    while fit_day.weekday() >= 5:
        fit_day -= timedelta(days=1)
    for step in (
        ("main-l5", "--var", "SHFE.cu", "--start", start, "--end", end),
        ("build", "KQ.m@SHFE.cu", "--start", start, "--end", end, "--horizons", "10",
         "--factors", ",".join(CORE_L5_FACTORS)),
        ("train", "logistic", "--start", start, "--end", fit_day.isoformat(), "--seed", "1"),
    ):  # fmt: skip
        _ok(server.cli(*step, timeout=600), step[0])
    sim = server.cli(
        "--json", "trade", "--mode", "sim", "--model", "logistic-KQ.m@SHFE.cu-h10", "--symbol", "KQ.m@SHFE.cu",
        "--replay-from", f"{fit_day.isoformat()}T20:00", "--speedup", "3000", "--max-ticks", "3000",
        "--flat-s", "120", "--limit", "max_consecutive_losses=100000", "--limit", "max_orders_per_second=50",
        "--no-online-calibration", timeout=600,
    )  # fmt: skip
    _ok(sim, "trade --mode sim")
    run_id = json.loads(sim.stdout)["run_id"]
    run_dir = server.tmp / "runs" / "trading" / run_id
    events = [json.loads(x) for x in (run_dir / "events.jsonl").read_text().splitlines()]
    sent = [e["order"]["order_id"] for e in events if e["kind"] == "order_new"]
    fees = sum(e["fee"] for e in events if e["kind"] == "trade_fill")
    assert sent and fees > 0, "the sim run traded nothing: no costs to attribute"

    done = server.cli("--json", "tca", "--run", run_id)
    _ok(done, "tca --run")
    r = json.loads(done.stdout)
    assert [o["order_id"] for o in r["orders"]] == sent and not r["notes"]
    tt, t = r["totals_ticks"], r["totals"]
    # the identity, exactly on ticks x lots and to rounding in CNY, and per order
    assert tt["spread"] + tt["impact"] + tt["timing"] + tt["opportunity"] == tt["shortfall"]
    assert t["spread"] + t["impact"] + t["timing"] + t["opportunity"] == pytest.approx(t["shortfall"], abs=1e-6)
    assert t["shortfall"] == pytest.approx(tt["shortfall"] * r["tick"] * r["multiplier"])
    for o in r["orders"]:
        c = o["cost"]
        assert c["spread"] + c["impact"] + c["timing"] + c["opportunity"] == pytest.approx(c["shortfall"], abs=1e-6)
    assert r["fees"] == pytest.approx(fees, abs=1e-6) and r["total_cost"] == pytest.approx(t["shortfall"] + fees)
    assert t["spread"] > 0  # aggressive orders pay the half-spread
    figures = [Path(p) for p in r["figure_paths"]]
    assert {p.stem for p in figures} == {"cost_components_per_order", "cost_components_cumulative"}
    assert all(p.is_file() and p.read_bytes()[:4] == b"\x89PNG" and run_dir in p.parents for p in figures)

    human = server.cli("tca", "--run", run_id, "--no-report")
    _ok(human, "tca --run (table)")
    assert "TOTAL" in human.stdout and "(exact)" in human.stdout and sent[0] in human.stdout
    print(human.stdout)  # the table docs/tca.md quotes (pytest -s)
    stored = server.cli(
        "--json", "query", f"SELECT count(*) AS n, sum(shortfall) AS s FROM ghtrader_execution_labels_v2 "
        f"WHERE run_id = '{run_id}'",
    )  # fmt: skip
    _ok(stored, "query the labels")
    n, s = json.loads(stored.stdout)["rows"][0]
    assert n == len(sent) and s == pytest.approx(t["shortfall"], abs=1e-6)

    # passive limits at the own best: orders rest, fill later or are cancelled, so the mid's drift
    # (timing) and the unfilled lots (opportunity) take their share; the identity still holds exactly
    passive = server.cli(
        "--json", "trade", "--mode", "sim", "--model", "logistic-KQ.m@SHFE.cu-h10", "--symbol", "KQ.m@SHFE.cu",
        "--replay-from", f"{fit_day.isoformat()}T20:00", "--speedup", "3000", "--max-ticks", "3000",
        "--flat-s", "120", "--passive", "--order-kind", "limit", "--limit", "max_consecutive_losses=100000",
        "--limit", "max_orders_per_second=50", "--no-online-calibration", timeout=600,
    )  # fmt: skip
    _ok(passive, "trade --mode sim --passive")
    passive_id = json.loads(passive.stdout)["run_id"]
    done = server.cli("--json", "tca", "--run", passive_id)
    _ok(done, "tca --run (passive)")
    rp = json.loads(done.stdout)
    pt = rp["totals_ticks"]
    assert rp["orders"] and pt["spread"] + pt["impact"] + pt["timing"] + pt["opportunity"] == pt["shortfall"]
    assert any(o["cost"]["timing"] != 0 or o["cost"]["opportunity"] != 0 for o in rp["orders"])
    print(server.cli("tca", "--run", passive_id, "--no-report").stdout)

    # a backtest's fills: the old main's last day replayed through the micro-sim, then attributed
    bt = server.cli(
        "--json", "tca", "--backtest-model", "logistic-KQ.m@SHFE.cu-h10", "--start", before.isoformat(),
        "--end", before.isoformat(), "--flat-s", "120", timeout=600,
    )  # fmt: skip
    _ok(bt, "tca --backtest-model")
    rb = json.loads(bt.stdout)
    bt_t = rb["totals_ticks"]
    assert rb["source"] == "backtest" and rb["orders"] and rb["symbol"] == "KQ.m@SHFE.cu"
    assert bt_t["spread"] + bt_t["impact"] + bt_t["timing"] + bt_t["opportunity"] == bt_t["shortfall"]
    assert rb["report_html"].startswith(str(server.tmp / "runs" / "tca"))

    contract = segments[0]["contract"]
    pre = server.cli("--json", "tca", "pretrade", "--symbol", contract, "--qty", "20", "--side", "buy",
                     "--horizon-s", "120", "--slices", "4")  # fmt: skip
    _ok(pre, "tca pretrade")
    p = json.loads(pre.stdout)
    assert sum(s["lots"] for s in p["slices"]) == 20 and {c["schedule"] for c in p["costs"]} == {"twap", "vwap", "is"}
    # the latest run analysed with enough fills (>= 10) is the calibration a pre-trade estimate uses
    calibrated = [
        rid for rid, x in ((rb["run_id"], rb), (passive_id, rp), (run_id, r)) if x["impact_fitted"]["n_obs"] >= 10
    ]
    if calibrated:
        assert p["impact_source"] == f"stored {calibrated[0]}"
    else:
        assert p["impact_source"].startswith("none")
    assert p["half_spread_ticks"] > 0 and p["costs"][0]["spread"] > 0
    bad = server.cli("tca", "--run", "no-such-run")
    assert bad.returncode == 3 and "no trading run" in (bad.stderr + bad.stdout)
