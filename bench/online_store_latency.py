"""Read latency of the online feature store: raw store reads and TTL-checked service reads.

Fills an ``InMemoryOnlineFeatureStore`` with the latest values of every registered factor for a
few symbols (through ``OnlineFeatureService.update`` on synthetic ticks), then times many
single-feature reads and whole-vector reads with ``time.perf_counter_ns`` and prints the
median, p99 and max per read as a markdown table (target: well under 1 ms).

Run:  .venv/bin/python bench/online_store_latency.py [--reads 200000] [--symbols 3]
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable
from datetime import date

import numpy as np

from ghtrader.adapters.memory import InMemoryOnlineFeatureStore
from ghtrader.application.datasets.online import OnlineFeatureService
from ghtrader.domain.calendar import TradingCalendar
from ghtrader.domain.factors import factor_names
from ghtrader.domain.market_sim import SyntheticMarket, SyntheticMarketConfig


class _WallClock:
    def now_ns(self) -> int:
        return time.time_ns()

    def monotonic_s(self) -> float:
        return time.monotonic()


def _timed(fn: Callable[[int], object], n: int) -> np.ndarray:
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        t0 = time.perf_counter_ns()
        fn(i)
        out[i] = time.perf_counter_ns() - t0
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=200_000)
    parser.add_argument("--symbols", type=int, default=3)
    args = parser.parse_args()

    day = date(2024, 2, 20)
    market = SyntheticMarket(SyntheticMarketConfig(anchor_date=date(2024, 1, 2)), TradingCalendar([]))
    symbols = market.listed_contracts("SHFE.cu", day)[: args.symbols]
    store = InMemoryOnlineFeatureStore()
    names = factor_names()
    service = OnlineFeatureService(
        store=store, clock=_WallClock(), names=names, ttl_seconds={n: float("inf") for n in names}
    )
    for symbol in symbols:
        ticks = market.ticks(symbol, day)[:2_000]
        service.update(symbol, ticks, np.full(len(ticks), np.datetime64(day)))

    rng = np.random.default_rng(0)
    picks = [(symbols[i % len(symbols)], names[j]) for i, j in enumerate(rng.integers(0, len(names), args.reads))]
    rows = [
        ("store.get_latest", _timed(lambda i: store.get_latest(*picks[i]), args.reads)),
        ("service.get_latest (TTL check)", _timed(lambda i: service.get_latest(*picks[i]), args.reads)),
        (
            f"service.get_vector ({len(names)} features)",
            _timed(lambda i: service.get_vector(symbols[i % len(symbols)]), max(1, args.reads // 100)),
        ),
    ]
    print(
        f"online store read latency, {platform.python_implementation()} {platform.python_version()}, "
        f"{len(symbols)} symbols x {len(names)} features"
    )
    print("| read | n | median us | p99 us | max us |")
    print("|---|---:|---:|---:|---:|")
    for label, ns in rows:
        p50, p99 = np.percentile(ns, [50, 99]) / 1e3
        print(f"| {label} | {ns.shape[0]} | {p50:.2f} | {p99:.2f} | {ns.max() / 1e3:.1f} |")


if __name__ == "__main__":
    main()
