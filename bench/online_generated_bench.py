"""Online factor engine with and without generated features: per-tick cost.

Run:  .venv/bin/python bench/online_generated_bench.py --ticks 20000 --rounds 5

For the core factor set (CORE_L5_FACTORS) plus N generated features over it (the first N of
``generate_specs(CORE_L5_FACTORS, ratios=True)``: lags, diffs, rolling means / stds, EWMs,
products, ratios), measures on one core the per-tick ``OnlineFactorEngine.update`` latency
(p50 / p99, one call per tick as a trading run makes) and the ``update_many`` throughput (one
call per trading day, as the backtest makes). The N values are measured in turns inside each
round and reported as medians over the rounds (the machine may be shared). Prints the command
and a markdown table.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from factors_bench import MULT, TICK, make_ticks  # noqa: E402
from ghtrader.domain.factors import CORE_L5_FACTORS, OnlineFactorEngine  # noqa: E402
from ghtrader.domain.factors.generated import generate_specs  # noqa: E402


def _names(n_gen: int) -> list[str]:
    specs = generate_specs(list(CORE_L5_FACTORS), ratios=True, max_pairs=100)
    if n_gen > len(specs):
        raise SystemExit(f"at most {len(specs)} generated features over the core set")
    return [*CORE_L5_FACTORS, *(s.name for s in specs[:n_gen])]


def _per_tick(names: list[str], ticks: np.ndarray, day: np.ndarray, seg: np.ndarray) -> np.ndarray:
    eng = OnlineFactorEngine(names, TICK, MULT)
    eng.update_many(ticks[:50], day[:50], seg[:50])  # compile / warm
    lat = np.empty(ticks.shape[0] - 50)
    clock = time.perf_counter_ns
    for i in range(50, ticks.shape[0]):
        t0 = clock()
        eng.update(ticks[i], int(day[i]), int(seg[i]))
        lat[i - 50] = clock() - t0
    return lat


def _batch(names: list[str], ticks: np.ndarray, day: np.ndarray, seg: np.ndarray) -> float:
    eng = OnlineFactorEngine(names, TICK, MULT)
    bounds = np.r_[0, np.flatnonzero(day[1:] != day[:-1]) + 1, ticks.shape[0]]
    t0 = time.perf_counter()
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        eng.update_many(ticks[lo:hi], day[lo:hi], seg[lo:hi])
    return ticks.shape[0] / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ticks", type=int, default=20_000, help="ticks per per-tick run")
    ap.add_argument("--batch-ticks", type=int, default=200_000, help="ticks per update_many run")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--n-gen", default="0,16,64,160", help="generated-feature counts to measure")
    a = ap.parse_args()
    counts = [int(x) for x in a.n_gen.split(",")]
    ticks, day, seg, _ = make_ticks(max(a.ticks, a.batch_ticks))
    small = (ticks[: a.ticks], day[: a.ticks], seg[: a.ticks])
    p50: dict[int, list[float]] = {n: [] for n in counts}
    p99: dict[int, list[float]] = {n: [] for n in counts}
    tput: dict[int, list[float]] = {n: [] for n in counts}
    for n in counts:  # compile every shape first
        _per_tick(_names(n), *(x[:200] for x in small))
    for _ in range(a.rounds):
        for n in counts:
            lat = _per_tick(_names(n), *small)
            p50[n].append(float(np.percentile(lat, 50)) / 1e3)
            p99[n].append(float(np.percentile(lat, 99)) / 1e3)
            tput[n].append(_batch(_names(n), ticks, day, seg))
    print("command: .venv/bin/python bench/" + Path(__file__).name + " " + " ".join(sys.argv[1:]))
    print(f"core factors: {len(CORE_L5_FACTORS)}; medians over {a.rounds} rounds; one core\n")
    print("| generated features | update p50 (us) | update p99 (us) | p50 vs none | update_many (ticks/s) |")
    print("|---:|---:|---:|---:|---:|")
    base = float(np.median(p50[counts[0]]))
    for n in counts:
        m50, m99, mt = (float(np.median(v[n])) for v in (p50, p99, tput))
        print(f"| {n} | {m50:.2f} | {m99:.2f} | {m50 / base:.2f}x | {mt:,.0f} |")


if __name__ == "__main__":
    main()
