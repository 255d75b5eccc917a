"""End to end through `ghtrader serve` and the CLI: a stored ensemble of two registered families
(logistic + LightGBM with few rounds, stacked on out-of-fold predictions) is created, versioned
and rolled back, then benchmarks, trains (registers) and backtests exactly like a single family, and goes through daily-train's promotion gate."""

from __future__ import annotations

import json

import pytest

from tests.e2e.test_record_train_cli import Server, server  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CONTRACT, START, END = "SHFE.cu2705", "2026-10-12", "2026-10-21"
MAIN = "KQ.m@SHFE.cu"
MODEL = f"ensemble-fast-{MAIN}-h10"


def _ok(done: object, what: str) -> dict:
    assert done.returncode == 0, f"{what}: {done.stdout[-3000:]}{done.stderr[-3000:]}"  # type: ignore[attr-defined]
    return json.loads(done.stdout) if done.stdout.lstrip().startswith("{") else {}  # type: ignore[attr-defined]


def test_ensemble_benchmarks_trains_and_backtests_like_a_family(server: Server) -> None:  # noqa: F811
    from ghtrader.domain.factors import CORE_L5_FACTORS

    factors = ",".join(CORE_L5_FACTORS)
    for step in (
        ("download", CONTRACT, "--start", START, "--end", END),
        ("main-schedule", "--var", "SHFE.cu", "--start", START, "--end", END),
        ("main-l5", "--var", "SHFE.cu", "--start", START, "--end", END),
        ("build", MAIN, "--start", START, "--end", END, "--horizons", "10", "--factors", factors),
    ):
        _ok(server.cli(*step), step[0])

    create = (
        "--json", "ensemble", "create", "fast", "--members", "logistic,lightgbm", "--strategy", "stacking",
        "--member-param", "lightgbm.num_boost_round=30", "--member-param", "lightgbm.num_threads=1",
        "--params", '{"oof_folds": 2}', "--note", "e2e",
    )  # fmt: skip
    v1 = _ok(server.cli(*create), "ensemble create")["ensemble"]
    assert (v1["version"], v1["active"], v1["family"]) == (1, True, "ensemble-fast@1")
    assert v1["params"]["member_params"] == {"lightgbm": {"num_boost_round": 30, "num_threads": 1}}
    assert _ok(server.cli(*create), "create again")["ensemble"]["version"] == 1  # unchanged: same version
    v2 = _ok(
        server.cli("--json", "ensemble", "create", "fast", "--members", "logistic,lightgbm", "--strategy", "weighted",
                   "--weights", "2,1"),
        "create v2",
    )["ensemble"]  # fmt: skip
    assert v2["version"] == 2 and v2["weights"] == [2.0, 1.0]
    back = _ok(server.cli("--json", "ensemble", "rollback", "fast", "--version", "1"), "rollback")["ensemble"]
    assert back["version"] == 1 and back["active"]
    listed = _ok(server.cli("--json", "ensemble", "list"), "list")["ensembles"]
    assert [(e["version"], e["active"]) for e in listed] == [(1, True), (2, False)]
    assert "stacking of logistic, lightgbm" in server.cli("ensemble", "show", "fast").stdout
    bad = server.cli("ensemble", "create", "bad", "--members", "logistic,tcn")
    assert bad.returncode != 0 and "deep family" in bad.stderr

    scope = ("--start", START, "--end", END, "--max-train-rows", "6000", "--seed", "3")
    bench = _ok(server.cli("--json", "benchmark", "ensemble-fast", *scope, timeout=600), "benchmark")["result"]
    assert (bench["family"], bench["symbol"], bench["horizon"]) == ("ensemble-fast", MAIN, 10)
    assert bench["n_splits"] >= 2 and 0.0 < bench["summary"]["macro_f1"]["mean"] < 1.0
    fold_model = bench["folds"][0]["model"]
    assert fold_model["ensemble"]["strategy"] == "stacking" and fold_model["ensemble"]["meta_learner"]["rows"] > 0
    assert bench["folds"][0]["latency"]["p50_ms"] > 0  # the combined ONNX graph was timed

    train = _ok(
        server.cli("--json", "train", "ensemble-fast", "--start", "2026-10-13", "--end", "2026-10-19", "--seed", "1",
                   timeout=600),
        "train",
    )  # fmt: skip
    assert MODEL in json.dumps(train)
    models = _ok(server.cli("--json", "models", "--type", "ensemble-fast"), "models")["models"]
    assert [(m["model_id"], m["version"], m["status"]) for m in models] == [(MODEL, "1", "development")]

    result = _ok(
        server.cli("--json", "backtest", "--model", MODEL, "--start", "2026-10-20", "--end", END, timeout=600),
        "backtest",
    )["result"]
    assert result["summary"]["days"] == 2 and result["summary"]["final_position"] == 0

    # the continual loop: train a candidate, evaluate, backtest, gate, exactly as for a single family
    daily = _ok(
        server.cli("--json", "daily-train", "--start", START, "--end", END, "--no-refresh", "--seed", "1",
                   "--max-train-rows", "6000", "--family", "ensemble-fast", timeout=900),
        "daily-train",
    )["result"]  # fmt: skip
    assert daily["candidate"]["family"] == "ensemble-fast" and daily["incumbent"] is None
    assert daily["decision"]["decision"] in ("promote", "keep") and len(daily["decision"]["checks"]) == 6
    assert daily["candidate"]["gate"]["latency_us"] > 0 and daily["candidate"]["backtest"]["summary"]["days"] == 2
