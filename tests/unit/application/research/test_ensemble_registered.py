"""Ensembles over registered model versions: calibrated logistic and LightGBM are trained and
registered on the first days, an ensemble of those versions is created (versions pinned, members
checked to be compatible) and trained on LATER days: only its combiner is fitted, it registers
like any model with one ONNX graph, and a window overlapping a member's training is refused."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest

from ghtrader.adapters.lightgbm import LightGBMFamily
from ghtrader.adapters.linear import LogisticFamily
from ghtrader.adapters.memory.ensemble_configs import InMemoryEnsembleConfigStore
from ghtrader.adapters.onnx import OnnxCalibrationGraphWriter, OnnxEnsembleGraphWriter
from ghtrader.application.errors import InvalidArgument
from ghtrader.application.ports.models import FeatureFrame, TrainConfig
from ghtrader.application.research.artifacts import load_model
from ghtrader.application.research.calibration import CalibratedFamily
from ghtrader.application.research.ensemble import EnsembleModel
from ghtrader.application.research.ensemble_configs import EnsembleConfigs, StoredEnsembles
from ghtrader.application.research.ensemble_registered import RegisteredMember, RegisteredMembers, parse_member_spec
from ghtrader.application.research.families import FamilyRegistry
from tests.fakes.system import FakeClock
from tests.unit.application.research.train_world import PROVENANCE, TrainWorld, request, train_world

DAYS = 6
ROWS_PER_DAY = 2500
FIRST = date(2026, 11, 2)


def _frame(seed: int = 3) -> FeatureFrame:
    """Six days; labels from a noisy score of x0 (linear) and x1 * x2 (an interaction only trees see)."""
    n = DAYS * ROWS_PER_DAY
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4)).astype(np.float32)
    score = x[:, 0] + 1.2 * np.sign(x[:, 1] * x[:, 2]) + rng.standard_normal(n)
    labels = np.where(score < -1.2, 0.0, np.where(score > 1.2, 2.0, 1.0))
    day = np.arange(n) // ROWS_PER_DAY
    return FeatureFrame(
        features=x,
        feature_names=("x0", "x1", "x2", "x3"),
        labels=labels,
        segment_id=day.astype(np.int64),
        datetime_ns=1_793_000_000_000_000_000 + np.arange(n, dtype=np.int64) * 500_000_000,
        trading_day=np.array([np.datetime64(FIRST + timedelta(days=int(d)), "D") for d in day]),
        mid=80_000.0 + np.cumsum(rng.standard_normal(n)),
        spread=np.full(n, 10.0),
        symbol="SHFE.cu2612",
        horizon=10,
        price_tick=10.0,
    )


def _days(frame: FeatureFrame, first: int, last: int) -> FeatureFrame:
    return frame.take(np.arange(first * ROWS_PER_DAY, (last + 1) * ROWS_PER_DAY))


class _Regimes:
    """The regime model store's ``load_model`` over a dict."""

    def __init__(self, stored: dict) -> None:
        self._stored = stored

    def load_model(self, model_id: str) -> dict:
        return self._stored[model_id]


class _World:
    def __init__(self, tmp_path: Path) -> None:
        graph = OnnxCalibrationGraphWriter()
        self.families = FamilyRegistry(CalibratedFamily(f, graph) for f in (LogisticFamily(), LightGBMFamily()))
        self.frame = _frame()
        self.world: TrainWorld = train_world(tmp_path, self.frame, families=self.families)
        w = self.world
        self.regimes: dict[str, dict] = {}  # stored regime models by id
        self.members = RegisteredMembers(
            lambda: w.registry,
            lambda: w.store,
            lambda: w.runtime,
            lambda: _Regimes(self.regimes),  # type: ignore[arg-type,return-value]
        )
        store = InMemoryEnsembleConfigStore()
        self.configs = EnsembleConfigs(store, self.families, OnnxEnsembleGraphWriter(), FakeClock(), self.members)
        self.families.resolve = StoredEnsembles(
            lambda: store, self.families, OnnxEnsembleGraphWriter(), graph, self.members
        )

    def train(self, family: str, first: int, last: int, **kwargs: object):  # type: ignore[no-untyped-def]
        part = _days(self.frame, first, last)
        req = request(
            part,
            family=family,
            start_day=FIRST + timedelta(days=first),
            end_day=FIRST + timedelta(days=last),
            **kwargs,
        )
        return self.world.trainer.train_frame(req, part, PROVENANCE)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> _World:
    w = _World(tmp_path_factory.mktemp("registered"))
    w.train("logistic", 0, 2)
    w.train("lightgbm", 0, 2)
    return w


