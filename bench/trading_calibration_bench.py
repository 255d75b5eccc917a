"""Per-tick cost of the online calibration stage of a trading run (``OnlineCalibration.step``).

Run:  .venv/bin/python bench/trading_calibration_bench.py --ticks 50000 --features 32

A synthetic stream (random-walk quotes, model probabilities, factor vector) goes through what
``DecisionPipeline.on_tick`` calls between the model and the policy: the tick's mid, the
delayed-label buffer, a calibrator update on the resolved row (ADWIN + Page-Hinkley + DDM at
``detector_stride = H``) and the served probabilities. Reports p50 / p99 / max per call after a
warm-up pass that compiles the kernels.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date

import numpy as np

from ghtrader.application.trading.online_calibration import CalibrationSetup, OnlineCalibration
from ghtrader.domain.online import CalibratorConfig

TICK = 10.0
DAY = date(2026, 11, 23)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ticks", type=int, default=50_000)
    ap.add_argument("--features", type=int, default=32)
    ap.add_argument("--horizon", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    n, f, h = args.ticks, args.features, args.horizon
    rng = np.random.default_rng(args.seed)
    ticks = np.zeros(n, np.dtype([("datetime_ns", "i8"), ("bid_price1", "f8"), ("ask_price1", "f8")]))
    mid = 70_000.0 + TICK * np.cumsum(rng.choice([-1, 0, 0, 0, 1], size=n))
    ticks["bid_price1"], ticks["ask_price1"] = mid - TICK / 2, mid + TICK / 2
    probs = rng.dirichlet([3.0, 3.0, 3.0], size=n)
    feats = rng.normal(size=(n, f))

    def run(count: int) -> tuple[np.ndarray, str]:
        setup = CalibrationSetup(h, 1.0, "bench", TICK, CalibratorConfig(n_features=f, detector_stride=h))
        cal = OnlineCalibration(setup)
        out = np.empty(count)
        for i in range(count):
            t0 = time.perf_counter_ns()
            cal.step(ticks[i], DAY, probs[i], feats[i])
            out[i] = time.perf_counter_ns() - t0
        return out / 1000.0, str(cal.state()["mode"])

    run(min(n, 2_000))  # compile the kernels
    us, mode = run(n)
    print(f"command: {' '.join(sys.argv)}")
    print(f"{n} ticks, {f} factors, H = {h}; calibrator mode at the end: {mode}\n")
    print("| call | p50 us | p99 us | max us | mean us |")
    print("|---|---:|---:|---:|---:|")
    print(
        f"| `OnlineCalibration.step` | {np.percentile(us, 50):.1f} | {np.percentile(us, 99):.1f} "
        f"| {us.max():.1f} | {us.mean():.1f} |"
    )


if __name__ == "__main__":
    main()
