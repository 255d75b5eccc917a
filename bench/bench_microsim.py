"""Micro-simulator throughput: snapshots per second on ~1M synthetic cu L5 snapshots.

Run:  .venv/bin/python bench/bench_microsim.py [--snapshots 1000000] [--days 3] [--repeat 3]
      [--file data/bench/cu_l5_1m.npz] [--entry-ms 5] [--json]

Builds the snapshots from ``SyntheticMarket`` ticks of ``--days`` consecutive cu main days
(default config, seed 7), tiled until ``--snapshots`` rows (each copy a new trading day: orders
expire, counters restart), or reads them from ``--file`` (written by ``make_snapshots.py``, the
file hftbacktest replays too). Runs the built-in re-quoting strategy (1 lot at the best bid and
ask, max position 5, feed 5 ms, entry and cancel latency drawn from an empirical sample, or the
constant ``--entry-ms``; seed 1) under each queue model, plus a pure replay with no orders, after
one JIT warm-up; reports the best of ``--repeat`` wall times (the whole ``simulate`` call: array
preparation, kernel and result records). ``--json`` prints one JSON line per run for
``bench_microsim_vs_hftbacktest.sh``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshots", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--end", type=date.fromisoformat, default=date(2026, 11, 27))
    parser.add_argument("--file", type=Path, default=None)
    parser.add_argument("--entry-ms", type=float, default=None, help="constant entry / cancel latency")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    import numpy as np

    from ghtrader.domain.microsim import Latency, QuoteStrategy, SimConfig, simulate

    if args.file is not None:
        z = np.load(args.file)
        ticks, day_start = z["ticks"], z["day_start"]
        desc = f"{ticks.shape[0]} SHFE.cu L5 snapshots from {args.file} ({int(day_start.sum())} trading days)"
    else:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from make_snapshots import build_snapshots

        ticks, day_start, desc = build_snapshots(args.snapshots, args.days, args.end)
    n = ticks.shape[0]
    if args.entry_ms is None:
        lat = Latency(samples_ns=np.array([2, 3, 3, 4, 5, 8, 15]) * 1_000_000)
    else:
        lat = Latency(int(args.entry_ms * 1e6))
    strategy = QuoteStrategy(qty=1, max_position=5)

    def config(model: str) -> SimConfig:
        return SimConfig.for_variety(
            "cu", queue_model=model, feed_latency=Latency(5_000_000), entry_latency=lat, cancel_latency=lat, seed=1
        )

    simulate(ticks[:5000], config("risk_averse"), strategy=strategy, day_start=day_start[:5000])  # JIT warm-up
    if not args.json:
        print("command:", " ".join([sys.executable, *sys.argv]))
        print(f"{desc}\n")
        print(
            "| run | queue model | best wall (s) | snapshots/s | orders | fills | queue / cross / aggressive "
            "| net PnL (CNY) |"
        )
        print("|---|---|---|---|---|---|---|---|")
    runs = [("pure replay", "risk_averse", None)] + [
        ("re-quote", m, strategy) for m in ("risk_averse", "prob_power", "prob_log")
    ]
    for name, model, strat in runs:
        best = float("inf")
        for _ in range(args.repeat):
            t1 = time.perf_counter()
            r = simulate(ticks, config(model), strategy=strat, day_start=day_start)
            best = min(best, time.perf_counter() - t1)
        s = r.summary
        if args.json:
            row = {
                "engine": "microsim", "run": name, "model": model, "wall_s": best, "snapshots": n,
                "orders": int(s["orders"]), "fills": int(s["fills"]), "fills_queue": int(s["fills_passive_queue"]),
                "fills_cross": int(s["fills_passive_cross"]), "position": float(r.equity["position"][-1]) if n else 0.0,
            }  # fmt: skip
            print(json.dumps(row))
            continue
        kinds = f"{s['fills_passive_queue']:.0f} / {s['fills_passive_cross']:.0f} / {s['fills_aggressive']:.0f}"
        print(
            f"| {name} | {model} | {best:.3f} | {n / best:,.0f} | {s['orders']:.0f} | {s['fills']:.0f} | "
            f"{kinds} | {s['pnl_net']:,.0f} |"
        )


if __name__ == "__main__":
    main()
