"""Figures of docs/ensembles.md: held-out log-loss, macro-F1, ECE and fit time of the members and of
each ensemble strategy on a synthetic frame (not a test; run: ``PYTHONPATH=src:. .venv/bin/python -m
tests.unit.adapters.ensemble_figures``)."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from ghtrader.adapters.lightgbm import LightGBMFamily
from ghtrader.adapters.linear import LogisticFamily
from ghtrader.adapters.onnx import OnnxCalibrationGraphWriter, OnnxEnsembleGraphWriter
from ghtrader.application.ports.models import TrainConfig
from ghtrader.application.research.calibration import CalibratedFamily
from ghtrader.application.research.ensemble import EnsembleFamily
from ghtrader.application.research.families import FamilyRegistry
from ghtrader.domain.evaluation import classification_metrics
from tests.unit.adapters.test_calibrated_families import _imbalanced_frame


def main() -> None:
    g = OnnxCalibrationGraphWriter()
    reg = FamilyRegistry(CalibratedFamily(f, g) for f in (LogisticFamily(), LightGBMFamily()))
    reg.register(CalibratedFamily(EnsembleFamily(reg, OnnxEnsembleGraphWriter()), g))
    frame = _imbalanced_frame(30000, seed=11)
    # make the members differ: a nonlinear term only trees can use
    x = frame.features
    rng = np.random.default_rng(2)
    score = x[:, 0] - 0.6 * x[:, 1] + 1.2 * (np.abs(x[:, 2]) > 1.2) * np.sign(x[:, 3]) + rng.standard_normal(len(frame))
    labels = np.where(score < -1.5, 0.0, np.where(score > 1.5, 2.0, 1.0))
    frame = replace(frame, labels=labels)
    tr, va, te = frame.take(np.arange(18000)), frame.take(np.arange(18010, 21000)), frame.take(np.arange(21010, 30000))
    lgb = {"num_boost_round": 200, "learning_rate": 0.1, "num_threads": 1}
    runs = [("logistic", {}), ("lightgbm", lgb)] + [
        ("ensemble", {"strategy": s, "member_params": {"lightgbm": lgb}, **extra})
        for s, extra in [
            ("equal", {}),
            ("stacking", {"oof_folds": 3}),
            ("blending", {}),
            ("dynamic", {"half_life_rows": 500}),
        ]
    ]
    print(f"{'model':<22} {'log_loss':>8} {'macro_f1':>8} {'ece':>6} {'fit_s':>6}")
    for name, params in runs:
        t0 = time.perf_counter()
        m = reg.get(name).fit(tr, va, TrainConfig(horizon=10, seed=0, params=params))
        fit = time.perf_counter() - t0
        p = m.predict_proba(te)
        c = classification_metrics(te.labels, p)
        label = name if name != "ensemble" else f"ensemble/{params['strategy']}"
        extra = ""
        if name == "ensemble":
            r = m.base.fit_report
            extra = f"  corr={r['prediction_correlation'][0][1]:.3f} disagree={r['mean_disagreement']:.3f} w={np.round(m.base.weights, 3).tolist()}"
        print(f"{label:<22} {c.log_loss:8.4f} {c.macro_f1:8.4f} {c.ece:6.4f} {fit:6.1f}{extra}")


if __name__ == "__main__":
    main()
