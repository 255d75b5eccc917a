"""End to end through `ghtrader serve` and the CLI: `daily-train` on a small synthetic window
promotes its first candidate, keeps the incumbent against a deliberately worse one (reasons
recorded), then `promote --force` and `rollback --to` switch production and `models history`
shows every change."""

from __future__ import annotations

import json

import pytest

from tests.e2e.test_record_train_cli import Server, server  # noqa: F401  (the fixture)

pytestmark = pytest.mark.e2e

# the synthetic market's main copper contract in this window (a thin far month gives models no signal)
CONTRACT, START, END = "SHFE.cu2611", "2026-10-12", "2026-10-21"
THIN = "SHFE.cu2705"  # a far month: few ticks, enough to check the sweep's mechanics quickly
MODEL = "daily-KQ.m@SHFE.cu-h10"


def _ok(done: object, what: str) -> None:
    assert done.returncode == 0, f"{what}: {done.stdout[-3000:]}{done.stderr[-3000:]}"  # type: ignore[attr-defined]


def _daily(server: Server, *extra: str) -> dict:  # noqa: F811
    done = server.cli(
        "--json", "daily-train", "--wait", "--start", START, "--end", END, "--no-refresh", "--seed", "1",
        "--max-train-rows", "20000", *extra, timeout=600,
    )  # fmt: skip
    _ok(done, "daily-train")
    return json.loads(done.stdout)


def test_daily_train_promotes_then_keeps_then_rolls_back(server: Server) -> None:  # noqa: F811
    for step in (
        ("download", CONTRACT, "--start", START, "--end", END),
        ("main-schedule", "--var", "SHFE.cu", "--start", START, "--end", END),
        ("main-l5", "--var", "SHFE.cu", "--start", START, "--end", END),
    ):
        _ok(server.cli(*step), step[0])

    first = _daily(server, "--family", "lightgbm")
    r = first["result"]
    assert r["model_id"] == MODEL and r["promoted"] is True and r["production_version"] == "1"
    assert r["test_days"] == ["2026-10-20", "2026-10-21"] and r["fit_day"] == "2026-10-19"
    assert r["train_days"] == ["2026-10-12", "2026-10-16"] and r["incumbent"] is None
    assert r["decision"]["decision"] == "promote" and len(r["decision"]["checks"]) == 6
    gate = r["candidate"]["gate"]
    assert gate["macro_f1"] is not None and gate["latency_us"] > 0
    assert gate["info_captured"] > 0.1 and gate["ece"] < 0.1  # LightGBM on the main: real signal, calibrated
    assert r["candidate"]["backtest"]["summary"]["days"] == 2
    with open(r["report_path"]) as f:
        assert json.load(f)["decision"]["decision"] == "promote"

    # a deliberately worse candidate: one feature, a few hundred rows, a linear family
    second = _daily(server, "--family", "logistic", "--features", "spread_ticks", "--max-train-rows", "300")
    r = second["result"]
    assert r["promoted"] is False and r["production_version"] == "1"
    assert r["incumbent"]["version"] == "1" and r["candidate"]["version"] == "2"
    failed = {c["name"]: c for c in r["decision"]["checks"] if not c["passed"]}
    assert "info_captured" in failed and set(failed) <= {"macro_f1", "info_captured", "ece"}
    info = failed["info_captured"]
    assert info["value"] < info["incumbent"] and "vs incumbent" in info["reason"]

    hist = server.cli("--json", "models", "history", MODEL)
    _ok(hist, "models history")
    changes = json.loads(hist.stdout)["changes"]
    assert [(c["version"], c["from_status"], c["to_status"]) for c in changes] == [
        ("1", "development", "staging"),
        ("1", "staging", "production"),
        ("2", "development", "staging"),
        ("2", "staging", "retired"),
    ]
    assert all(c["actor"] == "daily-train" for c in changes)
    assert changes[3]["decision"]["decision"] == "keep" and "kept out of production" in changes[3]["reason"]
    assert changes[2]["decision"]["evaluation"]["models"].keys() == {"1", "2"}

    # the gate keeps v2 when asked by hand too (exit 1, every check printed)
    _ok(
        server.cli("models", "--model-id", MODEL, "--version", "2", "--set-status", "staging", "--reason", "retry"),
        "set-status",
    )
    kept = server.cli("promote", MODEL, "2")
    assert kept.returncode == 1 and "kept out of production" in kept.stdout and "FAIL" in kept.stdout
    refused = server.cli("promote", MODEL, "2", "--force")
    assert refused.returncode == 2 and "reason" in refused.stderr
    forced = server.cli("--json", "promote", MODEL, "2", "--force", "--reason", "e2e: exercise rollback")
    _ok(forced, "promote --force")
    f = json.loads(forced.stdout)
    assert f["promoted"] and f["forced"] and f["previous_production"] == "1"

    back = server.cli("--json", "rollback", MODEL, "--to", "1", "--reason", "v2 is worse")
    _ok(back, "rollback")
    assert json.loads(back.stdout)["entry"]["status"] == "production"
    listed = json.loads(server.cli("--json", "models", "--status", "production").stdout)["models"]
    assert [(m["model_id"], m["version"]) for m in listed] == [(MODEL, "1")]

    human = server.cli("models", "history", MODEL)
    _ok(human, "models history (human)")
    assert "rollback from v2: v2 is worse" in human.stdout and "forced" in human.stdout
    bad = server.cli("rollback", MODEL, "--to", "2")  # v2 served (forced): allowed; v9 is unknown
    _ok(bad, "rollback to v2")
    unknown = server.cli("rollback", MODEL, "--to", "9")
    assert unknown.returncode != 0 and "not registered" in (unknown.stdout + unknown.stderr)


def test_sweep_compares_hyper_parameter_points_in_one_report(server: Server) -> None:  # noqa: F811
    for step in (
        ("download", THIN, "--start", START, "--end", END),
        ("main-schedule", "--var", "SHFE.cu", "--start", START, "--end", END),
        ("main-l5", "--var", "SHFE.cu", "--start", START, "--end", END),
        ("build", "KQ.m@SHFE.cu", "--start", START, "--end", END, "--horizons", "10"),
    ):
        _ok(server.cli(*step), step[0])
    done = server.cli(
        "--json", "sweep", "logistic", "--param", "max_iter=3,300", "--param", "class_weight=balanced,none",
        "--random", "3", "--start", START, "--end", END, "--max-train-rows", "3000", timeout=600,
    )  # fmt: skip
    _ok(done, "sweep")
    r = json.loads(done.stdout)["result"]
    assert len(r["families"]) == 3 and all(f.startswith("logistic[class_weight=") for f in r["families"])
    assert set(r["table"]["macro_f1"]) == set(r["families"])
    assert len({rep["plan_fingerprint"] for rep in r["reports"]}) == 1
    bad = server.cli("sweep", "logistic", "--param", "depth=1,2", "--start", START, "--end", END)
    assert bad.returncode == 2 and "unknown logistic params" in bad.stderr
