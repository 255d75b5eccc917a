"""Bayes oracle benchmark: rows/s of ``SyntheticMarket.class_probabilities`` on one cu main day.

Run:  .venv/bin/python bench/bench_bayes_oracle.py [--rows 20000]

Default config (seed 7, 500 ms grid, signal strength 0.1), the copper main contract of one
trading day; a random sample of ``--rows`` ticks (as the frame extras take per day), timed warm
(after one JIT-compiling call) for H = 10 and H = 50, k = 1. Prints the command and a markdown
table: rows/s, mean continuations (paths) per row, largest standard error.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--day", type=date.fromisoformat, default=date(2026, 11, 3))
    args = parser.parse_args()
    import numpy as np

    from ghtrader.adapters.filesystem.calendar_cache import bundled_holidays_text
    from ghtrader.domain.calendar import TradingCalendar, parse_holidays
    from ghtrader.domain.market_sim import SyntheticMarket, SyntheticMarketConfig

    market = SyntheticMarket(
        SyntheticMarketConfig(seed=7, anchor_date=date(2026, 1, 5)),
        TradingCalendar(parse_holidays(bundled_holidays_text())),
    )
    main_contract = market.main_contract("SHFE.cu", args.day)
    n = market.ticks(main_contract, args.day).shape[0]
    rng = np.random.default_rng(0)
    rows = np.sort(rng.choice(n, size=min(args.rows, n), replace=False)).astype(np.int64)
    market.class_probabilities_with_paths(main_contract, args.day, 10, 1.0, rows[:50])  # compile

    print("command:", " ".join([sys.executable, *sys.argv]))
    print(f"{main_contract} {args.day}: {n} ticks, {rows.shape[0]} sampled rows, one core\n")
    print("| H | rows/s | paths per row (mean) | max SE |")
    print("|---|---|---|---|")
    for horizon in (10, 50):
        t0 = time.perf_counter()
        probs, se, paths = market.class_probabilities_with_paths(main_contract, args.day, horizon, 1.0, rows)
        dt = time.perf_counter() - t0
        ok = ~np.isnan(probs[:, 0])
        print(f"| {horizon} | {rows.shape[0] / dt:,.0f} | {paths[ok].mean():.0f} | {np.nanmax(se):.4f} |")


if __name__ == "__main__":
    main()
