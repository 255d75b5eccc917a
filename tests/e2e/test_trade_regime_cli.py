"""End to end through `ghtrader serve` and the CLI: a regime model fitted on a small synthetic
main_l5 window gates a sim run. Every regime scaled to 0: no target, no order, and the regime
changes are journaled; every regime scaled to 1: the orders of the same run without a gate."""

from __future__ import annotations

import json

import pytest

from tests.e2e.test_record_train_cli import Server, server  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CONTRACT, START, TRAIN_END, END = "SHFE.cu2611", "2026-10-12", "2026-10-13", "2026-10-14"  # trade the last day
ALIAS = "KQ.m@SHFE.cu"
REPLAY = "2026-10-14T09:30"


def _ok(done: object, what: str) -> dict:
    assert done.returncode == 0, f"{what}: {done.stdout[-3000:]}{done.stderr[-3000:]}"  # type: ignore[attr-defined]
    return json.loads(done.stdout) if done.stdout.startswith("{") else {}  # type: ignore[attr-defined]


def _sim(server: Server, model: str, *regime: str) -> tuple[dict, list[dict]]:  # noqa: F811
    status = _ok(
        server.cli("--json", "trade", "--mode", "sim", "--model", model, "--symbol", ALIAS, "--max-ticks", "800",
                   "--replay-from", REPLAY, "--speedup", "20000", "--commission-bp", "0", "--no-online-calibration",
                   "--passive", "--order-kind", "limit",
                   *regime, timeout=300),
        f"trade --mode sim {' '.join(regime)}",
    )  # fmt: skip
    d = server.tmp / "runs" / "trading" / status["run_id"]
    return status, [json.loads(x) for x in (d / "events.jsonl").read_text().splitlines()]


def _orders(events: list[dict]) -> list[tuple]:
    return [(e["time_ns"], e["order"]["side"], e["order"]["qty"]) for e in events if e["kind"] == "order_new"]


def test_a_regime_gated_sim_run(server: Server) -> None:  # noqa: F811
    from ghtrader.domain.factors import CORE_L5_FACTORS

    factors = ",".join(CORE_L5_FACTORS)
    for step in (
        ("download", CONTRACT, "--start", START, "--end", END),
        ("main-schedule", "--var", "SHFE.cu", "--start", START, "--end", END),
        ("main-l5", "--var", "SHFE.cu", "--start", START, "--end", END),
        ("build", ALIAS, "--start", START, "--end", END, "--horizons", "10", "--factors", factors),
        ("train", "logistic", "--start", START, "--end", TRAIN_END, "--seed", "1"),
    ):
        _ok(server.cli(*step, timeout=300), step[0])
    model = "logistic-KQ.m@SHFE.cu-h10"
    fit = _ok(
        server.cli("--json", "regime", "fit", "--symbol", ALIAS, "--start", START, "--end", TRAIN_END,
                   "--states", "3", "--seeds", "0", "--n-iter", "20", timeout=300),
        "regime fit",
    )["result"]  # fmt: skip
    regime_model = fit["model_id"]

    plain, plain_events = _sim(server, model)
    assert plain["status"] == "finished" and _orders(plain_events), "the ungated run sent no order"

    zero, zero_events = _sim(server, model, "--regime-model", regime_model,
                             "--regime-scale", "hmm_0=0,hmm_1=0,hmm_2=0")  # fmt: skip
    assert zero["status"] == "finished" and zero["ticks"] == plain["ticks"]
    kinds = [e["kind"] for e in zero_events]
    assert "order_new" not in kinds and "target_change" not in kinds
    changes = [e for e in zero_events if e["kind"] == "regime_change"]
    assert changes and changes[0]["from"] == "" and all(len(c["probabilities"]) == 3 for c in changes)
    assert zero["regime"]["model_id"] == regime_model and zero["regime"]["regime"] == changes[-1]["to"]
    assert zero["config"]["regime"]["scales"] == {"hmm_0": 0.0, "hmm_1": 0.0, "hmm_2": 0.0}

    one, one_events = _sim(server, model, "--regime-model", regime_model, "--regime-scale", "hmm_0=1,hmm_1=1,hmm_2=1")
    assert _orders(one_events) == _orders(plain_events)
    assert [e for e in one_events if e["kind"] == "regime_change"] == changes  # the same ticks, the same regimes

    human = server.cli("trading", "status", zero["run_id"])
    assert human.returncode == 0 and f"of {regime_model}: scale 0.0" in human.stdout

    bad = server.cli("trade", "--mode", "sim", "--model", model, "--regime-model", regime_model,
                     "--regime-scale", "volatile=0", "--replay-from", REPLAY)  # fmt: skip
    assert bad.returncode != 0 and "unknown regime(s) volatile" in bad.stdout + bad.stderr
