"""main_l5: the 88-style continuous main series with real depth, spliced from raw contract days.

For each scheduled trading day the main_l5 rows are exactly the raw rows of that day's main
contract (the schedule's underlying): every L5 column and the same ``datetime_ns``, no smoothing
and no back-adjustment. Each row carries its provenance: ``underlying_contract``,
``segment_id`` and the ``schedule_hash`` of the schedule that chose it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np

from ghtrader.domain.errors import DomainError
from ghtrader.domain.schedule import MainSchedule
from ghtrader.domain.ticks import TICK_DTYPE, as_tick_array, is_sorted_by_time, ticks_to_columns

__all__ = ["MainL5Day", "MainL5Error", "MainL5Series", "main_l5_day", "splice_main_l5"]


class MainL5Error(DomainError):
    """A main_l5 request the schedule or the raw ticks cannot satisfy."""


@dataclass(frozen=True, slots=True)
class MainL5Day:
    """main_l5 rows of one trading day: a copy of the underlying's raw rows plus provenance."""

    trading_day: date
    underlying_contract: str
    segment_id: int
    schedule_hash: str
    ticks: np.ndarray

    def __len__(self) -> int:
        return int(self.ticks.shape[0])

    def provenance_columns(self) -> dict[str, np.ndarray]:
        """Per-row ``underlying_contract`` (object), ``segment_id`` (int64), ``trading_day``
        (datetime64[D]) and ``schedule_hash`` (object) arrays aligned with :attr:`ticks`."""
        n = len(self)
        return {
            "underlying_contract": np.full(n, self.underlying_contract, dtype=object),
            "segment_id": np.full(n, self.segment_id, dtype=np.int64),
            "trading_day": np.full(n, np.datetime64(self.trading_day, "D")),
            "schedule_hash": np.full(n, self.schedule_hash, dtype=object),
        }


@dataclass(frozen=True, slots=True)
class MainL5Series:
    """main_l5 rows of several days concatenated in day order, with per-row provenance.

    Attributes:
        ticks: TICK_DTYPE rows, day after day.
        trading_day: datetime64[D] per row.
        segment_id: int64 per row.
        underlying_contract: object array of symbols per row.
        schedule_hash: the schedule's hash (one value for every row).
        days: the trading days that contributed rows (ascending).
        missing_days: scheduled days requested but absent from the raw ticks given.
    """

    ticks: np.ndarray
    trading_day: np.ndarray
    segment_id: np.ndarray
    underlying_contract: np.ndarray
    schedule_hash: str
    days: tuple[date, ...]
    missing_days: tuple[date, ...]

    def __len__(self) -> int:
        return int(self.ticks.shape[0])

    def to_columns(self) -> dict[str, np.ndarray]:
        """Tick columns (schema order) plus ``trading_day``, ``underlying_contract``,
        ``segment_id`` and a per-row ``schedule_hash`` (object array)."""
        cols = ticks_to_columns(self.ticks)
        cols["trading_day"] = self.trading_day
        cols["underlying_contract"] = self.underlying_contract
        cols["segment_id"] = self.segment_id
        cols["schedule_hash"] = np.full(len(self), self.schedule_hash, dtype=object)
        return cols


def _day_rows(trading_day: date, underlying_ticks: np.ndarray, contract: str) -> np.ndarray:
    ticks = as_tick_array(underlying_ticks)
    if not is_sorted_by_time(ticks):
        raise MainL5Error(f"raw ticks of {contract} on {trading_day} are not sorted by datetime_ns: sort them first")
    return np.array(ticks, dtype=TICK_DTYPE, copy=True)


def main_l5_day(schedule: MainSchedule, trading_day: date, underlying_ticks: np.ndarray) -> MainL5Day:
    """main_l5 rows of ``trading_day`` from the raw ticks of the day's scheduled main contract.

    ``underlying_ticks`` must be that contract's raw rows of that trading day, sorted by time;
    they are copied unchanged.

    Raises:
        MainL5Error: the day is not in the schedule, or the ticks are not sorted.
        TickSchemaError: ``underlying_ticks`` is not a tick batch.
    """
    row = schedule.row_on(trading_day)
    if row is None:
        raise MainL5Error(f"{trading_day} is not in the {schedule.exchange}.{schedule.variety} main schedule")
    ticks = _day_rows(trading_day, underlying_ticks, row.main_contract)
    return MainL5Day(trading_day, row.main_contract, row.segment_id, schedule.schedule_hash, ticks)


def splice_main_l5(
    schedule: MainSchedule,
    day_ticks: Mapping[tuple[str, date], np.ndarray],
    *,
    days: Iterable[date] | None = None,
) -> MainL5Series:
    """Splice main_l5 over the scheduled ``days`` (default: every scheduled day).

    ``day_ticks`` maps ``(contract, trading_day)`` to that contract-day's raw ticks; only the
    entries of each day's scheduled main are read. A scheduled day without an entry is listed in
    ``missing_days`` and contributes no rows; an entry with zero rows contributes none either
    but is not missing.

    Raises:
        MainL5Error: a requested day is not in the schedule, or a day's ticks are unsorted.
    """
    wanted = schedule.days if days is None else tuple(sorted(set(days)))
    parts: list[np.ndarray] = []
    got: list[date] = []
    missing: list[date] = []
    contracts: list[str] = []
    segments: list[int] = []
    for day in wanted:
        row = schedule.row_on(day)
        if row is None:
            raise MainL5Error(f"{day} is not in the {schedule.exchange}.{schedule.variety} main schedule")
        raw = day_ticks.get((row.main_contract, day))
        if raw is None:
            missing.append(day)
            continue
        parts.append(_day_rows(day, raw, row.main_contract))
        got.append(day)
        contracts.append(row.main_contract)
        segments.append(row.segment_id)

    counts = np.array([p.shape[0] for p in parts], dtype=np.int64)
    ticks = np.concatenate(parts) if parts else np.empty(0, dtype=TICK_DTYPE)
    return MainL5Series(
        ticks=ticks,
        trading_day=np.repeat(np.array(got, dtype="datetime64[D]"), counts),
        segment_id=np.repeat(np.array(segments, dtype=np.int64), counts),
        underlying_contract=np.repeat(np.array(contracts, dtype=object), counts),
        schedule_hash=schedule.schedule_hash,
        days=tuple(got),
        missing_days=tuple(missing),
    )
