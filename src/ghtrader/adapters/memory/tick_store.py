"""``InMemoryTickStore``: the TickStore port held in NumPy arrays (tests, dry runs).

Same semantics as the database stores (proven by tests/contract): upsert by
``(symbol, ticks_lake, datetime_ns)`` with the later write winning, reads sorted by time,
copies in and out so callers can never alias stored data.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from ghtrader.application.errors import InvalidArgument
from ghtrader.application.ports.stores import (
    TICKS_LAKES,
    StoredTicks,
    TickBatch,
    market_columns,
)
from ghtrader.application.tick_batches import (
    last_write_wins_index,
    normalize_tick_batch,
)
from ghtrader.domain.ticks import TICK_DTYPE

__all__ = ["InMemoryTickStore"]


@dataclass(frozen=True)
class _Series:
    """All rows of one (symbol, lake), sorted by unique datetime_ns; provenance for main_l5."""

    ticks: np.ndarray
    trading_day: np.ndarray
    row_hash: np.ndarray
    underlying_contract: np.ndarray | None = None
    segment_id: np.ndarray | None = None
    schedule_hash: np.ndarray | None = None

    def take(self, index: np.ndarray) -> _Series:
        def pick(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[index]

        return _Series(
            self.ticks[index],
            self.trading_day[index],
            self.row_hash[index],
            pick(self.underlying_contract),
            pick(self.segment_id),
            pick(self.schedule_hash),
        )


def _concat(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    return None if a is None or b is None else np.concatenate([a, b])


def _check_lake(ticks_lake: str) -> None:
    if ticks_lake not in TICKS_LAKES:
        raise InvalidArgument(f"unknown ticks_lake {ticks_lake!r}: expected one of {TICKS_LAKES}")


class InMemoryTickStore:
    """TickStore in process memory. Thread-safe (one lock)."""

    def __init__(self) -> None:
        self._series: dict[tuple[str, str], _Series] = {}
        self._lock = threading.Lock()

    def write_ticks(self, batch: TickBatch) -> int:
        batch = normalize_tick_batch(batch)
        n = len(batch)
        if n == 0:
            return 0
        prov = batch.main_l5
        new = _Series(
            batch.ticks.copy(),
            batch.trading_day.copy(),
            batch.row_hash.copy(),
            None if prov is None else prov.underlying_contract.astype(object),
            None if prov is None else prov.segment_id.copy(),
            None if prov is None else np.full(n, prov.schedule_hash, dtype=object),
        )
        key = (batch.symbol, batch.ticks_lake)
        with self._lock:
            old = self._series.get(key)
            if old is not None:
                merged = _Series(
                    np.concatenate([old.ticks, new.ticks]),
                    np.concatenate([old.trading_day, new.trading_day]),
                    np.concatenate([old.row_hash, new.row_hash]),
                    _concat(old.underlying_contract, new.underlying_contract),
                    _concat(old.segment_id, new.segment_id),
                    _concat(old.schedule_hash, new.schedule_hash),
                )
                new = merged.take(last_write_wins_index(merged.ticks["datetime_ns"]))
            self._series[key] = new
        return n

    def read_ticks(self, symbol: str, ticks_lake: str, start_day: date, end_day: date) -> StoredTicks:
        _check_lake(ticks_lake)
        with self._lock:
            series = self._series.get((symbol, ticks_lake))
        if series is None:
            series = _Series(
                np.empty(0, dtype=TICK_DTYPE),
                np.empty(0, dtype="datetime64[D]"),
                np.empty(0, dtype=np.int64),
            )
        days = series.trading_day
        picked = series.take(
            np.flatnonzero((days >= np.datetime64(start_day, "D")) & (days <= np.datetime64(end_day, "D")))
        )
        main = ticks_lake == "main_l5"
        return StoredTicks(
            symbol=symbol,
            ticks_lake=ticks_lake,
            ticks=picked.ticks,
            trading_day=picked.trading_day,
            row_hash=picked.row_hash,
            underlying_contract=_or_empty(picked.underlying_contract, object) if main else None,
            segment_id=_or_empty(picked.segment_id, np.int64) if main else None,
            schedule_hash=_or_empty(picked.schedule_hash, object) if main else None,
        )

    def read_tick_columns(
        self, symbol: str, ticks_lake: str, start_day: date, end_day: date, columns: Sequence[str]
    ) -> dict[str, np.ndarray]:
        names = market_columns(columns)
        ticks = self.read_ticks(symbol, ticks_lake, start_day, end_day).ticks
        return {name: np.ascontiguousarray(ticks[name]) for name in ("datetime_ns", *names)}

    def tick_days(self, symbol: str, ticks_lake: str) -> list[date]:
        _check_lake(ticks_lake)
        with self._lock:
            series = self._series.get((symbol, ticks_lake))
        if series is None:
            return []
        return [d.item() for d in np.unique(series.trading_day)]

    def tick_symbols(self, ticks_lake: str) -> list[str]:
        _check_lake(ticks_lake)
        with self._lock:
            return sorted(sym for (sym, lake), s in self._series.items() if lake == ticks_lake and len(s.ticks))

    def delete_days(self, symbol: str, ticks_lake: str, days: Sequence[date]) -> None:
        _check_lake(ticks_lake)
        if not days:
            return
        drop = np.array([np.datetime64(d, "D") for d in days], dtype="datetime64[D]")
        key = (symbol, ticks_lake)
        with self._lock:
            series = self._series.get(key)
            if series is None:
                return
            kept = series.take(np.flatnonzero(~np.isin(series.trading_day, drop)))
            if len(kept.ticks):
                self._series[key] = kept
            else:
                del self._series[key]

    def end_of_day_open_interest(
        self, symbols: Sequence[str], ticks_lake: str, start_day: date, end_day: date
    ) -> dict[tuple[str, date], float]:
        _check_lake(ticks_lake)
        lo, hi = np.datetime64(start_day, "D"), np.datetime64(end_day, "D")
        out: dict[tuple[str, date], float] = {}
        for symbol in dict.fromkeys(symbols):
            with self._lock:
                series = self._series.get((symbol, ticks_lake))
            if series is None:
                continue
            rows = np.flatnonzero((series.trading_day >= lo) & (series.trading_day <= hi))
            if rows.shape[0] == 0:
                continue
            days = series.trading_day[rows]
            # Rows are sorted by time, so the last row of each day has the largest datetime_ns
            # even if a caller wrote trading days out of time order (grouped by a stable sort).
            order = np.argsort(days, kind="stable")
            days_sorted = days[order]
            last = np.flatnonzero(np.r_[days_sorted[1:] != days_sorted[:-1], True])
            oi = series.ticks["open_interest"][rows[order[last]]]
            for day, value in zip(days_sorted[last], oi, strict=True):
                out[(symbol, day.item())] = float(value)
        return out


def _or_empty(a: np.ndarray | None, dtype: type) -> np.ndarray:
    return np.empty(0, dtype=dtype) if a is None else a
