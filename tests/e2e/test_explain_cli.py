"""End to end through `ghtrader serve` and the CLI, on one small synthetic window (one server, so
the data is built once): `explain` runs as a job, its TreeSHAP attributions add up to the
model's raw margin, permutation importance and error analysis are in the JSON, and the report's
figures come back through GetReportFigures (what the dashboard's models page shows); then
`features select --generate` stores a named set, `features sets / show` read it, and
`train --features @NAME` trains on it (generated features computed from their parents)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ghtrader.domain.factors import CORE_L5_FACTORS
from ghtrader.interfaces.client import GhTraderClient
from tests.e2e.test_record_train_cli import Server, server  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CONTRACT, START, END = "SHFE.cu2705", "2026-10-12", "2026-10-21"  # a thin far month: few ticks a day
MODEL = "lightgbm-KQ.m@SHFE.cu-h10"
CANDIDATES = CORE_L5_FACTORS[:3]


def _ok(done: object, what: str) -> None:
    assert done.returncode == 0, f"{what}: {done.stdout[-3000:]}{done.stderr[-3000:]}"  # type: ignore[attr-defined]


def test_explain_a_trained_model(server: Server) -> None:  # noqa: F811
    for step in (
        ("download", CONTRACT, "--start", START, "--end", END),
        ("main-schedule", "--var", "SHFE.cu", "--start", START, "--end", END),
        ("main-l5", "--var", "SHFE.cu", "--start", START, "--end", END),
        ("build", "KQ.m@SHFE.cu", "--start", START, "--end", END, "--horizons", "10",
         "--factors", ",".join(CORE_L5_FACTORS)),
        ("train", "lightgbm", "--start", "2026-10-13", "--end", "2026-10-20", "--seed", "1"),
    ):  # fmt: skip
        _ok(server.cli(*step), step[0])

    done = server.cli("--json", "explain", MODEL, "--day", END, "--repeats", "1", timeout=300)
    _ok(done, "explain")
    out = json.loads(done.stdout)
    r = out["result"]
    assert out["ok"] and f"explain {MODEL} v1 (lightgbm)" in out["summary"]
    assert r["methods"] == ["treeshap", "permutation"] and r["rows"] > 100
    assert r["completeness_max_abs_error"] < 1e-6
    tick = r["tick"]
    assert abs(sum(tick["contributions"].values()) + tick["base"] - tick["output"]) < 1e-6
    assert {g["feature"] for g in r["global_importance"]} == set(CORE_L5_FACTORS)
    assert len(r["permutation"]) == len(CORE_L5_FACTORS)
    assert r["error_analysis"]["symbol"]["KQ.m@SHFE.cu"]["n"] > 100
    assert sum(g["n"] for g in r["error_analysis"]["session"].values()) > 0

    # one chosen tick, attributions only, human output
    human = server.cli("explain", MODEL, "--day", END, "--method", "treeshap", "--tick-ts", str(tick["datetime_ns"]))
    _ok(human, "explain --tick-ts")
    assert f"tick {tick['datetime_ns']}" in human.stdout and "report" in human.stdout

    with GhTraderClient(f"127.0.0.1:{server.port}") as client:
        names = {name for name, png in client.report_figures(out["report_path"]) if png[:4] == b"\x89PNG"}
    assert {"global_importance", "tick_waterfall", "permutation_importance", "error_by_group"} <= names

    # feature selection over the core set plus generated features, then train on the named set
    sel = server.cli(
        "--json", "features", "select", "--name", "e2e-set", "--start", "2026-10-13", "--end", "2026-10-20",
        "--features", ",".join(CANDIDATES), "--generate", "--max-pairs", "2", "--splits", "2",
        "--min-features", "4", "--rfe-drop", "0.5", "--max-rows", "4000",
        "--param", "num_boost_round=60", "--param", "num_threads=1", timeout=600,
    )  # fmt: skip
    _ok(sel, "features select")
    s = json.loads(sel.stdout)["result"]
    chosen = s["features"]
    assert s["candidates"] == len(CANDIDATES) * 9 + 2 and len(chosen) >= 4  # 8 generated per factor + 2 products
    assert s["rounds"][-1]["features"] and len(s["rounds"][0]["features"]) >= len(chosen)
    assert s["registered_generated"] == [f for f in chosen if f.startswith("gen__")]
    listed = json.loads(server.cli("--json", "features", "sets").stdout)["sets"]
    assert [(x["name"], x["features"]) for x in listed] == [("e2e-set", chosen)]
    shown = server.cli("features", "show", "e2e-set")
    _ok(shown, "features show")
    assert "CV log-loss" in shown.stdout and chosen[0] in shown.stdout

    trained = server.cli(
        "--json", "train", "lightgbm", "--features", "@e2e-set", "--model-id", "on-set",
        "--start", "2026-10-13", "--end", "2026-10-20", "--seed", "1",
    )  # fmt: skip
    _ok(trained, "train --features @e2e-set")
    meta = json.loads(Path(json.loads(trained.stdout)["result"]["meta_path"]).read_text())
    assert meta["enabled_factors"] == chosen
