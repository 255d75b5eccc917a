"""Queue models against the L3 truth: accuracy of the micro-sim's queue models per L3 preset.

Run:  .venv/bin/python bench/bench_queue_models.py [--snapshots 14400] [--seeds 1 2] [--presets ...]

For each preset and seed, one order-level run of ``--snapshots`` 500 ms snapshots (14,400 = two
hours of trading time; the stress presets' crash / crisis start 600 s in); every 4th snapshot
one-lot bids and asks at 0, 1 and 2 ticks from the best join the L3 book (true FIFO fill) and the
micro-sim under each queue model (zero latency, queue ahead = displayed size), 60 s horizon.
Prints the command, then markdown tables: per preset the overall fill / no-fill scores, then all
presets pooled by distance and by passive fill kind, the model the pooled Brier score picks, and a
counterfactual A/B replay (passive at best vs FAK at the opposite best) on the default preset.
Metric definitions: src/ghtrader/domain/evaluation/queue_study.py.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ghtrader.domain.market_sim.l3_book import L3BookConfig


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
    parser.add_argument("--powers", type=float, nargs="+", default=[2.0], help="exponents n of prob_power")
    args = parser.parse_args()

    from ghtrader.domain.evaluation.queue_study import StudyOrders, best_queue_model, score_study, study_day
    from ghtrader.domain.market_sim.l3_book import l3_preset
    from ghtrader.domain.microsim import SimConfig, fee_table

    t0 = time.perf_counter()
    per_preset: dict[str, StudyOrders] = {}
    for preset in args.presets:
        cfg = l3_preset(preset)
        base = {"tick": cfg.tick, "multiplier": cfg.multiplier, "fees": fee_table("cu")}
        models = {"risk_averse": SimConfig(**base, queue_model="risk_averse")}  # type: ignore[arg-type]
        for n in args.powers:
            name = "prob_power" if args.powers == [2.0] else f"prob_power n={n:g}"
            models[name] = SimConfig(**base, queue_model="prob_power", queue_power=n)  # type: ignore[arg-type]
        models["prob_log"] = SimConfig(**base, queue_model="prob_log")  # type: ignore[arg-type]
        days = [study_day(cfg, seed, args.snapshots, models=models, horizon_s=args.horizon) for seed in args.seeds]
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
    print()
    _ab_demo(l3_preset("default"), args.seeds[0], args.snapshots, args.horizon)


def _ab_demo(cfg: L3BookConfig, seed: int, n: int, horizon: float) -> None:
    """Counterfactual replay on one L3 run: every 20th snapshot one lot, sides alternating,
    passive at the own best (cancelled after the horizon) vs FAK at the opposite best."""
    import numpy as np

    from ghtrader.domain.market_sim.l3_book import simulate_l3_day
    from ghtrader.domain.microsim import SimConfig, ab_markdown, compare_policies, fee_table, make_commands, simulate
    from ghtrader.domain.microsim.codes import AUTO, CANCEL, FAK, LIMIT

    grid = np.arange(n, dtype=np.int64) * int(cfg.slot_ms) * 1_000_000
    ticks = simulate_l3_day(cfg, seed, grid).ticks
    sim = SimConfig(tick=cfg.tick, multiplier=cfg.multiplier, fees=fee_table("cu"))
    idx = np.arange(10, n, 20)
    side = np.where(np.arange(idx.size) % 2 == 0, 1, -1)
    own = np.where(side > 0, ticks["bid_price1"][idx], ticks["ask_price1"][idx])
    opp = np.where(side > 0, ticks["ask_price1"][idx], ticks["bid_price1"][idx])
    ok = np.isfinite(own) & np.isfinite(opp)
    idx, side, own, opp = idx[ok], side[ok], own[ok], opp[ok]
    t = grid[idx]
    h = int(horizon * 1e9)
    passive = [(int(t[j]), LIMIT, int(side[j]), float(own[j]), 1, j, AUTO) for j in range(idx.size)]
    passive += [(int(t[j]) + h, CANCEL, 0, 0.0, 0, j, AUTO) for j in range(idx.size)]
    aggressive = [(int(t[j]), FAK, int(side[j]), float(opp[j]), 1, j, AUTO) for j in range(idx.size)]
    a = simulate(ticks, sim, commands=make_commands(passive))
    b = simulate(ticks, sim, commands=make_commands(aggressive))
    table = compare_policies(a, b, tick=sim.tick, multiplier=sim.multiplier, horizon_snapshots=20)
    print(f"Counterfactual replay (default preset, seed {seed}, {idx.size:,} one-lot orders, sides alternating,")
    print(f"queue model {sim.queue_model}, adverse selection over 20 snapshots = 10 s):")
    print()
    print(ab_markdown(table, ("passive at best", "FAK at opposite best")))


if __name__ == "__main__":
    main()
