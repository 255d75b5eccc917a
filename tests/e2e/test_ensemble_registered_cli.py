"""End to end through `ghtrader serve` and the CLI: logistic and LightGBM are trained and
registered on the first days of a small synthetic window, an ensemble of those registered
VERSIONS is created (no retraining), then trained (its combiner only) on later days, benchmarked and backtested like any model, and
it appears in the registry. Then a regime model (mid / spread observations) is fitted on the
members' days and a `--strategy regime` ensemble of the same versions trains (registers) and
backtests with its regime-mixed weights. (A window overlapping the members' training is refused as leakage:
tests/unit/application/research/test_ensemble_registered.py; a job here costs ~30 s.)"""

from __future__ import annotations

import json

import pytest

from tests.e2e.test_record_train_cli import Server, server  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CONTRACT, START, END = "SHFE.cu2705", "2026-10-12", "2026-10-16"
MAIN = "KQ.m@SHFE.cu"
MODEL = f"ensemble-reg-{MAIN}-h10"


def _ok(done: object, what: str) -> dict:
    assert done.returncode == 0, f"{what}: {done.stdout[-3000:]}{done.stderr[-3000:]}"  # type: ignore[attr-defined]
    return json.loads(done.stdout) if done.stdout.lstrip().startswith("{") else {}  # type: ignore[attr-defined]


def test_ensemble_of_registered_versions_trains_benchmarks_and_backtests(server: Server) -> None:  # noqa: F811
    from ghtrader.domain.factors import CORE_L5_FACTORS

    factors = ",".join(CORE_L5_FACTORS)
    for step in (
        ("download", CONTRACT, "--start", START, "--end", END),
        ("main-schedule", "--var", "SHFE.cu", "--start", START, "--end", END),
        ("main-l5", "--var", "SHFE.cu", "--start", START, "--end", END),
        ("build", MAIN, "--start", START, "--end", END, "--horizons", "10", "--factors", factors),
    ):
        _ok(server.cli(*step), step[0])
    members = ("--start", "2026-10-13", "--end", "2026-10-13", "--max-train-rows", "3000", "--seed", "1")
    for family in ("logistic", "lightgbm"):
        _ok(server.cli("--json", "train", family, *members, timeout=300), f"train {family}")

    created = _ok(
        server.cli("--json", "ensemble", "create", "reg", "--strategy", "blending",
                   "--registered", f"logistic-{MAIN}-h10,lightgbm-{MAIN}-h10@1"),
        "ensemble create --registered",
    )["ensemble"]  # fmt: skip
    assert created["registered"] and created["member_models"] == [f"logistic-{MAIN}-h10@1", f"lightgbm-{MAIN}-h10@1"]
    assert "blending of registered" in server.cli("ensemble", "show", "reg").stdout
    missing = server.cli("ensemble", "create", "bad", "--registered", "nope-h10@1")
    assert missing.returncode != 0 and "nope-h10" in missing.stderr

    train = _ok(
        server.cli("--json", "train", "ensemble-reg", "--start", "2026-10-14", "--end", "2026-10-15", timeout=300),
        "train ensemble-reg",
    )
    assert MODEL in json.dumps(train)
    models = _ok(server.cli("--json", "models", "--type", "ensemble-reg"), "models")["models"]
    assert [(m["model_id"], m["version"], m["status"]) for m in models] == [(MODEL, "1", "development")]

    scope = ("--start", "2026-10-14", "--end", END, "--max-train-rows", "3000", "--seed", "3")
    bench = _ok(server.cli("--json", "benchmark", "ensemble-reg", *scope, timeout=300), "benchmark")["result"]
    assert bench["family"] == "ensemble-reg" and bench["n_splits"] >= 1
    fold = bench["folds"][0]["model"]["ensemble"]
    assert fold["fit"]["registered"] and fold["meta_learner"]["rows"] > 0
    assert bench["folds"][0]["latency"]["p50_ms"] > 0  # the combined ONNX graph was timed

    result = _ok(
        server.cli("--json", "backtest", "--model", MODEL, "--start", END, "--end", END, timeout=300),
        "backtest",
    )["result"]
    assert result["summary"]["days"] == 1 and result["summary"]["final_position"] == 0

    fit = _ok(
        server.cli("--json", "regime", "fit", "--symbol", MAIN, "--start", "2026-10-13", "--end", "2026-10-13",
                   "--states", "2", "--seeds", "0", "--n-iter", "20", "--features", "ret,log_rvol,spread_bps",
                   timeout=300),
        "regime fit",
    )["result"]  # fmt: skip
    _ok(
        server.cli("--json", "ensemble", "create", "rg", "--strategy", "regime",
                   "--registered", f"logistic-{MAIN}-h10@1,lightgbm-{MAIN}-h10@1",
                   "--params", json.dumps({"regime_model": fit["model_id"]})),
        "ensemble create --strategy regime",
    )  # fmt: skip
    regime_model = f"ensemble-rg-{MAIN}-h10"
    trained = _ok(
        server.cli("--json", "train", "ensemble-rg", "--start", "2026-10-14", "--end", "2026-10-15", timeout=300),
        "train ensemble-rg (regime)",
    )
    assert regime_model in json.dumps(trained)
    metas = [json.loads(m.read_text()) for m in (server.tmp / "artifacts").rglob("model_h10.meta.json")]
    meta = next(m for m in metas if m["model_id"] == regime_model)  # W and the regime model, for serving
    assert meta.get("regime_ensemble", {}).get("regime_model", {}).get("model_id") == fit["model_id"]
    result = _ok(
        server.cli("--json", "backtest", "--model", regime_model, "--start", END, "--end", END, timeout=300),
        "backtest regime ensemble",
    )["result"]
    assert result["summary"]["days"] == 1 and result["summary"]["final_position"] == 0
