"""Deterministic tick batches for the contract suite (no store involved)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import numpy as np

from ghtrader.application.ports.stores import MainL5Provenance, TickBatch
from ghtrader.domain.ticks import MARKET_FIELDS, empty_ticks, row_hash

BEIJING = timezone(timedelta(hours=8))
DAYS = [date(2024, 3, 4), date(2024, 3, 5), date(2024, 3, 6), date(2024, 3, 7), date(2024, 3, 8)]


def day_start_ns(day: date) -> int:
    """09:00:00 Beijing of ``day`` in epoch ns (a day-session tick time)."""
    return int(datetime(day.year, day.month, day.day, 9, tzinfo=BEIJING).timestamp()) * 1_000_000_000


def make_ticks(
    days: list[date], rows_per_day: int, *, seed: int = 0, l1_only: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """(ticks, trading_day) with every market field set, sub-ms time offsets, and some NaN depth.

    Rows with index % 7 == 3 lose levels 4-5 on the bid side (NaN price, 0 volume), as thin books do;
    ``l1_only`` leaves levels 2-5 NaN everywhere (a KQ.m@ series).
    """
    rng = np.random.default_rng(seed)
    n = len(days) * rows_per_day
    ticks = empty_ticks(n)
    k = np.arange(rows_per_day, dtype=np.int64)
    ticks["datetime_ns"] = np.concatenate([day_start_ns(d) + k * 500_000_000 + (k % 3) * 1_000 + 1 for d in days])
    trading_day = np.repeat(np.array(days, dtype="datetime64[D]"), rows_per_day)
    for name in MARKET_FIELDS:
        ticks[name] = np.round(rng.normal(70_000.0, 50.0, n), 1)
    ticks["volume"] = np.cumsum(rng.integers(0, 5, n)).astype(np.float64)
    thin = np.arange(n) % 7 == 3
    for lvl in (4, 5):
        ticks[f"bid_price{lvl}"][thin] = np.nan
        ticks[f"bid_volume{lvl}"][thin] = 0.0
    if l1_only:
        for lvl in (2, 3, 4, 5):
            for side in ("bid_price", "bid_volume", "ask_price", "ask_volume"):
                ticks[f"{side}{lvl}"] = np.nan
    return ticks, trading_day


def make_batch(
    symbol: str,
    days: list[date],
    rows_per_day: int = 20,
    *,
    lake: str = "raw",
    seed: int = 0,
    l1_only: bool = False,
    random_hashes: bool = False,
) -> TickBatch:
    """A batch of ``symbol``; ``lake='main_l5'`` adds provenance with a roll in the middle.

    ``random_hashes`` stands in random int64 for ``row_hash`` (stores treat it as opaque), which
    keeps big batches fast when ``NUMBA_DISABLE_JIT=1``.
    """
    ticks, trading_day = make_ticks(days, rows_per_day, seed=seed, l1_only=l1_only)
    prov = None
    if lake == "main_l5":
        n = ticks.shape[0]
        second = np.arange(n) >= n // 2
        prov = MainL5Provenance(
            underlying_contract=np.where(second, "SHFE.cu2405", "SHFE.cu2404").astype(object),
            segment_id=second.astype(np.int64) + 7,
            schedule_hash="sched-" + "ab" * 8,
        )
    if random_hashes:
        hashes = np.random.default_rng(seed).integers(-(2**63), 2**63 - 1, ticks.shape[0], dtype=np.int64)
    else:
        hashes = row_hash(ticks)
    return TickBatch(symbol, lake, ticks, trading_day, hashes, prov)


def assert_ticks_equal(actual: np.ndarray, expected: np.ndarray) -> None:
    """Field by field; NaN equals NaN."""
    assert actual.dtype == expected.dtype
    assert actual.shape == expected.shape
    for name in expected.dtype.names or ():
        np.testing.assert_array_equal(actual[name], expected[name], err_msg=name)
