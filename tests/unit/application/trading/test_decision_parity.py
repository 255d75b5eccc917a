"""The per-tick decision pipeline against the backtest's batch targets over a recorded day."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from ghtrader.application.research.backtest import BacktestRequest
from ghtrader.application.research.backtest_plan import flat_before_close, flat_mask
from ghtrader.application.research.policy_fit import day_close_ns
from ghtrader.application.research.serving import Predictor
from ghtrader.application.trading.decision import DecisionPipeline, fit_decision_policy
from ghtrader.domain.evaluation import CostModel
from ghtrader.domain.instruments import contract_spec

from .world import DAY2, DAY3, MAIN, TradingWorld

FLAT_S = 120.0  # the world's ticks are 5 s apart: the backtest's 10 flat rows span ~50 s


def test_per_tick_targets_equal_the_backtest_targets(world: TradingWorld) -> None:
    costs = CostModel(commission_bp=0.1)
    request = BacktestRequest(model_id=world.model_id, start_day=DAY3, end_day=DAY3, costs=costs,
                              flat_s=FLAT_S, write_report=False)  # fmt: skip
    report = world.backtest(request)
    assert report.targets is not None and report.fit_days == [DAY2]

    entry = world.backtest.entry(world.model_id, None)
    predictor = Predictor.open(world.backtest._artifacts, world.backtest._runtime, Path(entry.artifact_path),
                               prefer_gpu=False)  # fmt: skip
    spec = contract_spec(MAIN)
    cal = world.backtest._calendar.load()
    fitted = fit_decision_policy(predictor, world.tick_store, cal, MAIN, spec, DAY3, 1, costs)
    assert fitted.policy.threshold == report.policy["threshold"] and fitted.policy.trades

    stored = world.tick_store.read_ticks(MAIN, "main_l5", DAY2, DAY3)
    tday = np.asarray(stored.trading_day, dtype="datetime64[D]")
    warm, day = stored.ticks[tday == np.datetime64(DAY2)], stored.ticks[tday == np.datetime64(DAY3)]
    # the precondition of equality: the backtest's row-based flat rows lie inside the causal window
    rows_flat = flat_mask(tday[tday == np.datetime64(DAY3)], np.zeros(day.shape[0], np.int64), request.flat_rows)
    time_flat = flat_before_close(
        day["datetime_ns"], day_close_ns(cal, spec, tday[tday == np.datetime64(DAY3)]), FLAT_S
    )
    assert not (rows_flat & ~time_flat).any()

    pipeline = DecisionPipeline(predictor, fitted.policy, spec, cal, flat_s=FLAT_S)
    for i in range(warm.shape[0]):  # the backtest's engine saw the policy-fit day first
        pipeline.features(warm[i], DAY2)
    decisions = [pipeline.on_tick(day[i], DAY3) for i in range(day.shape[0])]
    targets = np.array([d.target for d in decisions])
    assert targets.shape == report.targets.shape
    np.testing.assert_array_equal(targets, report.targets)
    assert (np.diff(np.r_[0, targets]) != 0).sum() == report.target_changes > 10
    assert all(d.target == 0 for d in decisions if d.flat)


def test_a_reset_forgets_the_held_signal(world: TradingWorld) -> None:
    entry = world.backtest.entry(world.model_id, None)
    predictor = Predictor.open(world.backtest._artifacts, world.backtest._runtime, Path(entry.artifact_path),
                               prefer_gpu=False)  # fmt: skip
    spec = contract_spec(MAIN)
    cal = world.backtest._calendar.load()
    policy = fit_decision_policy(predictor, world.tick_store, cal, MAIN, spec, DAY3, 1, CostModel(0.1)).policy
    pipeline = DecisionPipeline(predictor, replace(policy), spec, cal, hold_rows=10**6, flat_s=0.0)
    day = world.tick_store.read_ticks(MAIN, "main_l5", DAY3, DAY3).ticks
    held = next(d for d in (pipeline.on_tick(day[i], DAY3) for i in range(day.shape[0])) if d.target != 0)
    assert held.target != 0
    pipeline.reset()
    after = pipeline.on_tick(day[-1], DAY3)
    assert after.target == after.signal  # nothing held from before the reset
