"""A registered regime-conditional ensemble served per tick by the decision pipeline against the
backtest's batch path over the same ticks: the same regime probabilities, the same served
probabilities and the same targets; and a regime in which member A is right gives A the larger
weight in the served probabilities."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from ghtrader.adapters.hmm import HmmlearnRegimeFitter
from ghtrader.adapters.onnx import OnnxCalibrationGraphWriter, OnnxEnsembleGraphWriter
from ghtrader.application.ports.models import FeatureFrame, TrainConfig
from ghtrader.application.ports.regimes import HmmFitConfig
from ghtrader.application.regimes.data import run_codes, select_features
from ghtrader.application.regimes.models import RegimeModel
from ghtrader.application.research.backtest import BacktestRequest
from ghtrader.application.research.calibration import CalibratedFamily
from ghtrader.application.research.ensemble_registered import RegisteredEnsembleFamily, RegisteredMembers
from ghtrader.application.research.policy_fit import online_features, stored_probabilities
from ghtrader.application.research.regime_mix import FRAME_REGIME_FEATURES, RegimeMix
from ghtrader.application.research.serving import Predictor
from ghtrader.application.trading.decision import DecisionPipeline, fit_decision_policy
from ghtrader.domain.ensembles import fit_regime_weights
from ghtrader.domain.evaluation import CostModel
from ghtrader.domain.evaluation.probability_calibration import identity_calibrator
from ghtrader.domain.instruments import contract_spec
from ghtrader.domain.regimes import ObservationConfig, build_observations
from ghtrader.domain.ticks import TICK_DTYPE

from .world import DAY1, DAY2, DAY3, FIT_DAY, MAIN, TradingWorld

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

FLAT_S = 120.0
MODEL = "tr-regime"


@dataclass
class _Regimes:
    stored: dict

    def load_model(self, model_id: str) -> dict:
        return self.stored[model_id]


def _regime_model(world: TradingWorld) -> RegimeModel:
    """A 2-state HMM on the mid / spread observations of the first two days' main_l5 ticks."""
    stored = world.tick_store.read_ticks(MAIN, "main_l5", FIT_DAY, DAY1)
    t = np.zeros(stored.ticks.shape[0], dtype=TICK_DTYPE)
    t["bid_price1"], t["ask_price1"] = stored.ticks["bid_price1"], stored.ticks["ask_price1"]
    for name in ("volume", "bid_volume1", "ask_volume1"):
        t[name] = np.nan
    observation = ObservationConfig(window=50, min_periods=20)
    codes = run_codes(np.asarray(stored.trading_day, dtype="datetime64[D]"), stored.segment_id)
    obs = build_observations(t, codes, observation)[:, select_features(FRAME_REGIME_FEATURES)]
    obs = obs[np.isfinite(obs).all(axis=1)]
    fit = HmmlearnRegimeFitter().fit_hmm(obs, HmmFitConfig(n_states=2, seeds=(), n_iter=20), FRAME_REGIME_FEATURES)
    return RegimeModel("hmm2", MAIN, str(FIT_DAY), str(DAY1), observation, FRAME_REGIME_FEATURES, fit.params, {}, 0)


@pytest.fixture(scope="module")
def regime_ensemble(world: TradingWorld) -> RegimeModel:
    assert world.train is not None and world.families is not None
    lgb = {"num_boost_round": 30, "learning_rate": 0.2, "num_threads": 1}
    log = world.train(family="logistic", model_id="tr-rlog").entry
    gbm = world.train(family="lightgbm", model_id="tr-rlgb", config=TrainConfig(horizon=10, params=lgb)).entry
    regime = _regime_model(world)
    bt = world.backtest
    members = RegisteredMembers(
        lambda: world.registry, lambda: bt._artifacts, lambda: bt._runtime,
        lambda: _Regimes({"hmm2": regime.to_payload()}),  # type: ignore[arg-type,return-value]
    )  # fmt: skip
    specs = [f"{log.model_id}@{log.version}", f"{gbm.model_id}@{gbm.version}"]
    params = {"members": specs, "strategy": "regime", "regime_model": "hmm2"}
    family = RegisteredEnsembleFamily(members, OnnxEnsembleGraphWriter(), params, name="ensemble-rg")
    world.families.register(CalibratedFamily(family, OnnxCalibrationGraphWriter()))
    # the world's frame source serves every day whatever the request's days: the members' metas
    # record the request's (earlier) end day, so the leakage guard lets the combiner fit here
    world.train(family="ensemble-rg", model_id=MODEL)
    return regime


