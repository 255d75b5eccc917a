"""Micro-simulator throughput: snapshots per second on ~1M synthetic cu L5 snapshots.

Run:  .venv/bin/python bench/bench_microsim.py [--snapshots 1000000] [--days 3] [--repeat 3]

Builds the snapshots from ``SyntheticMarket`` ticks of ``--days`` consecutive cu main days
(default config, seed 7), tiled until ``--snapshots`` rows (each copy a new trading day: orders
expire, counters restart). Runs the built-in re-quoting strategy (1 lot at the best bid and ask,
max position 5, feed 5 ms, entry and cancel latency drawn from an empirical sample, seed 1) under
each queue model, plus a pure replay with no orders, after one JIT warm-up; reports the best of
``--repeat`` wall times (the whole ``simulate`` call: array preparation, kernel and result
records). hftbacktest is not installed or compared here (left for later).
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshots", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--end", type=date.fromisoformat, default=date(2026, 11, 27))
    args = parser.parse_args()
    import numpy as np

    from ghtrader.adapters.filesystem.calendar_cache import bundled_holidays_text
    from ghtrader.domain.calendar import TradingCalendar, parse_holidays
    from ghtrader.domain.market_sim import SyntheticMarket, SyntheticMarketConfig
    from ghtrader.domain.microsim import Latency, QuoteStrategy, SimConfig, simulate

    calendar = TradingCalendar(parse_holidays(bundled_holidays_text()))
    days = calendar.trading_days(date(2026, 1, 5), args.end)[-args.days :]
    market = SyntheticMarket(SyntheticMarketConfig(seed=7, anchor_date=date(2026, 1, 5)), calendar)
    t0 = time.perf_counter()
    parts = [market.ticks(market.main_contract("SHFE.cu", d), d) for d in days]
    gen_s = time.perf_counter() - t0
    day_len = [p.shape[0] for p in parts]
    copies = []
    starts = []
    total = 0
    shift = 0
    while total < args.snapshots:
        for p in parts:
            q = p.copy()
            q["datetime_ns"] += shift
            copies.append(q)
            starts.append(total)
            total += q.shape[0]
        shift = int(copies[-1]["datetime_ns"][-1] - parts[0]["datetime_ns"][0]) + 3_600_000_000_000
    ticks = np.concatenate(copies)[: args.snapshots]
    day_start = np.zeros(ticks.shape[0], dtype=np.bool_)
    day_start[[s for s in starts if s < ticks.shape[0]]] = True
    n = ticks.shape[0]
    lat = Latency(samples_ns=np.array([2, 3, 3, 4, 5, 8, 15]) * 1_000_000)
    strategy = QuoteStrategy(qty=1, max_position=5)

    def config(model: str) -> SimConfig:
        return SimConfig.for_variety(
            "cu", queue_model=model, feed_latency=Latency(5_000_000), entry_latency=lat, cancel_latency=lat, seed=1
        )

    simulate(ticks[:5000], config("risk_averse"), strategy=strategy, day_start=day_start[:5000])  # JIT warm-up
    print("command:", " ".join([sys.executable, *sys.argv]))
    print(
        f"{n} SHFE.cu L5 snapshots: {len(days)} synthetic main days ({days[0]}..{days[-1]}, "
        f"{sum(day_len)} ticks, generated in {gen_s:.1f} s) tiled to {int(day_start.sum())} trading days\n"
    )
    print(
        "| run | queue model | best wall (s) | snapshots/s | orders | fills | queue / cross / aggressive | net PnL (CNY) |"
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
        kinds = f"{s['fills_passive_queue']:.0f} / {s['fills_passive_cross']:.0f} / {s['fills_aggressive']:.0f}"
        print(
            f"| {name} | {model} | {best:.3f} | {n / best:,.0f} | {s['orders']:.0f} | {s['fills']:.0f} | "
            f"{kinds} | {s['pnl_net']:,.0f} |"
        )


if __name__ == "__main__":
    main()
