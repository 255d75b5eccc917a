"""Online calibrator benchmark: per-tick cost of the delayed-label buffer and the calibrator.

Run:  .venv/bin/python bench/online_calibrator_bench.py --ticks 200000 --features 32

One synthetic stream (random-walk mid, model probabilities, factor vector) goes through what the
runner does per tick: ``buffer.push`` (resolving the row of ``t - H``), ``calibrator.update`` on
the resolved row (prequential score, Adagrad step, ADWIN + Page-Hinkley + DDM) and
``calibrator.predict`` for the new tick. Reports throughput (updates/s) and p50/p99/max latency
per call, after a warm-up that compiles the kernels. Prints the command and a markdown table.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from ghtrader.domain.online import CalibratorConfig, DelayedLabelBuffer, OnlineCalibrator

TICK = 10.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ticks", type=int, default=200_000)
    ap.add_argument("--features", type=int, default=32)
    ap.add_argument("--horizon", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    n, f = args.ticks, args.features
    rng = np.random.default_rng(args.seed)
    mid = 70_000.0 + TICK / 2 * np.cumsum(rng.choice([-1, 0, 0, 0, 1], size=n))
    logits = rng.normal(size=(n, 3))
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    feats = rng.normal(size=(n, f))

    def run(count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
        buf = DelayedLabelBuffer(args.horizon, TICK, 1.0, n_features=f)
        cal = OnlineCalibrator(CalibratorConfig(n_features=f, warmup=100, detector_stride=args.horizon))
        t_push = np.zeros(count, dtype=np.int64)
        t_pred = np.zeros(count, dtype=np.int64)
        t_upd = np.full(count, -1, dtype=np.int64)
        for t in range(count):
            a = time.perf_counter_ns()
            row = buf.push(t, mid[t], probs[t], feats[t])
            b = time.perf_counter_ns()
            if row is not None:
                cal.update(row.probs, row.features, row.label)
                t_upd[t] = time.perf_counter_ns() - b
            c = time.perf_counter_ns()
            cal.predict(probs[t], feats[t])
            t_pred[t] = time.perf_counter_ns() - c
            t_push[t] = b - a
        st = cal.state()
        return t_push, t_pred, t_upd[t_upd >= 0], f"updates={st.n_updates} mode={st.mode} drifts={st.n_drifts}"

    run(min(n, 2000))  # compile and warm caches
    start = time.perf_counter()
    t_push, t_pred, t_upd, summary = run(n)
    wall = time.perf_counter() - start
    timing = t_push.sum() + t_pred.sum() + t_upd.sum()

    def row(name: str, ns: np.ndarray) -> str:
        us = ns / 1e3
        rate = ns.shape[0] / (ns.sum() / 1e9)
        return f"| {name} | {rate:,.0f} | {np.percentile(us, 50):.1f} | {np.percentile(us, 99):.1f} | {us.max():.1f} |"

    print("$ " + " ".join([".venv/bin/python", *sys.argv]))
    print(f"ticks={n} features={f} horizon={args.horizon} calibrator {summary} wall={wall:.2f}s")
    print("| call | calls/s | p50 us | p99 us | max us |")
    print("|---|---:|---:|---:|---:|")
    print(row("buffer.push", t_push))
    print(row("calibrator.update (incl. 3 detectors)", t_upd))
    print(row("calibrator.predict", t_pred))
    per_tick = timing / n / 1e3
    print(f"| per tick (push + update + predict) | {n / (timing / 1e9):,.0f} | {per_tick:.1f} (mean) | | |")


if __name__ == "__main__":
    main()
