"""Walk-forward splits by trading day, with purge gaps against label leakage.

Rows are ticks of one series in time order (trading days non-decreasing). The ``D`` distinct
trading days are cut into ``K`` consecutive test blocks of ``test_days`` days at the end of
the range; fold ``k`` tests block ``k`` and trains on the days before it:

    [ train days ........ ][ valid days ][ test days ]
    [ train rows ][purge]  [ valid ][purge][ test rows ]

- ``expanding``: training starts at the first day; ``rolling``: it keeps a fixed length of
  ``train_days`` days (default: the first fold's training length).
- The validation block is the last ``valid_days`` days before the test block (carved out of
  what would otherwise be training data); ``valid_days=0`` gives no validation set.
- Purge: the last ``purge`` rows before the validation block are removed from training, and
  the last ``purge`` rows before the test block from validation (from training when there is
  no validation). ``purge = max(purge_ticks, max_label_horizon)``, so a label at row ``t``,
  which looks at rows up to ``t + h``, never sees a row of the next block: at least ``purge``
  rows lie strictly between any training row and any validation or test row.
- ``test_days=None`` sizes blocks as ``(D - valid_days) // (n_splits + 1)`` days (at least 1),
  so the first fold trains on about as many days as each fold tests.
- With too few days the plan has fewer than ``n_splits`` folds and a ``note`` saying why; a
  fold left with an empty part after purging is dropped (also noted). No fold at all raises.

The result is deterministic: the same inputs give the same index arrays.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Literal

import numpy as np

from ghtrader.domain.evaluation._checks import EvaluationError, check_positive_int

__all__ = ["Split", "WalkForwardConfig", "WalkForwardPlan", "walk_forward_splits"]

WindowMode = Literal["expanding", "rolling"]


@dataclass(frozen=True)
class WalkForwardConfig:
    """Shape of a walk-forward plan (see the module docstring)."""

    n_splits: int = 5
    mode: WindowMode = "expanding"
    test_days: int | None = None
    valid_days: int = 1
    train_days: int | None = None
    min_train_days: int = 1
    purge_ticks: int = 0

    def __post_init__(self) -> None:
        check_positive_int(self.n_splits, "n_splits")
        if self.mode not in ("expanding", "rolling"):
            raise EvaluationError(f"invalid mode {self.mode!r}: expected 'expanding' or 'rolling'")
        if self.test_days is not None:
            check_positive_int(self.test_days, "test_days")
        check_positive_int(self.valid_days, "valid_days", minimum=0)
        if self.train_days is not None:
            check_positive_int(self.train_days, "train_days")
            if self.mode != "rolling":
                raise EvaluationError("train_days applies to mode='rolling' only")
        check_positive_int(self.min_train_days, "min_train_days")
        check_positive_int(self.purge_ticks, "purge_ticks", minimum=0)


@dataclass(frozen=True)
class Split:
    """One fold: sorted int64 row positions and the (first, last) trading day of each part."""

    fold: int
    train_index: np.ndarray
    valid_index: np.ndarray
    test_index: np.ndarray
    train_days: tuple[date, date]
    valid_days: tuple[date, date] | None
    test_days: tuple[date, date]


@dataclass(frozen=True)
class WalkForwardPlan:
    """The folds, what they were built from, and a note when fewer folds than asked exist."""

    splits: tuple[Split, ...]
    config: WalkForwardConfig
    n_days: int
    test_days: int
    purge: int
    note: str | None = None

    def __len__(self) -> int:
        return len(self.splits)

    def __iter__(self) -> Iterator[Split]:
        return iter(self.splits)


def _days(trading_day: object) -> tuple[np.ndarray, np.ndarray]:
    """``(unique_days, row_start)``: sorted distinct days and the first row of each (+ n)."""
    arr = np.asarray(trading_day)
    if arr.ndim != 1 or arr.dtype.kind != "M":
        raise EvaluationError(
            f"invalid trading_day of dtype {arr.dtype} and shape {arr.shape}: expected a 1-d datetime64[D] array"
        )
    codes = arr.astype("datetime64[D]")
    if np.isnat(codes).any():
        raise EvaluationError("invalid trading_day: NaT present")
    if codes.shape[0] > 1 and (np.diff(codes.view(np.int64)) < 0).any():
        raise EvaluationError("invalid trading_day: rows must be in time order (trading days non-decreasing)")
    uniq = np.unique(codes)
    starts = np.searchsorted(codes, uniq, side="left").astype(np.int64)
    return uniq, np.append(starts, codes.shape[0])


def _span(days: np.ndarray, first: int, stop: int) -> tuple[date, date]:
    return days[first].astype(object), days[stop - 1].astype(object)


def walk_forward_splits(
    trading_day: np.ndarray, max_label_horizon: int, config: WalkForwardConfig = WalkForwardConfig()
) -> WalkForwardPlan:
    """Walk-forward folds over the rows of ``trading_day`` (``datetime64[D]``, time-ordered).

    ``max_label_horizon`` is the longest label horizon in ticks; the purge gap is never shorter.
    """
    horizon = check_positive_int(max_label_horizon, "max_label_horizon", minimum=0)
    purge = max(config.purge_ticks, horizon)
    days, row_start = _days(trading_day)
    n_days = int(days.shape[0])
    v = config.valid_days
    td = config.test_days if config.test_days is not None else max(1, (n_days - v) // (config.n_splits + 1))
    available = n_days - v - config.min_train_days
    k = min(config.n_splits, available // td) if available > 0 else 0
    if k <= 0:
        raise EvaluationError(
            f"cannot build a walk-forward split from {n_days} trading days: one fold needs "
            f"{config.min_train_days} training + {v} validation + {td} test days"
        )
    notes: list[str] = []
    if k < config.n_splits:
        notes.append(
            f"{k} splits instead of {config.n_splits}: {n_days} trading days hold only {k} test blocks of "
            f"{td} day(s) after at least {config.min_train_days} training and {v} validation day(s)"
        )
    first_train_len = n_days - k * td - v
    window = config.train_days if config.train_days is not None else first_train_len
    if config.mode == "rolling" and window < config.min_train_days:
        raise EvaluationError(f"train_days={window} is shorter than min_train_days={config.min_train_days}")

    splits: list[Split] = []
    for fold in range(k):
        test_start = n_days - (k - fold) * td
        train_stop = test_start - v
        train_first = 0 if config.mode == "expanding" else max(0, train_stop - window)
        r_train, r_valid, r_test = row_start[train_first], row_start[train_stop], row_start[test_start]
        r_end = row_start[test_start + td]
        if v > 0:
            train = np.arange(r_train, max(r_train, r_valid - purge), dtype=np.int64)
            valid = np.arange(r_valid, max(r_valid, r_test - purge), dtype=np.int64)
        else:
            train = np.arange(r_train, max(r_train, r_test - purge), dtype=np.int64)
            valid = np.zeros(0, dtype=np.int64)
        test = np.arange(r_test, r_end, dtype=np.int64)
        empty = [
            name
            for name, part, needed in (("train", train, True), ("valid", valid, v > 0), ("test", test, True))
            if needed and part.shape[0] == 0
        ]
        if empty:
            notes.append(f"fold {fold} dropped: {', '.join(empty)} empty after a purge of {purge} rows")
            continue
        splits.append(
            Split(
                fold=len(splits),
                train_index=train,
                valid_index=valid,
                test_index=test,
                train_days=_span(days, train_first, train_stop),
                valid_days=_span(days, train_stop, test_start) if v > 0 else None,
                test_days=_span(days, test_start, test_start + td),
            )
        )
    if not splits:
        raise EvaluationError(f"no usable walk-forward fold: {'; '.join(notes)}")
    return WalkForwardPlan(
        splits=tuple(splits),
        config=config,
        n_days=n_days,
        test_days=td,
        purge=purge,
        note="; ".join(notes) or None,
    )
