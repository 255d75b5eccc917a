"""A windowed (TCN) model served one tick at a time against the backtest's batch windows."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ghtrader.application.errors import FailedPrecondition
from ghtrader.application.ports.models import TrainedModel
from ghtrader.application.research.backtest import BacktestRequest
from ghtrader.application.research.policy_fit import online_features, stored_probabilities
from ghtrader.application.research.serving import Predictor
from ghtrader.application.trading.decision import DecisionPipeline, fit_decision_policy
from ghtrader.application.trading.online_window import OnlineWindow, windowed_model
from ghtrader.domain.evaluation import CostModel
from ghtrader.domain.instruments import contract_spec

from .world import DAY1, DAY2, DAY3, MAIN, TradingWorld, build_world

FLAT_S = 120.0  # as test_decision_parity: the backtest's 10 flat rows lie inside the causal window
WINDOW = 8
MODEL = "tr-tcn"


@pytest.fixture(scope="module")
def deep(tmp_path_factory: pytest.TempPathFactory) -> TradingWorld:
    return build_world(Path(tmp_path_factory.mktemp("windowed")), tcn_window=WINDOW)


def _open(world: TradingWorld) -> tuple[Predictor, OnlineWindow, TrainedModel]:
    entry = world.backtest.entry(MODEL, None)
    directory = Path(entry.artifact_path)
    predictor = Predictor.open(world.backtest._artifacts, world.backtest._runtime, directory, prefer_gpu=False)
    model = windowed_model(world.backtest._families, world.backtest._artifacts, predictor.meta, directory)
    assert model is not None and predictor.window == WINDOW
    return predictor, OnlineWindow(model), model


def _batch_probs(world: TradingWorld, predictor: Predictor, model: TrainedModel, days: tuple[date, ...]) -> np.ndarray:
    """The backtest's path: online features over the stored ticks, predict_frame with the inputs."""
    spec = contract_spec(MAIN)
    stored = world.tick_store.read_ticks(MAIN, "main_l5", days[0], days[-1])
    tday = np.asarray(stored.trading_day, dtype="datetime64[D]")
    seg = np.asarray(stored.segment_id, dtype=np.int64)
    feats = online_features(stored.ticks, tday, seg, predictor.feature_names, spec.price_tick, spec.multiplier)
    return stored_probabilities(predictor, model.inputs, feats, stored.ticks, tday, seg, MAIN, spec.price_tick)


def test_per_tick_tcn_probabilities_and_targets_equal_the_backtest(deep: TradingWorld) -> None:
    costs = CostModel(commission_bp=0.1)
    request = BacktestRequest(model_id=MODEL, start_day=DAY3, end_day=DAY3, costs=costs, flat_s=FLAT_S,
                              write_report=False)  # fmt: skip
    report = deep.backtest(request)
    assert report.targets is not None and report.fit_days == [DAY2]

    predictor, window, model = _open(deep)
    spec = contract_spec(MAIN)
    cal = deep.backtest._calendar.load()
    fitted = fit_decision_policy(predictor, deep.tick_store, cal, MAIN, spec, DAY3, 1, costs, model.inputs)
    assert fitted.policy.threshold == report.policy["threshold"] and fitted.policy.trades

    batch = _batch_probs(deep, predictor, model, (DAY2, DAY3))
    stored = deep.tick_store.read_ticks(MAIN, "main_l5", DAY2, DAY3)
    tday = np.asarray(stored.trading_day, dtype="datetime64[D]")
    warm, day = stored.ticks[tday == np.datetime64(DAY2)], stored.ticks[tday == np.datetime64(DAY3)]
    pipeline = DecisionPipeline(predictor, fitted.policy, spec, cal, flat_s=FLAT_S, window=window)
    for i in range(warm.shape[0]):  # the backtest's engine and windows saw the policy-fit day first
        pipeline.features(warm[i], DAY2)
    decisions = [pipeline.on_tick(day[i], DAY3) for i in range(day.shape[0])]
    probs = np.array([d.probs for d in decisions])
    expected = batch[tday == np.datetime64(DAY3)]
    assert np.isfinite(expected).all()  # DAY2 and DAY3 are one segment: every DAY3 row has a full window
    np.testing.assert_allclose(probs, expected, rtol=0, atol=1e-5)
    targets = np.array([d.target for d in decisions])
    np.testing.assert_array_equal(targets, report.targets)
    assert (np.diff(np.r_[0, targets]) != 0).sum() == report.target_changes > 10


