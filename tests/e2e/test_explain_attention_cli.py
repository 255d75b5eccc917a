"""End to end through `ghtrader serve` and the CLI: a TLOB model trained for one epoch on a small
synthetic window is explained over one day; the report carries its temporal and feature-wise
attention maps (rows summing to 1 in the report's JSON, summaries in the job result) and their
heat maps come back through GetReportFigures, which is what the dashboard's models page shows."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ghtrader.domain.factors import CORE_L5_FACTORS
from ghtrader.interfaces.client import GhTraderClient
from tests.e2e.test_record_train_cli import Server, server  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CONTRACT, START, END = "SHFE.cu2705", "2026-10-12", "2026-10-16"  # a thin far month: few ticks a day
MODEL = "tlob-KQ.m@SHFE.cu-h10"
WINDOW = 10


def _ok(done: object, what: str) -> None:
    assert done.returncode == 0, f"{what}: {done.stdout[-3000:]}{done.stderr[-3000:]}"  # type: ignore[attr-defined]


def test_explain_shows_the_attention_maps_of_a_tlob_model(server: Server) -> None:  # noqa: F811
    features = CORE_L5_FACTORS[:4]
    for step in (
        ("download", CONTRACT, "--start", START, "--end", END),
        ("main-schedule", "--var", "SHFE.cu", "--start", START, "--end", END),
        ("main-l5", "--var", "SHFE.cu", "--start", START, "--end", END),
        ("build", "KQ.m@SHFE.cu", "--start", START, "--end", END, "--horizons", "10",
         "--factors", ",".join(features)),
        ("train", "tlob", "--start", "2026-10-13", "--end", "2026-10-15", "--seed", "1", "--epochs", "1",
         "--window", str(WINDOW), "--features", ",".join(features)),
    ):  # fmt: skip
        _ok(server.cli(*step, timeout=300), step[0])

    done = server.cli(
        "--json", "explain", MODEL, "--day", END, "--max-rows", "32", "--steps", "4", "--repeats", "1",
        "--permutation-rows", "2000", timeout=300,
    )  # fmt: skip
    _ok(done, "explain")
    out = json.loads(done.stdout)
    r = out["result"]
    assert out["ok"] and r["methods"] == ["ig", "permutation"]
    kinds = [(e["kind"], e["layer"]) for e in r["attention"]]
    assert kinds == [("temporal", 1), ("temporal", 2), ("feature", 1), ("feature", 2)]  # TLOB's 2 default layers
    assert all("tick_map" not in e for e in r["attention"])  # matrices only in the report file
    temporal = r["attention"][0]["summary"]
    assert set(temporal["share_last_k"]) == {"1", "5"} and temporal["row_sum_max_error"] < 1e-5
    assert 0 < temporal["share_last_k"]["1"] < temporal["share_last_k"]["5"] <= 1

    report = json.loads(Path(r["report_paths"]["json_path"]).read_text())
    for e in report["attention"]:
        n = WINDOW if e["kind"] == "temporal" else len(features)
        for key in ("tick_map", "mean_map"):
            m = np.asarray(e[key])
            assert m.shape == (n, n)
            np.testing.assert_allclose(m.sum(axis=1), 1.0, atol=1e-5)
    assert report["attention"][2]["labels"] == list(features)

    human = server.cli("explain", MODEL, "--day", END, "--method", "ig", "--max-rows", "8", "--steps", "2")
    _ok(human, "explain --method ig")
    assert "layer 2 temporal" in human.stdout and "last 5" in human.stdout

    with GhTraderClient(f"127.0.0.1:{server.port}") as client:
        names = {name for name, png in client.report_figures(out["report_path"]) if png[:4] == b"\x89PNG"}
    assert {"attention_temporal", "attention_feature", "attention_by_lag", "importance_by_lag"} <= names
