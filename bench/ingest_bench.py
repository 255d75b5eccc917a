"""Ingest and read-back throughput of the tick stores, side by side in one run.

Writes N synthetic L5 ticks (default 5,000,000) as one ``write_ticks`` call per symbol-day
(~60k rows, how ingest writes them) into:
  - the embedded PostgreSQL store (``PostgresTickStore``: binary COPY + upsert),
  - QuestDB when reachable (``QuestDBTickStore``: ILP over HTTP + WAL-visibility wait),
  - the plainest client loop: psycopg ``executemany`` of one ``INSERT`` per row into a plain
    keyed table on the same servers, on a subset (too slow for millions), extrapolated;
then reads every symbol's whole range back into NumPy (``read_ticks``) and checks that the
rows read are the rows written. Prints a markdown table and the command line.

Run:  .venv/bin/python bench/ingest_bench.py [--rows 5000000] [--skip-postgres] [--skip-questdb]
QuestDB is found through GHTRADER_QUESTDB_HOST / _HTTP_PORT / _PG_PORT / _USER / _PASSWORD /
_DATABASE (defaults 127.0.0.1, 9000, 8812, admin, quest, qdb). Benchmark tables are prefixed
and dropped afterwards; the embedded PostgreSQL lives in a temporary folder, removed at the end.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import psycopg

from ghtrader.application.ports.stores import StoreBundle, TickBatch
from ghtrader.domain.ticks import MARKET_FIELDS, TICK_DTYPE, row_hash

_NS_PER_S = 1_000_000_000
_NS_PER_DAY = 86_400 * _NS_PER_S
# (symbol, base price, price tick, multiplier, base open interest)
_CONTRACTS = (
    ("SHFE.cu2602", 75_000.0, 10.0, 5.0, 120_000.0),
    ("SHFE.cu2603", 75_200.0, 10.0, 5.0, 90_000.0),
    ("SHFE.au2606", 600.0, 0.02, 1000.0, 210_000.0),
    ("SHFE.au2612", 606.0, 0.02, 1000.0, 30_000.0),
    ("SHFE.ag2606", 7_500.0, 1.0, 15.0, 450_000.0),
    ("SHFE.ag2612", 7_560.0, 1.0, 15.0, 60_000.0),
)
# Sessions in UTC: night 21:00-01:00 Beijing on the previous weekday, day 09:00-15:00 Beijing.
_NIGHT_S = (13 * 3600, 17 * 3600)
_DAY_S = (1 * 3600, 7 * 3600)
_SLOT_NS = 500_000_000  # SHFE sends about two snapshots a second


# --- synthetic ticks --------------------------------------------------------------------------
def _weekdays(start: date, count: int) -> list[date]:
    out, d = [], start
    while len(out) < count:
        if d.weekday() < 5:
            out.append(d)
        d += timedelta(days=1)
    return out


def _epoch_ns(d: date) -> int:
    return (d - date(1970, 1, 1)).days * _NS_PER_DAY


def synth_day(
    rng: np.random.Generator, contract: tuple[str, float, float, float, float], day: date, prev: date, n: int
) -> np.ndarray:
    """``n`` L5 ticks of one contract on trading day ``day`` (night session on ``prev``), sorted."""
    _, base, tick, mult, oi0 = contract
    night = np.arange(_NIGHT_S[0], _NIGHT_S[1], _SLOT_NS / _NS_PER_S)
    dayt = np.arange(_DAY_S[0], _DAY_S[1], _SLOT_NS / _NS_PER_S)
    slot_ns = np.concatenate([
        _epoch_ns(prev) + (night * _NS_PER_S).astype(np.int64),
        _epoch_ns(day) + (dayt * _NS_PER_S).astype(np.int64),
    ])  # fmt: skip
    n = min(n, slot_ns.shape[0])
    pick = np.sort(rng.choice(slot_ns.shape[0], n, replace=False))
    dt = slot_ns[pick] + rng.integers(0, 500, n) * 1_000_000  # ms exchange times
    out = np.empty(n, dtype=TICK_DTYPE)
    out["datetime_ns"] = dt
    steps = rng.choice(np.array([-1, 0, 0, 0, 1]), n)
    last = base + np.cumsum(steps) * tick
    out["last_price"] = np.round(last / tick) * tick
    dvol = rng.poisson(4, n).astype(np.float64)
    volume = np.cumsum(dvol)
    amount = np.cumsum(dvol * out["last_price"] * mult)
    out["volume"] = volume
    out["amount"] = amount
    with np.errstate(invalid="ignore", divide="ignore"):
        out["average"] = np.where(volume > 0, amount / (volume * mult), out["last_price"])
    out["highest"] = np.maximum.accumulate(out["last_price"])
    out["lowest"] = np.minimum.accumulate(out["last_price"])
    out["open_interest"] = oi0 + np.cumsum(rng.integers(-3, 4, n))
    bid1 = out["last_price"] - tick * rng.integers(0, 2, n)
    for level in range(1, 6):
        out[f"bid_price{level}"] = bid1 - (level - 1) * tick
        out[f"ask_price{level}"] = bid1 + level * tick
        out[f"bid_volume{level}"] = rng.integers(1, 300, n)
        out[f"ask_volume{level}"] = rng.integers(1, 300, n)
    thin = rng.random(n) < 0.01  # an emptied deep level now and then: price NaN, volume 0
    out["bid_price5"][thin] = np.nan
    out["bid_volume5"][thin] = 0.0
    return out


def synth_batches(rows: int, ticks_per_day: int, seed: int) -> list[TickBatch]:
    """Symbol-day batches totalling ``rows`` ticks, cycling over the contracts day by day."""
    rng = np.random.default_rng(seed)
    n_batches = -(-rows // ticks_per_day)
    days = _weekdays(date(2025, 1, 6), -(-n_batches // len(_CONTRACTS)) + 1)
    batches, left = [], rows
    for k in range(n_batches):
        contract = _CONTRACTS[k % len(_CONTRACTS)]
        i = 1 + k // len(_CONTRACTS)
        ticks = synth_day(rng, contract, days[i], days[i - 1], min(ticks_per_day, left))
        left -= ticks.shape[0]
        batches.append(
            TickBatch(
                symbol=contract[0],
                ticks_lake="raw",
                ticks=ticks,
                trading_day=np.full(ticks.shape[0], np.datetime64(days[i], "D")),
                row_hash=row_hash(ticks),
            )
        )
    return batches


# --- measurements -----------------------------------------------------------------------------
@dataclass
class Result:
    name: str
    rows: int
    write_s: float
    read_s: float | None = None
    read_rows: int | None = None
    measured_rows: int | None = None  # set when the rate comes from a subset

    @property
    def write_rate(self) -> float:
        return (self.measured_rows or self.rows) / self.write_s

    @property
    def read_rate(self) -> float | None:
        return None if self.read_s is None or not self.read_rows else self.read_rows / self.read_s


def _ranges(batches: list[TickBatch]) -> dict[str, tuple[date, date]]:
    out: dict[str, tuple[date, date]] = {}
    for b in batches:
        d = b.trading_day[0].astype(date)
        lo, hi = out.get(b.symbol, (d, d))
        out[b.symbol] = (min(lo, d), max(hi, d))
    return out


def bench_store(name: str, bundle: StoreBundle, batches: list[TickBatch], log: Callable[[str], None]) -> Result:
    """Write every batch with ``write_ticks``, then read each symbol's range back; verify."""
    rows = sum(len(b) for b in batches)
    t0 = time.perf_counter()
    for i, b in enumerate(batches):
        bundle.ticks.write_ticks(b)
        if (i + 1) % 20 == 0:
            log(f"  {name}: {i + 1}/{len(batches)} batches, {time.perf_counter() - t0:.1f}s")
    write_s = time.perf_counter() - t0
    read_rows, hash_sum = 0, np.int64(0)
    t0 = time.perf_counter()
    for symbol, (lo, hi) in _ranges(batches).items():
        st = bundle.ticks.read_ticks(symbol, "raw", lo, hi)
        read_rows += len(st)
        with np.errstate(over="ignore"):
            hash_sum += st.row_hash.sum(dtype=np.int64)
    read_s = time.perf_counter() - t0
    with np.errstate(over="ignore"):
        want = np.int64(0)
        for b in batches:
            want += b.row_hash.sum(dtype=np.int64)
    if read_rows != rows or hash_sum != want:
        raise SystemExit(f"{name}: read back {read_rows} rows (hash sum {hash_sum}), wrote {rows} (hash sum {want})")
    return Result(name, rows, write_s, read_s, read_rows)


