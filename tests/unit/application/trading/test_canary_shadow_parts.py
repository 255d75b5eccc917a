"""The shadow runner and the canary router on scripted decisions (no model, no feed)."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import numpy as np
import pytest

from ghtrader.application.trading.canary import CANDIDATE, PRODUCTION, CanaryRouter
from ghtrader.application.trading.decision import Decision
from ghtrader.application.trading.shadow import ShadowRunner

DAY = date(2026, 11, 23)
DTYPE = np.dtype([("datetime_ns", "i8"), ("bid_price1", "f8"), ("ask_price1", "f8")])


class Scripted:
    """A DecisionPipeline stand-in whose ``on_tick`` gives the next scripted target."""

    calibration = None

    def __init__(self, targets: list[int]) -> None:
        self.targets = targets
        self.i = 0
        self.warmed = 0
        self.resets = 0

    def features(self, tick: np.void, day: date) -> None:
        self.warmed += 1

    def on_tick(self, tick: np.void, day: date) -> Decision:
        t = self.targets[self.i]
        self.i += 1
        return Decision(t, t, False, np.array([0.2, 0.5, 0.3]))

    def learn(self) -> tuple:  # type: ignore[type-arg]
        return ()

    def reset(self) -> None:
        self.resets += 1


def _ticks(mids: list[float]) -> np.ndarray:
    t = np.zeros(len(mids), DTYPE)
    t["datetime_ns"] = np.arange(len(mids)) * 10**9 + 1
    t["bid_price1"] = np.asarray(mids) - 5.0
    t["ask_price1"] = np.asarray(mids) + 5.0
    return t


def _decision(target: int) -> Decision:
    return Decision(target, target, False, np.array([0.1, 0.8, 0.1]))


def test_shadow_counts_agreement_and_logs_each_disagreement_once() -> None:
    prod = [0, 1, 1, 1, 0, 0, -1, -1, 0, 0]
    shad = [0, 1, 0, 0, 0, 1, 1, -1, 0, -1]
    runner = ShadowRunner(Scripted(shad), 5.0, model={"model_id": "s", "version": "2", "status": "shadow"})  # type: ignore[arg-type]
    ticks = _ticks([100.0 + 10 * i for i in range(len(prod))])
    events = []
    for i, p in enumerate(prod):
        events += runner.on_tick(ticks[i], DAY, "SHFE.cu2612", p, _decision(p))
    agreed = sum(a == b for a, b in zip(prod, shad, strict=True))
    assert runner.agreed == agreed == 5 and runner.ticks == 10 and runner.agreement == pytest.approx(0.5)
    # disagreements start at ticks 2, 5, 6 and 9; tick 3 repeats tick 2's pair: one event per change
    assert [(e[1]["production_target"], e[1]["shadow_target"]) for e in events] == [(1, 0), (0, 1), (-1, 1), (0, -1)]
    assert all(kind == "shadow_decision" for kind, _ in events) and runner.disagreements == 4
    state = runner.state()
    assert state["agreement"] == 0.5 and state["model"]["version"] == "2"
    # production long 1..3 at mid 110 -> 140 (+30 * 5), short 6..7 at 160 -> 180 (-20 * 5)
    assert state["virtual_pnl"]["production"]["pnl"] == pytest.approx(30 * 5 - 20 * 5)
    # shadow long at tick 1 (110) out at 2 (120): +50; long 5..6 (150 -> 170): +100; short 7 at 170, flat at 8 (180): -50; short at 9
    assert state["virtual_pnl"]["shadow"]["pnl"] == pytest.approx(50 + 100 - 50)


def test_shadow_roll_closes_both_books_and_resets_its_pipeline() -> None:
    pipe = Scripted([1, 1])
    runner = ShadowRunner(pipe, 5.0, model={})  # type: ignore[arg-type]
    ticks = _ticks([100.0, 120.0])
    runner.on_tick(ticks[0], DAY, "A", 1, _decision(1))
    runner.on_roll(130.0)
    assert pipe.resets == 1 and runner.production.net == 0 and runner.shadow.net == 0
    assert runner.production.pnl == pytest.approx(150.0) and runner.shadow.pnl == pytest.approx(150.0)


def _route(router: CanaryRouter, prod: list[int], cand_targets: list[int], mids: list[float]) -> list[int]:
    ticks = _ticks(mids)
    executed, events = [], []
    for i, p in enumerate(prod):
        d = router.route(_decision(p), ticks[i], DAY)
        executed.append(d.target)
        events += router.after_orders(ticks[i], "A", int(ticks[i]["datetime_ns"]))
    router.events = events  # type: ignore[attr-defined]
    return executed


def _router(cand: list[int], share: float = 0.1, seed: int = 0, **kw: Any) -> CanaryRouter:
    opts: dict[str, Any] = {"fallback_blocks": 0, "fallback_margin": 0.0} | kw
    return CanaryRouter(Scripted(cand), 5.0, share=share, seed=seed, model={"model_id": "c"}, **opts)  # type: ignore[arg-type]


def test_canary_routes_whole_blocks_a_seeded_share_of_them() -> None:
    n_blocks, share = 4000, 0.1
    prod = [1, 1, 0] * n_blocks  # a block: two long ticks, then flat
    cand = [-1, -1, 0] * n_blocks
    mids = [100.0] * len(prod)
    router = _router(cand, share, seed=11)
    executed = _route(router, prod, cand, mids)
    blocks = router.blocks
    assert blocks[PRODUCTION] + blocks[CANDIDATE] == n_blocks
    sigma = math.sqrt(share * (1 - share) / n_blocks)
    assert abs(blocks[CANDIDATE] / n_blocks - share) < 4 * sigma
    # a block is executed whole by one arm: its two ticks agree, and the flat tick ends it
    pairs = [tuple(executed[3 * i : 3 * i + 3]) for i in range(n_blocks)]
    assert set(pairs) == {(1, 1, 0), (-1, -1, 0)}
    assert sum(p == (-1, -1, 0) for p in pairs) == blocks[CANDIDATE]
    # deterministic given the seed; another seed routes other blocks
    again = _route(_router(cand, share, seed=11), prod, cand, mids)
    other = _route(_router(cand, share, seed=12), prod, cand, mids)
    assert again == executed and other != executed
    state = router.state(0)
    assert state["realized_share"] == pytest.approx(blocks[CANDIDATE] / n_blocks) and state["fallen_back"] is False


def test_canary_falls_back_when_the_candidate_loses_and_production_takes_over() -> None:
    n = 40
    prod = [1, 1, 0] * n  # production long on a rising price
    cand = [-1, -1, 0] * n  # the candidate short on it: it loses 2 ticks a block
    mids = [p for i in range(n) for p in (100.0 + 30 * i, 110.0 + 30 * i, 120.0 + 30 * i)]
    router = _router(cand, 0.5, seed=3, fallback_blocks=10, fallback_margin=5.0)
    executed = _route(router, prod, cand, mids)
    falls = [f for k, f in router.events if k == "canary_fallback"]  # type: ignore[attr-defined]
    assert len(falls) == 1 and "trailed production by" in falls[0]["reason"]
    assert router.fallen_back and router.fallback["blocks"] == 10  # type: ignore[index]
    # per block: production +1 tick * 2 ticks ... the paired difference is (-100) - (+100) CNY
    assert router.fallback["mean_diff"] == pytest.approx(-200.0)  # type: ignore[index]
    # production decides every tick after the fallback, and the candidate is no longer asked
    after = executed[30:]
    assert after == prod[30:] and router.pipeline.i == 30  # type: ignore[attr-defined]
    assert router.state(0)["fallen_back"] is True


def test_canary_keeps_a_candidate_that_does_as_well() -> None:
    n = 40
    prod = [1, 1, 0] * n
    mids = [p for i in range(n) for p in (100.0 + 30 * i, 110.0 + 30 * i, 120.0 + 30 * i)]
    router = _router(list(prod), 0.5, seed=3, fallback_blocks=10, fallback_margin=0.0)
    _route(router, prod, prod, mids)
    assert not router.fallen_back and router.state(0)["window"] == {"n": 10, "mean_diff": 0.0}
