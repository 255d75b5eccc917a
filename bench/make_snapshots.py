"""Write the shared snapshot file of the micro-sim vs hftbacktest benchmark.

Run:  .venv/bin/python bench/make_snapshots.py [--out data/bench/cu_l5_1m.npz] [--snapshots 1000000] [--days 3]

``SyntheticMarket`` ticks of ``--days`` consecutive cu main days (default config, seed 7) tiled to
``--snapshots`` rows, each copy a new trading day (as ``bench_microsim.py`` replays them). The
.npz holds ``ticks`` (``TICK_DTYPE`` structured array), ``day_start`` (bool per row: orders
expire, cumulative counters restart), ``tick`` and ``multiplier`` (SHFE.cu); it loads with plain
numpy, so the hftbacktest virtualenv reads it without ghtrader.
"""

from __future__ import annotations

import argparse
import time
from datetime import date
from pathlib import Path

import numpy as np


def build_snapshots(n_snapshots: int, n_days: int, end: date) -> tuple[np.ndarray, np.ndarray, str]:
    """``(ticks, day_start, description)``: ``n_days`` synthetic cu main days tiled to ``n_snapshots`` rows."""
    from ghtrader.adapters.filesystem.calendar_cache import bundled_holidays_text
    from ghtrader.domain.calendar import TradingCalendar, parse_holidays
    from ghtrader.domain.market_sim import SyntheticMarket, SyntheticMarketConfig

    calendar = TradingCalendar(parse_holidays(bundled_holidays_text()))
    days = calendar.trading_days(date(2026, 1, 5), end)[-n_days:]
    market = SyntheticMarket(SyntheticMarketConfig(seed=7, anchor_date=date(2026, 1, 5)), calendar)
    t0 = time.perf_counter()
    parts = [market.ticks(market.main_contract("SHFE.cu", d), d) for d in days]
    gen_s = time.perf_counter() - t0
    copies: list[np.ndarray] = []
    starts: list[int] = []
    total = 0
    shift = 0
    while total < n_snapshots:
        for p in parts:
            q = p.copy()
            q["datetime_ns"] += shift
            copies.append(q)
            starts.append(total)
            total += q.shape[0]
        shift = int(copies[-1]["datetime_ns"][-1] - parts[0]["datetime_ns"][0]) + 3_600_000_000_000
    ticks = np.concatenate(copies)[:n_snapshots]
    day_start = np.zeros(ticks.shape[0], dtype=np.bool_)
    day_start[[s for s in starts if s < ticks.shape[0]]] = True
    desc = (
        f"{ticks.shape[0]} SHFE.cu L5 snapshots: {len(days)} synthetic main days ({days[0]}..{days[-1]}, "
        f"{sum(p.shape[0] for p in parts)} ticks, generated in {gen_s:.1f} s) tiled to {int(day_start.sum())} trading days"
    )
    return ticks, day_start, desc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("data/bench/cu_l5_1m.npz"))
    parser.add_argument("--snapshots", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--end", type=date.fromisoformat, default=date(2026, 11, 27))
    args = parser.parse_args()
    from ghtrader.domain.instruments import contract_spec

    ticks, day_start, desc = build_snapshots(args.snapshots, args.days, args.end)
    spec = contract_spec("SHFE.cu")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(args.out, ticks=ticks, day_start=day_start, tick=spec.price_tick, multiplier=spec.multiplier)
    print(f"{desc}\nwrote {args.out} ({args.out.stat().st_size / 1e6:.0f} MB)")


if __name__ == "__main__":
    main()