def test_member_specs_parse_model_ids_that_hold_at_signs() -> None:
    assert parse_member_spec("lightgbm-KQ.m@SHFE.cu-h10@3") == ("lightgbm-KQ.m@SHFE.cu-h10", "3")
    assert parse_member_spec("lightgbm-KQ.m@SHFE.cu-h10") == ("lightgbm-KQ.m@SHFE.cu-h10", None)
    with pytest.raises(InvalidArgument):
        parse_member_spec(" ")


@pytest.mark.parametrize("strategy", ["blending", "equal", "dynamic"])
def test_registered_ensemble_fits_only_its_combiner_after_the_members(world: _World, strategy: str) -> None:
    params = {"dynamic_metric": "sharpe", "half_life_rows": 300} if strategy == "dynamic" else {}
    config = world.configs.create(
        f"reg-{strategy}",
        [],
        strategy,
        registered=["logistic-SHFE.cu2612-h10", "lightgbm-SHFE.cu2612-h10@1"],
        params=params,
    )
    assert config.member_models == ("logistic-SHFE.cu2612-h10@1", "lightgbm-SHFE.cu2612-h10@1")  # pinned
    assert config.params["registered"] is True

    result = world.train(f"ensemble-reg-{strategy}", 3, 5)
    assert result.entry.model_type == f"ensemble-reg-{strategy}" and world.world.registry.get(
        result.entry.model_id, result.entry.version
    )
    model, meta = load_model(world.world.store, world.families, result.artifact_dir)
    ensemble = model.base  # type: ignore[attr-defined]
    assert isinstance(ensemble, EnsembleModel) and all(isinstance(m, RegisteredMember) for m in ensemble.members)
    report = ensemble.fit_report
    assert report["registered"] and report["holdout_first_day"] == "2026-11-05"
    assert report["members_train_end"] == {m: "2026-11-04" for m in config.member_models}
    if strategy == "blending":
        assert ensemble.meta is not None and ensemble.meta.rows > 0
    if strategy == "dynamic":
        assert report["dynamic_metric"] == "sharpe" and np.isclose(sum(report["weights"]), 1.0)

    # the members are the registered graphs, not refits: their predictions equal the registered models'
    test = _days(world.frame, 5, 5)
    for member in ensemble.members:
        mid, version = parse_member_spec(member.spec)
        entry = world.world.registry.get(mid, version)
        registered, _ = load_model(world.world.store, world.families, Path(entry.artifact_path))
        np.testing.assert_allclose(member.predict_proba(test), registered.predict_proba(test), atol=1e-5)

    # one ONNX graph with the ensemble outputs, equal to the loaded model
    import onnxruntime as ort

    session = ort.InferenceSession(str(result.onnx_path), providers=["CPUExecutionProvider"])
    probs, disagreement, members = session.run(None, {"features": test.features})
    np.testing.assert_allclose(probs, model.predict_proba(test), atol=1e-5)
    assert members.shape == (len(test), 2, 3) and disagreement.shape == (len(test),)
    assert meta.feature_names == ("x0", "x1", "x2", "x3")


def test_a_window_overlapping_a_members_training_is_refused(world: _World) -> None:
    world.configs.create(
        "leaky", [], "blending", registered=["logistic-SHFE.cu2612-h10@1", "lightgbm-SHFE.cu2612-h10@1"]
    )
    with pytest.raises(InvalidArgument, match="leakage"):
        world.train("ensemble-leaky", 2, 4)