def _plain_rows(batches: list[TickBatch], limit: int) -> Iterator[tuple]:
    """The subset as Python row tuples, what a naive client builds."""
    sent = 0
    for b in batches:
        for tick, day, h in zip(
            b.ticks.tolist(), b.trading_day.astype(date).tolist(), b.row_hash.tolist(), strict=True
        ):
            if sent >= limit:
                return
            ts = datetime(1970, 1, 1) + timedelta(microseconds=tick[0] // 1000)
            yield (b.symbol, b.ticks_lake, day, tick[0], ts, *tick[1:], h)
            sent += 1


_PLAIN_COLS = ["symbol", "ticks_lake", "trading_day", "datetime_ns", "ts", *MARKET_FIELDS, "row_hash"]
_PLAIN_INSERT = "INSERT INTO {table} ({cols}) VALUES ({marks})".format(
    table="{table}", cols=", ".join(_PLAIN_COLS), marks=", ".join(["%s"] * len(_PLAIN_COLS))
)


def bench_plain(
    name: str,
    conn: psycopg.Connection,
    table: str,
    batches: list[TickBatch],
    limit: int,
    total: int,
    cursor_factory: Callable[[psycopg.Connection], psycopg.Cursor],
) -> Result:
    """executemany of one INSERT per row (autocommit off for PostgreSQL: one transaction)."""
    rows = list(_plain_rows(batches, limit))
    t0 = time.perf_counter()
    cur = cursor_factory(conn)
    cur.executemany(_PLAIN_INSERT.format(table=table), rows)
    if not conn.autocommit:
        conn.commit()
    write_s = time.perf_counter() - t0
    return Result(name, total, write_s * total / len(rows), measured_rows=total)


# --- backends ---------------------------------------------------------------------------------
def _questdb_params() -> object:
    from ghtrader.adapters.questdb import QuestDBParams

    env = os.environ.get
    return QuestDBParams(
        host=env("GHTRADER_QUESTDB_HOST", "127.0.0.1"),
        http_port=int(env("GHTRADER_QUESTDB_HTTP_PORT", "9000")),
        pg_port=int(env("GHTRADER_QUESTDB_PG_PORT", "8812")),
        user=env("GHTRADER_QUESTDB_USER", "admin"),
        password=env("GHTRADER_QUESTDB_PASSWORD", "quest"),
        database=env("GHTRADER_QUESTDB_DATABASE", "qdb"),
        table_prefix=f"bench{os.getpid()}_",
    )


def run_questdb(batches: list[TickBatch], plain_rows: int, log: Callable[[str], None]) -> list[Result]:
    from ghtrader.adapters.questdb import QuestDBStoreProbe, open_questdb_stores

    params = _questdb_params()
    health = QuestDBStoreProbe(params).health()
    if not health.reachable:
        log(f"QuestDB skipped: {health.detail}")
        return []
    log(f"QuestDB: {health.detail}")
    bundle, close = open_questdb_stores(params)
    results = []
    try:
        results.append(
            bench_store("QuestDB: QuestDBTickStore (ILP/HTTP, one flush per batch, WAL wait)", bundle, batches, log)
        )
        table = f"{params.table_prefix}plain_ticks"
        cols = ", ".join(
            ["ts TIMESTAMP", "symbol SYMBOL", "ticks_lake SYMBOL", "trading_day DATE", "datetime_ns LONG",
             *(f"{m} DOUBLE" for m in MARKET_FIELDS), "row_hash LONG"]
        )  # fmt: skip
        with psycopg.connect(
            host=params.host,
            port=params.pg_port,
            user=params.user,
            password=params.password,
            dbname=params.database,
            autocommit=True,
        ) as conn:
            conn.execute(
                f"CREATE TABLE {table} ({cols}) TIMESTAMP(ts) PARTITION BY DAY WAL "
                "DEDUP UPSERT KEYS(ts, symbol, ticks_lake, datetime_ns)"
            )
            try:
                total = sum(len(b) for b in batches)
                results.append(bench_plain(
                    f"QuestDB PG wire: plain executemany INSERT per row ({min(plain_rows, total):,}-row subset, extrapolated)",
                    conn, table, batches, plain_rows, total, psycopg.ClientCursor,
                ))  # fmt: skip
            finally:
                conn.execute(f"DROP TABLE IF EXISTS {table}")
    finally:
        bundle.schema.drop_tables()
        close()
    return results


def run_postgres(
    batches: list[TickBatch], plain_rows: int, url: str | None, log: Callable[[str], None]
) -> list[Result]:
    from ghtrader.adapters.postgres import EmbeddedPostgres, open_postgres_stores

    tmp = Path(tempfile.mkdtemp(prefix="ghtrader-bench-pg-"))
    embedded = None if url else EmbeddedPostgres(tmp / "pg", port=55_433)
    results = []
    bundle, close = open_postgres_stores(url, tmp / "pg", schema="ghtrader_bench", embedded=embedded)
    try:
        where = "external server" if url else "embedded server"
        results.append(
            bench_store(f"PostgreSQL ({where}): PostgresTickStore (binary COPY + upsert)", bundle, batches, log)
        )
        server_url = str(bundle.url)
        with psycopg.connect(server_url, options="-c search_path=ghtrader_bench") as conn:
            cols = ", ".join(
                ["symbol text", "ticks_lake text", "trading_day date", "datetime_ns bigint", "ts timestamptz",
                 *(f"{m} double precision" for m in MARKET_FIELDS), "row_hash bigint",
                 "PRIMARY KEY (symbol, ticks_lake, datetime_ns)"]
            )  # fmt: skip
            conn.execute(f"CREATE TABLE plain_ticks ({cols})")
            conn.commit()
            total = sum(len(b) for b in batches)
            results.append(bench_plain(
                f"PostgreSQL: plain executemany INSERT per row ({min(plain_rows, total):,}-row subset, extrapolated)",
                conn, "plain_ticks", batches, plain_rows, total, lambda c: c.cursor(),
            ))  # fmt: skip
            conn.execute("DROP SCHEMA ghtrader_bench CASCADE")
            conn.commit()
    finally:
        close()
        shutil.rmtree(tmp, ignore_errors=True)
    return results


# --- report -----------------------------------------------------------------------------------
def _fmt_rate(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:,.0f}"


def report(results: list[Result], argv: list[str], gen_s: float, rows: int, n_batches: int) -> str:
    plain = {r.name.split(":")[0].split(" ")[0]: r for r in results if "plain" in r.name}
    lines = [
        f"Command: `{shlex.join([Path(sys.executable).name, *argv])}`",
        (
            f"Machine: {platform.platform()}, {os.cpu_count()} CPUs; {rows:,} rows in {n_batches} symbol-day "
            f"batches (generated in {gen_s:.1f}s, not counted)"
        ),
        "",
        "| path | rows | write s | write rows/s | write vs plain loop | read s | read rows/s |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        base = plain.get(r.name.split(":")[0].split(" ")[0])
        ratio = "1.0x" if r is base else (f"{r.write_rate / base.write_rate:,.1f}x" if base else "-")
        read_s = "-" if r.read_s is None else f"{r.read_s:.1f}"
        lines.append(
            f"| {r.name} | {r.rows:,} | {r.write_s:.1f}{' (est.)' if r.measured_rows else ''} | "
            f"{_fmt_rate(r.write_rate)} | {ratio} | {read_s} | {_fmt_rate(r.read_rate)} |"
        )
    stores = {r.name.split(":")[0].split(" ")[0]: r for r in results if r.read_s is not None}
    if "QuestDB" in stores and "PostgreSQL" in stores:
        q, p = stores["QuestDB"], stores["PostgreSQL"]
        read_ratio = (q.read_rate or 0.0) / (p.read_rate or 1.0)
        lines += [
            "",
            (
                f"QuestDB / PostgreSQL: write {q.write_rate / p.write_rate:.2f}x, read {read_ratio:.2f}x "
                "(rows/s ratio; > 1 means QuestDB is faster)."
            ),
        ]
    lines.append("Plain-loop rows are timed on the subset and extrapolated linearly to the full row count.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=5_000_000, help="synthetic ticks to write (default 5,000,000)")
    ap.add_argument("--ticks-per-day", type=int, default=60_000, help="rows per symbol-day batch (max ~72,000)")
    ap.add_argument(
        "--plain-rows", type=int, default=50_000, help="subset written by the plain INSERT loop (PostgreSQL)"
    )
    ap.add_argument(
        "--plain-rows-questdb",
        type=int,
        default=5_000,
        help="subset written by the plain INSERT loop into QuestDB (one WAL commit per row: slow)",
    )
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--skip-postgres", action="store_true")
    ap.add_argument("--skip-questdb", action="store_true")
    ap.add_argument("--postgres-url", default=None, help="use this server instead of an embedded one")
    args = ap.parse_args(argv)
    if args.rows < 1 or not 1 <= args.ticks_per_day <= 72_000 or min(args.plain_rows, args.plain_rows_questdb) < 1:
        ap.error("--rows and --plain-rows* must be >= 1, --ticks-per-day in 1..72000")

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    t0 = time.perf_counter()
    batches = synth_batches(args.rows, args.ticks_per_day, args.seed)
    gen_s = time.perf_counter() - t0
    log(f"generated {args.rows:,} ticks in {len(batches)} batches in {gen_s:.1f}s")
    results: list[Result] = []
    if not args.skip_postgres:
        results += run_postgres(batches, args.plain_rows, args.postgres_url, log)
    if not args.skip_questdb:
        results += run_questdb(batches, args.plain_rows_questdb, log)
    print(report(results, ["bench/ingest_bench.py", *argv], gen_s, args.rows, len(batches)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