def test_pipeline_serves_what_the_backtest_computes(world: TradingWorld, regime_ensemble: RegimeModel) -> None:
    costs = CostModel(commission_bp=0.1)
    report = world.backtest(BacktestRequest(model_id=MODEL, start_day=DAY3, end_day=DAY3, costs=costs,
                                            flat_s=FLAT_S, write_report=False))  # fmt: skip
    assert report.targets is not None and report.fit_days == [DAY2]
    entry = world.backtest.entry(MODEL, None)
    predictor = Predictor.open(world.backtest._artifacts, world.backtest._runtime, Path(entry.artifact_path),
                               prefer_gpu=False)  # fmt: skip
    assert predictor.regime is not None and predictor.regime.weights.shape == (2, 2)
    assert not predictor.regime.calibrator.is_identity  # the calibrator of the regime-mixed vote is served
    spec = contract_spec(MAIN)
    cal = world.backtest._calendar.load()
    fitted = fit_decision_policy(predictor, world.tick_store, cal, MAIN, spec, DAY3, 1, costs)
    assert fitted.policy.threshold == report.policy["threshold"]

    # the backtest's batch path over the same ticks (policy-fit day first)
    stored = world.tick_store.read_ticks(MAIN, "main_l5", DAY2, DAY3)
    t = stored.ticks
    tday = np.asarray(stored.trading_day, dtype="datetime64[D]")
    seg = np.asarray(stored.segment_id, dtype=np.int64)
    feats = online_features(t, tday, seg, predictor.feature_names, spec.price_tick, spec.multiplier)
    batch = stored_probabilities(predictor, None, feats, t, tday, seg, MAIN, spec.price_tick)
    bid, ask = t["bid_price1"].astype(np.float64), t["ask_price1"].astype(np.float64)
    frame = FeatureFrame(features=feats, feature_names=predictor.feature_names, labels=np.full(t.shape[0], np.nan),
                         segment_id=seg, datetime_ns=t["datetime_ns"], trading_day=tday, mid=(bid + ask) / 2.0,
                         spread=ask - bid, symbol=MAIN, horizon=10, price_tick=spec.price_tick)  # fmt: skip
    batch_pi = predictor.regime.batch_probabilities(frame)

    pipeline = DecisionPipeline(predictor, fitted.policy, spec, cal, flat_s=FLAT_S)
    warm = tday == np.datetime64(DAY2)
    for i in np.flatnonzero(warm):
        pipeline.features(t[i], DAY2)
    probs, pis, targets = [], [], []
    for i in np.flatnonzero(~warm):
        d = pipeline.on_tick(t[i], DAY3)
        probs.append(d.probs)
        pis.append(np.array(pipeline.regime_probabilities))
        targets.append(d.target)
    day = ~warm
    np.testing.assert_allclose(np.array(pis), batch_pi[day], rtol=0, atol=1e-9)
    np.testing.assert_allclose(np.array(probs), batch[day], rtol=0, atol=1e-9)
    assert np.isfinite(batch[day]).all()
    # the regimes move during the day: the mix is not one fixed weight vector
    assert batch_pi[day][:, 0].max() - batch_pi[day][:, 0].min() > 0.5
    np.testing.assert_array_equal(np.array(targets), report.targets)
    assert report.target_changes > 0


def test_a_regime_where_a_member_is_right_gives_it_the_larger_served_weight(
    regime_ensemble: RegimeModel,
) -> None:
    rng = np.random.default_rng(0)
    n = 4000
    labels = rng.integers(0, 3, n).astype(np.float64)
    right = np.full((n, 3), 0.1)
    right[np.arange(n), labels.astype(int)] = 0.8
    wrong = np.roll(right, 1, axis=1)
    regime = (np.arange(n) >= n // 2).astype(int)  # first half regime 0, second half regime 1
    pi = np.eye(2)[regime]
    # member A is right in regime 0 and wrong in regime 1; member B the other way round
    a = np.where(regime[:, None] == 0, right, wrong)
    b = np.where(regime[:, None] == 1, right, wrong)
    w = fit_regime_weights(np.stack([a, b], axis=1), labels, pi, prior_rows=10.0)
    mix = RegimeMix(regime_ensemble, w, identity_calibrator("test"))
    pa, pb = np.array([[0.7, 0.2, 0.1]]), np.array([[0.1, 0.2, 0.7]])
    members = np.stack([pa, pb], axis=1)
    in_0 = mix.combine(members, np.array([[0.95, 0.05]]))[0]
    in_1 = mix.combine(members, np.array([[0.05, 0.95]]))[0]
    assert w[0, 0] > 0.8 and w[1, 1] > 0.8  # softmax of the log-loss gap log(0.8 / 0.1)
    assert in_0[0] > in_0[2] and in_1[2] > in_1[0]  # A's view wins in regime 0, B's in regime 1
    np.testing.assert_allclose(in_0.sum(), 1.0)


def test_a_paper_run_serves_the_regime_ensemble(world: TradingWorld, regime_ensemble: RegimeModel) -> None:
    run = world.start()(world.request(model_id=MODEL, max_ticks=400))
    assert run.run()["status"] == "finished"
    changes = [e for e in world.store.tail_events(run.run_id, 100_000) if e["kind"] == "target_change"]
    assert changes, "the regime ensemble never changed its target in 400 ticks"
    for e in changes:
        p = np.array([e["member_probs"][name] for name in sorted(e["member_probs"])])
        assert p.shape == (2, 3) and np.isclose(sum(e["probs"]), 1.0, atol=1e-6)
        assert 0.0 <= e["disagreement"] <= 1.0