def test_incompatible_members_are_refused(world: _World, tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="not both"):
        world.configs.create("x", ["logistic"], "equal", registered=["logistic-SHFE.cu2612-h10"])
    with pytest.raises(Exception, match="no model"):
        world.configs.create("x", [], "equal", registered=["nope-h10"])
    part = replace(_days(world.frame, 0, 1), horizon=5)
    world.world.trainer.train_frame(
        request(part, family="logistic", horizon=5, config=TrainConfig(horizon=5, params={"l2_path": [0.01]})),
        part,
        PROVENANCE,
    )
    with pytest.raises(InvalidArgument, match="differ in horizon"):
        world.configs.create("x", [], "equal", registered=["logistic-SHFE.cu2612-h10@1", "logistic-SHFE.cu2612-h5"])
    narrow = _days(world.frame, 0, 1)
    world.world.trainer.train_frame(
        request(narrow, family="logistic", feature_names=("x0", "x1", "x2"), model_id="narrow"), narrow, PROVENANCE
    )
    with pytest.raises(InvalidArgument, match=r"different feature lists: only logistic-SHFE.cu2612-h10@1: \['x3'\]"):
        world.configs.create("x", [], "equal", registered=["logistic-SHFE.cu2612-h10@1", "narrow"])
    with pytest.raises(InvalidArgument, match="one weight per member"):
        world.configs.create("x", [], "weighted", registered=["logistic-SHFE.cu2612-h10@1"], weights=[1.0, 2.0])
    # a frame without a member's feature is refused when the combiner is fitted
    world.configs.create("wide", [], "equal", registered=["logistic-SHFE.cu2612-h10@1", "lightgbm-SHFE.cu2612-h10@1"])
    with pytest.raises(InvalidArgument, match="lacks"):
        world.train("ensemble-wide", 3, 5, feature_names=("x0", "x1", "x2"))


