"""Queue models against the L3 truth: accuracy of the micro-sim's queue models per L3 preset.

Run:  .venv/bin/python bench/bench_queue_models.py [--snapshots 14400] [--seeds 1 2] [--presets ...]

For each preset and seed, one order-level run of ``--snapshots`` 500 ms snapshots (14,400 = two
hours of trading time; the stress presets' crash / crisis start 600 s in); every 4th snapshot
one-lot bids and asks at 0, 1 and 2 ticks from the best join the L3 book (true FIFO fill) and the
micro-sim under each queue model (zero latency, queue ahead = displayed size), 60 s horizon.
Prints the command, then markdown tables: per preset the overall fill / no-fill scores, then all
presets pooled by distance and by passive fill kind, and the model the pooled Brier score picks.
Metric definitions: src/ghtrader/domain/evaluation/queue_study.py.
"""

from __future__ import annotations

import argparse
import math
import sys
import time


def _f(x: float, nd: int = 3) -> str:
    return "-" if isinstance(x, float) and math.isnan(x) else f"{x:.{nd}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshots", type=int, default=14_400)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument(
        "--presets",
        nargs="+",
        default=["default", "trending", "mean_reverting", "volatile", "flash_crash", "liquidity_crisis"],
    )
    parser.add_argument("--horizon", type=float, default=60.0)
    args = parser.parse_args()

    from ghtrader.domain.evaluation.queue_study import StudyOrders, best_queue_model, score_study, study_day
    from ghtrader.domain.market_sim.l3_book import l3_preset

    t0 = time.perf_counter()
    per_preset: dict[str, StudyOrders] = {}
    for preset in args.presets:
        cfg = l3_preset(preset)
        days = [study_day(cfg, seed, args.snapshots, horizon_s=args.horizon) for seed in args.seeds]
        per_preset[preset] = StudyOrders.concat(days)
    pooled = StudyOrders.concat(list(per_preset.values()))
    elapsed = time.perf_counter() - t0

    print("command:", " ".join([sys.executable, *sys.argv]))
    print(f"orders: {pooled.true_t.size:,} ({len(args.presets)} presets x {len(args.seeds)} seeds), {elapsed:.1f} s")
    print()
    print("Fill / no fill within the horizon, all distances (Brier of the 0/1 prediction; AUC by earliness):")
    print()
    print("| preset | model | orders | true fill rate | predicted | bias | AUC | Brier | TTF MAE s |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for preset, orders in [*per_preset.items(), ("pooled", pooled)]:
        for r in score_study(orders):
            if r.kind == "any" and r.score.distance == "all":
                s = r.score
                print(
                    f"| {preset} | {r.model} | {s.n:,} | {_f(s.true_fill_rate)} | {_f(s.mean_predicted)} "
                    f"| {_f(s.fill_rate_bias, 3)} | {_f(s.auc)} | {_f(s.brier)} | {_f(s.ttf_mae_s, 2)} |"
                )
    rows = score_study(pooled)
    print()
    print("Pooled, by fill kind and distance from the best (ticks):")
    print()
    print("| model | kind | distance | orders | true rate | predicted | bias | AUC | Brier | TTF MAE s | n TTF |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        if r.score.distance == "3+":
            continue
        s = r.score
        print(
            f"| {r.model} | {r.kind} | {s.distance} | {s.n:,} | {_f(s.true_fill_rate)} | {_f(s.mean_predicted)} "
            f"| {_f(s.fill_rate_bias)} | {_f(s.auc)} | {_f(s.brier)} | {_f(s.ttf_mae_s, 2)} | {s.n_ttf:,} |"
        )
    print()
    print("best by pooled Brier (fill / no fill):", best_queue_model(rows))


if __name__ == "__main__":
    main()
