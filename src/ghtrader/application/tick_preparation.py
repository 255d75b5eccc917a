"""Turning a provider's tick batch into rows fit to store: sanity, trading day, row hash.

Rows that fail a rule are never stored; they are counted per reason so a run report can say
what was dropped and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from ghtrader.application.errors import FailedPrecondition
from ghtrader.domain.calendar import TradingCalendar
from ghtrader.domain.errors import TickSchemaError
from ghtrader.domain.ticks import REASON_NAMES, as_tick_array, check_sanity, row_hash

REASON_WRONG_TRADING_DAY = "trading day of datetime_ns differs from the provider's day"
REASON_OUTSIDE_REQUEST = "provider day outside the requested range"
_WRONG_DAY_FLAG = 1 << 16  # beside the domain's REASON_* bits in ``rejected_flags``


@dataclass(frozen=True)
class PreparedTicks:
    """Accepted rows with their trading days and row hashes, plus what was rejected."""

    ticks: np.ndarray
    trading_day: np.ndarray  # datetime64[D]
    row_hash: np.ndarray  # int64
    rejected: dict[str, int] = field(default_factory=dict)
    rejected_total: int = 0
    rejected_index: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))  # input rows
    rejected_flags: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int32))  # their reasons

    def rejection_reason(self, k: int) -> str:
        """Why the ``k``-th rejected row (input row ``rejected_index[k]``) was dropped."""
        flags = int(self.rejected_flags[k])
        texts = [text for bit, text in REASON_NAMES.items() if flags & bit]
        if flags & _WRONG_DAY_FLAG:
            texts.append(REASON_WRONG_TRADING_DAY)
        return "; ".join(texts)

    def __len__(self) -> int:
        return int(self.ticks.shape[0])


def as_ticks(arr: np.ndarray, source: str) -> np.ndarray:
    """``arr`` as TICK_DTYPE, or FailedPrecondition naming the adapter that produced it."""
    try:
        return as_tick_array(arr)
    except TickSchemaError as exc:
        raise FailedPrecondition(f"{source} returned ticks that do not match the L5 schema: {exc}") from None


def prepare_ticks(
    arr: np.ndarray,
    calendar: TradingCalendar,
    *,
    expected_day: date | None = None,
    source: str = "provider",
) -> PreparedTicks:
    """Drop insane rows (``check_sanity``) and, when ``expected_day`` is given, rows whose
    trading day differs from it; compute trading days and row hashes of the rest."""
    arr = as_ticks(arr, source)
    if arr.shape[0] == 0:
        return PreparedTicks(arr, np.empty(0, dtype="datetime64[D]"), np.empty(0, dtype=np.int64))
    report = check_sanity(arr)
    rejected = report.counts()
    flags = report.reasons.astype(np.int32, copy=True)
    days = calendar.trading_days_of(arr["datetime_ns"])
    if expected_day is not None:
        wrong = days != np.datetime64(expected_day, "D")
        n_wrong = int(np.count_nonzero(wrong))
        if n_wrong:
            rejected[REASON_WRONG_TRADING_DAY] = n_wrong
            flags[wrong] |= _WRONG_DAY_FLAG
    keep = flags == 0
    n_rejected = int(arr.shape[0] - np.count_nonzero(keep))
    if not n_rejected:
        return PreparedTicks(arr, days, row_hash(arr), rejected, 0)
    bad = np.flatnonzero(~keep)
    arr, days = arr[keep], days[keep]
    return PreparedTicks(arr, days, row_hash(arr), rejected, n_rejected, bad, flags[bad])


def add_counts(into: dict[str, int], more: Mapping[str, int]) -> None:
    """Add per-reason counts in place."""
    for key, value in more.items():
        into[key] = into.get(key, 0) + int(value)