def test_the_window_fills_after_a_reset_as_a_segment_starts(deep: TradingWorld) -> None:
    predictor, window, model = _open(deep)
    spec = contract_spec(MAIN)
    cal = deep.backtest._calendar.load()
    policy = fit_decision_policy(predictor, deep.tick_store, cal, MAIN, spec, DAY3, 1, CostModel(0.1),
                                 model.inputs).policy  # fmt: skip
    day = deep.tick_store.read_ticks(MAIN, "main_l5", DAY3, DAY3).ticks
    pipeline = DecisionPipeline(predictor, policy, spec, cal, flat_s=0.0, window=window)
    for i in range(50):
        pipeline.on_tick(day[i], DAY3)
    pipeline.reset()  # a roll: the day's windows start again, as a new segment's in the backtest
    probs = np.array([pipeline.on_tick(day[i], DAY3).probs for i in range(day.shape[0])])
    batch = _batch_probs(deep, predictor, model, (DAY3,))  # one day read alone: its windows start with it
    assert np.isnan(batch[: WINDOW - 1]).all() and np.isfinite(batch[WINDOW - 1 :]).all()
    np.testing.assert_allclose(probs, batch, rtol=0, atol=1e-5)


def test_a_windowed_model_needs_its_window_and_the_families(deep: TradingWorld) -> None:
    predictor, _, _ = _open(deep)
    spec = contract_spec(MAIN)
    cal = deep.backtest._calendar.load()
    policy = fit_decision_policy(*_fit_args(deep, predictor)).policy
    with pytest.raises(FailedPrecondition, match="online window"):
        DecisionPipeline(predictor, policy, spec, cal)
    entry = deep.backtest.entry(MODEL, None)
    with pytest.raises(FailedPrecondition, match="no model families"):
        windowed_model(None, deep.backtest._artifacts, predictor.meta, Path(entry.artifact_path))
    raw = Predictor.open(deep.backtest._artifacts, deep.backtest._runtime,
                         Path(deep.backtest.entry("tr-logistic", None).artifact_path), prefer_gpu=False)  # fmt: skip
    assert windowed_model(None, deep.backtest._artifacts, raw.meta, Path(".")) is None


def _fit_args(world: TradingWorld, predictor: Predictor) -> tuple[Any, ...]:
    _, _, model = _open(world)
    spec = contract_spec(MAIN)
    cal = world.backtest._calendar.load()
    return (predictor, world.tick_store, cal, MAIN, spec, DAY3, 1, CostModel(0.1), model.inputs)


def test_a_paper_run_serves_the_tcn_through_the_families(deep: TradingWorld) -> None:
    run = deep.start()(deep.request(model_id=MODEL, max_ticks=300, policy_fit_days=1))
    report = deep.backtest(BacktestRequest(model_id=MODEL, start_day=DAY1, end_day=DAY1, costs=CostModel(0.1),
                                           policy_fit_days=1, write_report=False))  # fmt: skip
    assert run.policy["threshold"] == report.policy["threshold"]
    status = run.run()
    assert status["status"] == "finished" and status["ticks"] == 300
    events = deep.store.tail_events(run.run_id, 100_000)
    assert [e["kind"] for e in events].count("roll") == 1  # the window restarted on the new contract
    with pytest.raises(FailedPrecondition, match="no model families"):
        deep.start(families=None)(deep.request(model_id=MODEL, max_ticks=10))
