"""Figures of docs/ensembles.md for ensembles over REGISTERED versions (not a test; run:
``PYTHONPATH=src:. .venv/bin/python -m tests.unit.adapters.ensemble_registered_figures``).

Calibrated logistic and LightGBM (train_world's fast params: LightGBM 40 rounds, one thread) are trained and
registered on days 0-2 of the six-day synthetic frame of test_ensemble_registered (a linear term
and an interaction only trees can use), each strategy's combiner is trained on days 3-4 (train's
split: the last 20 % of those rows validate and calibrate), and everything is scored on day 5.
Then the per-tick cost of reading an ensemble graph's member outputs: ``run`` (probabilities)
against ``run_detail`` (probabilities, disagreement and member probabilities) at batch 1. Last,
the walk-forward benchmark on days 3-5 of equal, blending and regime-conditional weights (a
2-state HMM fitted on days 0-2 on ret / log_rvol / spread_bps built from mid and spread)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from ghtrader.adapters.onnx import OnnxInferenceRuntime
from ghtrader.application.research.artifacts import load_model
from ghtrader.domain.evaluation import classification_metrics
from tests.unit.application.research.test_ensemble_registered import _days, _World

STRATEGIES = [
    ("equal", {}),
    ("blending", {}),
    ("dynamic", {"half_life_rows": 1000}),
    ("dynamic", {"half_life_rows": 1000, "dynamic_metric": "sharpe"}),
]


def _row(name: str, probs: np.ndarray, labels: np.ndarray, fit_s: float) -> str:
    ok = np.isfinite(labels)
    m = classification_metrics(labels[ok].astype(np.int64), probs[ok])
    return f"| {name} | {m.log_loss:.4f} | {m.macro_f1:.4f} | {fit_s:.1f} |"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        w = _World(Path(tmp))
        test = _days(w.frame, 5, 5)
        rows = []
        for family in ("logistic", "lightgbm"):
            t = time.perf_counter()
            result = w.train(family, 0, 2)
            fit_s = time.perf_counter() - t
            model, _ = load_model(w.world.store, w.families, result.artifact_dir)
            rows.append(_row(f"{family} (registered, days 0-2)", model.predict_proba(test), test.labels, fit_s))
        specs = ["logistic-SHFE.cu2612-h10@1", "lightgbm-SHFE.cu2612-h10@1"]
        last = None
        for strategy, params in STRATEGIES:
            name = f"{strategy}{'-' + params['dynamic_metric'] if 'dynamic_metric' in params else ''}"
            w.configs.create(f"fig-{name}", [], strategy, registered=specs, params=params)
            t = time.perf_counter()
            result = w.train(f"ensemble-fig-{name}", 3, 4)
            fit_s = time.perf_counter() - t
            model, _ = load_model(w.world.store, w.families, result.artifact_dir)
            ens = model.base  # type: ignore[attr-defined]
            how = "meta-learner" if ens.meta is not None else f"weights {np.round(ens.weights, 2).tolist()}"
            rows.append(_row(f"ensemble {name} ({how})", model.predict_proba(test), test.labels, fit_s))
            last = result.onnx_path
        print("| model | day-5 log-loss | macro-F1 | train s |\n|---|---|---|---|")
        print("\n".join(rows))

        assert last is not None
        session = OnnxInferenceRuntime().load(last, prefer_gpu=False)
        x = np.ascontiguousarray(test.features[:1], dtype=np.float32)
        for label, fn in (("run", session.run), ("run_detail", session.run_detail)):
            for _ in range(200):
                fn(x)
            times = []
            for i in range(5000):
                j = i % len(test)
                x = np.ascontiguousarray(test.features[j : j + 1], dtype=np.float32)
                t = time.perf_counter_ns()
                fn(x)
                times.append(time.perf_counter_ns() - t)
            p = np.percentile(times, [50, 99]) / 1000.0
            print(f"{label}: p50 {p[0]:.1f} us, p99 {p[1]:.1f} us (batch 1, 5000 calls)")


def regime_benchmark() -> None:
    from ghtrader.adapters.hmm import HmmlearnRegimeFitter
    from ghtrader.adapters.onnx import OnnxCalibrationGraphWriter, OnnxEnsembleGraphWriter
    from ghtrader.application.ports.models import TrainConfig
    from ghtrader.application.ports.regimes import HmmFitConfig
    from ghtrader.application.regimes.models import RegimeModel
    from ghtrader.application.research.benchmark import BenchmarkRequest, RunBenchmark
    from ghtrader.application.research.calibration import CalibratedFamily
    from ghtrader.application.research.ensemble_registered import (
        FRAME_REGIME_FEATURES,
        RegisteredEnsembleFamily,
        RegisteredMembers,
    )
    from ghtrader.domain.regimes import ObservationConfig
    from tests.fakes.system import FakeClock
    from tests.unit.application.research.test_ensemble_registered import _regime_observations

    with tempfile.TemporaryDirectory() as tmp:
        w = _World(Path(tmp))
        w.train("logistic", 0, 2)
        w.train("lightgbm", 0, 2)
        ob = ObservationConfig(window=50, min_periods=20)
        rows = _regime_observations(ob, FRAME_REGIME_FEATURES, _days(w.frame, 0, 2))
        fit = HmmlearnRegimeFitter().fit_hmm(rows, HmmFitConfig(n_states=2, seeds=(), n_iter=20), FRAME_REGIME_FEATURES)
        payload = RegimeModel("hmm2", "SHFE.cu2612", "", "", ob, FRAME_REGIME_FEATURES, fit.params, {}, 0).to_payload()

        class _Store:
            def load_model(self, model_id: str) -> dict:  # type: ignore[type-arg]
                return payload

        ww = w.world
        members = RegisteredMembers(lambda: ww.registry, lambda: ww.store, lambda: ww.runtime, lambda: _Store())  # type: ignore[arg-type,return-value]
        specs = ["logistic-SHFE.cu2612-h10@1", "lightgbm-SHFE.cu2612-h10@1"]
        print("| combiner (benchmark days 3-5) | folds | log-loss | macro-F1 |\n|---|---|---|---|")
        for strategy, extra in (("equal", {}), ("blending", {}), ("regime", {"regime_model": "hmm2"})):
            params = {"members": specs, "strategy": strategy, **extra}
            family = CalibratedFamily(
                RegisteredEnsembleFamily(members, OnnxEnsembleGraphWriter(), params), OnnxCalibrationGraphWriter()
            )
            request = BenchmarkRequest(horizon=10, train=TrainConfig(horizon=10), latency_samples=20, prefer_gpu=False)
            report = RunBenchmark(runtime=OnnxInferenceRuntime(), clock=FakeClock())(
                request, frame=_days(w.frame, 3, 5), family=family
            )
            s = report.summary
            print(f"| {strategy} | {report.n_splits} | {s['log_loss'].mean:.4f} | {s['macro_f1'].mean:.4f} |")


if __name__ == "__main__":
    regime_benchmark()
    main()