def test_regime_conditional_weights_benchmark_register_and_serve(world: _World) -> None:
    from ghtrader.adapters.hmm import HmmlearnRegimeFitter
    from ghtrader.application.errors import NotFound
    from ghtrader.application.ports.regimes import HmmFitConfig
    from ghtrader.application.regimes.models import RegimeModel
    from ghtrader.application.research.ensemble_registered import (
        FRAME_REGIME_FEATURES,
        RegimeEnsembleModel,
        RegisteredEnsembleFamily,
        regime_probabilities,
    )
    from ghtrader.application.research.serving import Predictor
    from ghtrader.domain.regimes import ObservationConfig

    train, valid = _days(world.frame, 3, 4), _days(world.frame, 5, 5)
    observation = ObservationConfig(window=50, min_periods=20)
    fitter = HmmlearnRegimeFitter()
    obs_rows = _regime_observations(observation, FRAME_REGIME_FEATURES, _days(world.frame, 0, 2))
    fit = fitter.fit_hmm(obs_rows, HmmFitConfig(n_states=2, seeds=(), n_iter=20), FRAME_REGIME_FEATURES)
    stored = world.regimes
    stored["hmm2"] = RegimeModel("hmm2", "SHFE.cu2612", "2026-11-02", "2026-11-04", observation,
                                 FRAME_REGIME_FEATURES, fit.params, {}, 0).to_payload()  # fmt: skip
    stored["vol"] = dict(stored["hmm2"], model_id="vol", features=["log_volume", "log_rvol", "spread_bps"])

    members = world.members
    specs = ["logistic-SHFE.cu2612-h10@1", "lightgbm-SHFE.cu2612-h10@1"]
    family = RegisteredEnsembleFamily(
        members, OnnxEnsembleGraphWriter(), {"members": specs, "strategy": "regime", "regime_model": "hmm2"}
    )
    model = family.fit(train, valid, TrainConfig(horizon=10))
    assert isinstance(model, RegimeEnsembleModel) and model.weights_by_regime.shape == (2, 2)
    np.testing.assert_allclose(model.weights_by_regime.sum(axis=1), 1.0)
    assert model.fit_report["regime_model"] == "hmm2" and len(model.fit_report["regime_share"]) == 2

    detail = model.predict_detail(valid)
    probs = detail["probabilities"]
    ok = np.isfinite(probs).all(axis=1)
    assert ok.mean() > 0.95 and np.allclose(probs[ok].sum(axis=1), 1.0)
    # each row's vote is the members mixed by that row's regime-mixed weights
    pi = regime_probabilities(model.regime, valid)
    rows = pi / pi.sum(axis=1, keepdims=True) @ model.weights_by_regime
    np.testing.assert_allclose(probs[ok], np.einsum("nkc,nk->nc", detail["member_probabilities"], rows)[ok])
    # causal: the first rows' probabilities do not change when later rows do
    later = replace(valid, mid=np.r_[valid.mid[:1000], valid.mid[1000:] + 500.0])
    np.testing.assert_array_equal(model.predict_proba(later)[:1000], probs[:1000])

    # the walk-forward benchmark takes it (calibrated as the container wires it), latency included
    from ghtrader.adapters.onnx import OnnxInferenceRuntime
    from ghtrader.application.research.benchmark import BenchmarkRequest, RunBenchmark
    from tests.fakes.system import FakeClock

    request = BenchmarkRequest(horizon=10, train=TrainConfig(horizon=10), latency_samples=20, prefer_gpu=False)
    report = RunBenchmark(runtime=OnnxInferenceRuntime(), clock=FakeClock())(
        request, frame=_days(world.frame, 3, 5), family=CalibratedFamily(family, OnnxCalibrationGraphWriter())
    )
    assert report.n_splits >= 1 and 0.0 < report.summary["macro_f1"].mean < 1.0
    assert not any("latency not measured" in n for n in report.notes)

    # a stored --strategy regime config trains and REGISTERS; served probabilities (the graph's
    # member outputs recombined with pi_t @ W, then calibrated) equal the trained model's
    world.configs.create("reg-regime", [], "regime", registered=specs, params={"regime_model": "hmm2"})
    result = world.train("ensemble-reg-regime", 3, 4)
    assert world.world.registry.get(result.entry.model_id, result.entry.version) is not None
    trained, meta = load_model(world.world.store, world.families, result.artifact_dir)
    block = meta.raw["regime_ensemble"]
    assert block["regime_model"]["model_id"] == "hmm2" and np.asarray(block["weights"]).shape == (2, 2)
    predictor = Predictor.open(world.world.store, world.world.runtime, result.artifact_dir, prefer_gpu=False)
    assert predictor.regime is not None
    served = predictor.predict_frame(valid)
    expected = trained.predict_proba(valid)
    ok = np.isfinite(expected).all(axis=1)
    assert ok.mean() > 0.95
    np.testing.assert_allclose(served[ok], expected[ok], atol=1e-5)
    # ... and differ from the graph's own output (the regimes' mean-weight vote)
    graph = predictor.predict(valid.features, valid.feature_names)
    assert np.abs(graph[ok] - served[ok]).max() > 1e-4

    bad = RegisteredEnsembleFamily(
        members, OnnxEnsembleGraphWriter(), {"members": specs, "strategy": "regime", "regime_model": "vol"}
    )
    with pytest.raises(InvalidArgument, match="mid and spread only"):
        bad.fit(train, valid, TrainConfig(horizon=10))
    missing = RegisteredEnsembleFamily(
        members, OnnxEnsembleGraphWriter(), {"members": specs, "strategy": "regime", "regime_model": "nope"}
    )
    with pytest.raises(NotFound):
        missing.fit(train, valid, TrainConfig(horizon=10))
    with pytest.raises(InvalidArgument, match="needs regime_model"):
        world.configs.create("r", [], "regime", registered=specs)


def _regime_observations(observation: object, features: tuple[str, ...], frame: FeatureFrame) -> np.ndarray:
    """The complete observation rows of ``frame`` a regime model is fitted on (as ``regimes fit`` on ticks)."""
    from ghtrader.application.regimes.data import run_codes, select_features
    from ghtrader.domain.regimes import build_observations
    from ghtrader.domain.ticks import TICK_DTYPE

    t = np.zeros(len(frame), dtype=TICK_DTYPE)
    t["bid_price1"], t["ask_price1"] = frame.mid - frame.spread / 2, frame.mid + frame.spread / 2
    for name in ("volume", "bid_volume1", "ask_volume1"):
        t[name] = np.nan
    codes = run_codes(frame.trading_day, frame.segment_id)
    obs = build_observations(t, codes, observation)[:, select_features(features)]  # type: ignore[arg-type]
    return obs[np.isfinite(obs).all(axis=1)]
