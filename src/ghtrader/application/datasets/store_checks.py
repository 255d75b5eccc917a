"""Checks shared by every DatasetStore and ScheduleStore adapter, so that all stores agree on
what a valid dataset write is and on how a stored schedule is read back."""

from __future__ import annotations

import re

import numpy as np

from ghtrader.application.errors import FailedPrecondition, InvalidArgument
from ghtrader.application.ports.datasets import (
    DATASET_DTYPES,
    DATASET_KINDS,
    DatasetRows,
)
from ghtrader.application.ports.stores import TICKS_LAKES
from ghtrader.domain.schedule import DEFAULT_SWITCH_RATIO, MainSchedule, ScheduleRow

__all__ = ["KEY_COLUMNS", "check_column_name", "check_dataset_rows", "check_kind", "rebuild_schedule"]

#: Key columns of every wide table (``deleted``: the soft-delete flag of backends without
#: DELETE); no float column may take one of these names.
KEY_COLUMNS: tuple[str, ...] = (
    "symbol",
    "ticks_lake",
    "trading_day",
    "datetime_ns",
    "ts",
    "underlying_contract",
    "segment_id",
    "build_id",
    "lake_version",
    "deleted",
)
_COLUMN_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def check_kind(kind: str) -> str:
    if kind not in DATASET_KINDS:
        raise InvalidArgument(f"unknown dataset kind {kind!r}: expected one of {DATASET_KINDS}")
    return kind


def check_column_name(name: str) -> str:
    if not isinstance(name, str) or not _COLUMN_RE.match(name) or name in KEY_COLUMNS:
        raise InvalidArgument(
            f"invalid dataset column {name!r}: lowercase letters, digits and '_' (max 63), not a key column"
        )
    return name


def check_dataset_rows(kind: str, build_id: str, rows: DatasetRows) -> DatasetRows:
    """A validated copy of ``rows``: int64 times strictly ascending, datetime64[D] days, float64
    columns holding the values rounded to the kind's ``DATASET_DTYPES`` (what every store keeps), str
    contracts (object) and int64 segments, all aligned. Raises InvalidArgument."""
    check_kind(kind)
    if not build_id or not isinstance(build_id, str):
        raise InvalidArgument("a dataset write needs a build_id")
    if not rows.symbol:
        raise InvalidArgument("dataset rows without a symbol")
    if rows.ticks_lake not in TICKS_LAKES:
        raise InvalidArgument(f"unknown ticks_lake {rows.ticks_lake!r}: expected one of {TICKS_LAKES}")
    dt = np.asarray(rows.datetime_ns)
    if dt.dtype.kind not in "iu" or dt.ndim != 1:
        raise InvalidArgument(f"datetime_ns must be a 1-D int64 array, got {dt.dtype} {dt.shape}")
    dt = dt.astype(np.int64, copy=False)
    n = dt.shape[0]
    if n > 1 and not bool(np.all(dt[1:] > dt[:-1])):
        raise InvalidArgument("datetime_ns must be strictly ascending (one row per tick)")
    try:
        days = np.asarray(rows.trading_day).astype("datetime64[D]")
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(f"trading_day is not convertible to datetime64[D]: {exc}") from exc
    if days.shape != (n,) or np.isnat(days).any():
        raise InvalidArgument(f"trading_day must align with datetime_ns ({n},) and hold no NaT")
    columns: dict[str, np.ndarray] = {}
    dtype = DATASET_DTYPES[kind]
    for name, values in rows.columns.items():
        check_column_name(name)
        col = np.asarray(values)
        if col.shape != (n,) or col.dtype.kind not in "fiub":
            raise InvalidArgument(f"column {name!r} must be numeric with shape ({n},), got {col.dtype} {col.shape}")
        columns[name] = col.astype(dtype).astype(np.float64, copy=False)
    contracts = None
    if rows.underlying_contract is not None:
        contracts = np.asarray(rows.underlying_contract, dtype=object)
        if contracts.shape != (n,) or (n and not all(isinstance(c, str) and c for c in set(contracts.tolist()))):
            raise InvalidArgument(f"underlying_contract must be ({n},) non-empty strings")
    segments = None
    if rows.segment_id is not None:
        segments = np.asarray(rows.segment_id)
        if segments.shape != (n,) or segments.dtype.kind not in "iu":
            raise InvalidArgument(f"segment_id must be ({n},) ints, got {segments.dtype} {segments.shape}")
        segments = segments.astype(np.int64, copy=False)
        if n and int(segments.min()) < 0:
            raise InvalidArgument("segment_id must be >= 0")
    return DatasetRows(rows.symbol, rows.ticks_lake, days, dt, columns, contracts, segments)


def rebuild_schedule(
    exchange: str,
    variety: str,
    rows: list[ScheduleRow],
    stored_hash: str,
    switch_ratio: float | None,
    stored_ratio: float | None = None,
) -> MainSchedule:
    """The schedule of stored rows, checked against the stored hash (FailedPrecondition).

    ``switch_ratio`` None takes ``stored_ratio`` (the ratio saved with the rows; None for rows
    saved before the table kept it: the default ratio)."""
    if switch_ratio is None:
        switch_ratio = DEFAULT_SWITCH_RATIO if stored_ratio is None else float(stored_ratio)
    schedule = MainSchedule.from_rows(rows, exchange=exchange, variety=variety, switch_ratio=switch_ratio)
    if schedule.schedule_hash != stored_hash:
        built = "another ratio" if stored_ratio is None else f"switch_ratio={stored_ratio}"
        raise FailedPrecondition(
            f"the stored {exchange}.{variety} schedule {stored_hash[:12]} does not match its rows with "
            f"switch_ratio={switch_ratio}: it was built with {built}; pass that ratio (or none), or run "
            "main-schedule again"
        )
    return schedule
