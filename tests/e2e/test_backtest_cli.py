"""End to end through `ghtrader serve` and the CLI: train a model on a small synthetic window,
then `backtest` it on the following days through the micro-simulator."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.e2e.test_record_train_cli import Server, server  # noqa: F401  (the fixture)

pytestmark = pytest.mark.e2e


def test_backtest_a_trained_model(server: Server) -> None:  # noqa: F811
    from ghtrader.domain.factors import CORE_L5_FACTORS

    contract, start, end = "SHFE.cu2705", "2026-10-12", "2026-10-21"
    factors = ",".join(CORE_L5_FACTORS)
    steps = [
        ("download", contract, "--start", start, "--end", end),
        ("main-schedule", "--var", "SHFE.cu", "--start", start, "--end", end),
        ("main-l5", "--var", "SHFE.cu", "--start", start, "--end", end),
        ("build", "KQ.m@SHFE.cu", "--start", start, "--end", end, "--horizons", "10", "--factors", factors),
        ("train", "logistic", "--start", "2026-10-13", "--end", "2026-10-19", "--seed", "1"),
    ]
    for step in steps:
        done = server.cli(*step)
        assert done.returncode == 0, f"{step[0]}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
    model = "logistic-KQ.m@SHFE.cu-h10"

    as_json = server.cli(
        "--json", "backtest", "--model", model, "--start", "2026-10-20", "--end", end, "--commission-bp", "0.2"
    )
    assert as_json.returncode == 0, as_json.stderr[-3000:]
    payload = json.loads(as_json.stdout)
    assert payload["ok"] is True and payload["summary"].startswith(f"backtest {model} v1 on KQ.m@SHFE.cu")
    r = payload["result"]
    assert r["fit_days"] == ["2026-10-19"] and r["execution"] == "aggressive" and r["queue_model"] == "prob_log"
    s = r["summary"]
    assert s["days"] == 2 and s["final_position"] == 0
    assert s["pnl_net"] == pytest.approx(s["pnl_gross"] - s["fees"])
    assert s["fills"] == s["fills_aggressive"] + s["fills_passive_queue"] + s["fills_passive_cross"]
    assert set(r["by_session"]) == {"day", "night"} and set(r["by_regime"]) == {"low_vol", "mid_vol", "high_vol"}
    paths = r["report_paths"]
    assert Path(paths["json_path"]).is_file() and Path(paths["html_path"]).is_file()
    assert json.loads(Path(paths["json_path"]).read_text())["summary"]["pnl_net"] == pytest.approx(s["pnl_net"])
    assert {Path(p).suffix for p in paths["figure_paths"].values()} == {".png"}
    assert set(paths["figure_paths"]) == {"equity", "drawdown", "fills_on_price"}

    human = server.cli(
        "backtest", "--model", model, "--start", "2026-10-20", "--end", "2026-10-20", "--execution", "passive"
    )
    assert human.returncode == 0, human.stderr[-3000:]
    assert "pnl_net" in human.stdout and "high_vol" in human.stdout and "report" in human.stdout

    # counterfactual: the same targets passive (A) vs aggressive (B), one A/B table
    ab = server.cli(
        "--json", "backtest", "--model", model, "--start", "2026-10-20", "--end", "2026-10-20",
        "--execution", "passive", "--versus-execution", "aggressive",
    )  # fmt: skip
    assert ab.returncode == 0, ab.stderr[-3000:]
    cf = json.loads(ab.stdout)["result"]["counterfactual"]
    assert cf["A"] == "passive/prob_log" and cf["B"] == "aggressive/prob_log"
    assert set(cf["table"]) >= {"fill_rate", "cost_per_lot", "adverse_ticks", "pnl_net"}
    ab_human = server.cli(
        "backtest", "--model", model, "--start", "2026-10-20", "--end", "2026-10-20",
        "--execution", "passive", "--versus-queue-model", "risk_averse",
    )  # fmt: skip
    assert ab_human.returncode == 0, ab_human.stderr[-3000:]
    assert "counterfactual: A = passive/prob_log, B = passive/risk_averse" in ab_human.stdout
    assert re.search(r"^fill_rate\s+\S+\s+\S+\s+\S+$", ab_human.stdout, re.M), ab_human.stdout

    # bad input: exit 2 naming the flag
    for args, flag in (
        (("--start", "2026-10-21", "--end", "2026-10-20"), "--start"),
        (("--start", "20-10-2026", "--end", end), "--start"),
        (("--start", start, "--end", end, "--execution", "market"), "--execution"),
        (("--start", start, "--end", end, "--entry-latency-ms", "-1"), "--entry-latency-ms"),
        (("--start", start, "--end", end, "--versus-execution", "market"), "--versus-execution"),
    ):
        bad = server.cli("backtest", "--model", model, *args)
        assert bad.returncode == 2 and flag in bad.stderr, (args, bad.stderr[-500:])
    unknown = server.cli("backtest", "--model", "nope", "--start", "2026-10-20", "--end", end)
    assert unknown.returncode != 0 and "nope" in (unknown.stderr + unknown.stdout)
