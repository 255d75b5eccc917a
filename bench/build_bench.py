"""Build throughput and bytes per stored tick of the PostgreSQL dataset tables.

    PYTHONPATH=src .venv/bin/python bench/build_bench.py [--days 5] [--symbol SHFE.cu2404]

Writes ``--days`` days of synthetic L5 ticks of one contract (the domain's synthetic market,
500 ms snapshots) into a throwaway embedded PostgreSQL (the server's default settings) in a temp
dir, then runs ``BuildDataset`` on the raw series with every registered factor, direction and
fill labels: a fresh build, then an ``--overwrite`` build of the same days (twice: the second
shows whether a rebuild leaves growth behind). Prints per build ticks/s and WAL written, and per
table the bytes on disk per stored tick (heap + indexes + TOAST, every partition) and its float
payload. A ``compute only`` line runs the same build against the in-memory store: the ceiling
the database write path is measured against.

The script only uses the ports, so the same file measures another checkout's store layout:
``PYTHONPATH=/path/to/other/src .venv/bin/python bench/build_bench.py`` (old vs new side by side).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
import uuid
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from ghtrader.adapters.memory import (
    InMemoryDatasetStore,
    InMemoryIndexStore,
    InMemoryTickStore,
)
from ghtrader.adapters.postgres import EmbeddedPostgres, open_postgres_stores
from ghtrader.adapters.table_names import TICKS_TABLE
from ghtrader.application.datasets.build import BuildDataset, BuildDatasetRequest
from ghtrader.application.manifests import compute_manifests
from ghtrader.application.ports.datasets import DATASET_TABLES
from ghtrader.application.ports.stores import TickBatch
from ghtrader.domain.calendar import TradingCalendar
from ghtrader.domain.market_sim import SyntheticMarket, SyntheticMarketConfig
from ghtrader.domain.ticks import row_hash


class _Clock:
    def now_ns(self) -> int:
        return time.time_ns()

    def monotonic_s(self) -> float:
        return time.monotonic()


def _store_days(
    ticks: Any, index: Any, symbol: str, days: list[date], market: SyntheticMarket, cal: TradingCalendar
) -> int:
    n = 0
    for day in days:
        t = market.ticks(symbol, day)
        if t.shape[0] == 0:
            continue
        tdays = cal.trading_days_of(t["datetime_ns"])
        hashes = row_hash(t)
        ticks.write_ticks(TickBatch(symbol, "raw", t, tdays, hashes))
        index.upsert_manifests(compute_manifests(symbol, "raw", tdays, hashes, t, time.time_ns()))
        n += int(t.shape[0])
    return n


def _table_bytes(conn: Any, table: str) -> int:
    """Bytes of a table with its indexes and TOAST; of every partition for a partitioned one."""
    row = conn.execute(
        "SELECT greatest(coalesce(pg_total_relation_size(to_regclass(%(t)s)), 0), "
        "(SELECT coalesce(sum(pg_total_relation_size(relid)), 0) FROM pg_partition_tree(to_regclass(%(t)s))))",
        {"t": table},
    ).fetchone()
    return int(row[0] or 0)


def _wal_lsn(conn: Any) -> int:
    return int(conn.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn").fetchone()[0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", type=int, default=5)
    ap.add_argument("--symbol", default="SHFE.cu2404")
    ap.add_argument("--first-day", default="2024-02-19")
    args = ap.parse_args()

    cal = TradingCalendar([])
    market = SyntheticMarket(SyntheticMarketConfig(anchor_date=date(2024, 1, 2)), cal)
    days = cal.trading_days(date.fromisoformat(args.first_day), date(2030, 1, 1))[: args.days]
    request = BuildDatasetRequest(args.symbol, ticks_lake="raw", cross_asset=False)
    clock = _Clock()

    # compute only: the same build against the in-memory stores
    mt, mi, md = InMemoryTickStore(), InMemoryIndexStore(), InMemoryDatasetStore()
    n = _store_days(mt, mi, args.symbol, days, market, cal)
    BuildDataset(ticks=mt, index=mi, datasets=md, clock=clock)(request)  # warm the numba caches
    t0 = time.perf_counter()
    BuildDataset(ticks=mt, index=mi, datasets=md, clock=clock)(replace(request, overwrite=True))
    compute_s = time.perf_counter() - t0
    print(f"{n:,} ticks of {args.symbol} over {len(days)} days", flush=True)
    print(f"{'compute only (in-memory store)':<34} {compute_s:7.2f} s  {n / compute_s:>9,.0f} ticks/s", flush=True)
    del mt, mi, md

    tmp = Path(tempfile.mkdtemp(prefix="ghtrader-build-bench-"))
    server = EmbeddedPostgres(tmp / "data")
    try:
        _bench_postgres(server, args, days, market, cal, request, clock, n)
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def _bench_postgres(
    server: EmbeddedPostgres,
    args: argparse.Namespace,
    days: list[date],
    market: SyntheticMarket,
    cal: TradingCalendar,
    request: BuildDatasetRequest,
    clock: _Clock,
    n: int,
) -> None:
    url = server.start()
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    bundle, close = open_postgres_stores(url, schema=schema)
    pool = bundle.pool
    try:
        assert _store_days(bundle.ticks, bundle.index, args.symbol, days, market, cal) == n
        datasets = bundle.datasets
        build = BuildDataset(ticks=bundle.ticks, index=bundle.index, datasets=datasets, clock=clock)
        runs = [("fresh", request), *((f"overwrite #{i}", replace(request, overwrite=True)) for i in (1, 2))]
        for label, req in runs:
            with pool.connection() as conn:
                lsn = _wal_lsn(conn)
            t0 = time.perf_counter()
            result = build(req)
            dt = time.perf_counter() - t0
            with pool.connection() as conn:
                wal = _wal_lsn(conn) - lsn
                sizes = {k: _table_bytes(conn, t) for k, t in DATASET_TABLES.items()}
            assert all(k.rows_written == n for k in result.kinds.values()), result.kinds
            print(
                f"{'build ' + label:<34} {dt:7.2f} s  {n / dt:>9,.0f} ticks/s  WAL {wal / 2**20:8.1f} MiB  "
                + "  ".join(f"{k} {v / 2**20:.1f} MiB" for k, v in sizes.items()),
                flush=True,
            )
        with pool.connection() as conn:
            conn.execute("CHECKPOINT")
            print(f"\n{'table':<18} {'B/tick':>8} {'columns':>8} {'f4 payload':>11} {'f8 payload':>11}")
            total = 0.0
            for kind, table in DATASET_TABLES.items():
                cols = len(datasets.column_names(kind))
                per = _table_bytes(conn, table) / n
                total += per
                print(f"{kind:<18} {per:8.0f} {cols:>8} {cols * 4:>11} {cols * 8:>11}")
            print(f"{'derived, total':<18} {total:8.0f}")
            raw = _table_bytes(conn, TICKS_TABLE) / n
            print(f"{'raw ticks':<18} {raw:8.0f}")
    finally:
        with pool.connection() as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
        close()


if __name__ == "__main__":
    main()
