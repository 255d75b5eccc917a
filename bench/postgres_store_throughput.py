"""Write / read throughput of the PostgreSQL tick store on synthetic L5 ticks.

    .venv/bin/python bench/postgres_store_throughput.py [--rows 1000000] [--url postgresql://...]

Without --url it starts a throwaway embedded server (default durability settings) in a temp
dir and deletes it afterwards. Prints rows/s for: a first write, an identical rewrite, a
rewrite with every row changed, and a full read.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np

from ghtrader.adapters.postgres import EmbeddedPostgres, open_postgres_stores
from ghtrader.application.ports.stores import TickBatch
from ghtrader.domain.ticks import MARKET_FIELDS, empty_ticks, row_hash


def synthetic_batch(n: int, rows_per_day: int = 50_000) -> TickBatch:
    rng = np.random.default_rng(0)
    ticks = empty_ticks(n)
    ticks["datetime_ns"] = 1_700_000_000_000_000_000 + np.arange(n, dtype=np.int64) * 500_000_000
    for name in MARKET_FIELDS:
        ticks[name] = np.round(rng.normal(70_000.0, 100.0, n), 1)
    days = (np.datetime64("2023-11-15") + np.arange(n) // rows_per_day).astype("datetime64[D]")
    return TickBatch("SHFE.cu2401", "raw", ticks, days, row_hash(ticks))


def timed(label: str, n: int, fn: Callable[[], object]) -> None:
    t0 = time.perf_counter()
    fn()
    dt = time.perf_counter() - t0
    print(f"{label:<28} {n:>10,} rows  {dt:7.2f} s  {n / dt:>12,.0f} rows/s", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--url", default=None)
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="ghtrader-pg-bench-"))
    server = None
    url = args.url
    if url is None:
        server = EmbeddedPostgres(tmp / "data")
        url = server.start()
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    bundle, close = open_postgres_stores(url, schema=schema)
    try:
        batch = synthetic_batch(args.rows)
        changed = TickBatch(batch.symbol, batch.ticks_lake, batch.ticks.copy(), batch.trading_day, batch.row_hash)
        changed.ticks["last_price"] += 1.0
        changed = TickBatch(changed.symbol, "raw", changed.ticks, changed.trading_day, row_hash(changed.ticks))
        first, last = batch.trading_day[0].item(), batch.trading_day[-1].item()
        assert isinstance(first, date) and isinstance(last, date)
        timed("write (new rows)", args.rows, lambda: bundle.ticks.write_ticks(batch))
        timed("rewrite (identical rows)", args.rows, lambda: bundle.ticks.write_ticks(batch))
        timed("rewrite (every row changed)", args.rows, lambda: bundle.ticks.write_ticks(changed))
        out: list[int] = []
        timed("read", args.rows, lambda: out.append(len(bundle.ticks.read_ticks(batch.symbol, "raw", first, last))))
        assert out == [args.rows]
    finally:
        with bundle.pool.connection() as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
        close()
        if server is not None:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
