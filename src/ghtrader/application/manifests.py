"""Day manifests: what a store holds for one (symbol, trading_day, lake), computed from rows.

Pure and vectorised: one stable sort by trading day, then per-day reductions with
``np.*.reduceat``. Sums are int64 with two's-complement wrap-around (``abs(INT64_MIN)`` stays
``INT64_MIN``), exactly as :class:`~ghtrader.application.ports.stores.DayManifest` specifies,
so a manifest computed here equals one computed by any store over the same rows.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from ghtrader.application.errors import InvalidArgument
from ghtrader.application.ports.stores import DayManifest
from ghtrader.application.tick_batches import last_write_wins_index
from ghtrader.domain.ticks import as_tick_array, l5_present_mask

__all__ = ["compute_manifests"]

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def compute_manifests(
    symbol: str,
    ticks_lake: str,
    trading_day: np.ndarray,
    row_hash: np.ndarray,
    ticks: np.ndarray,
    now_ns: int,
) -> list[DayManifest]:
    """One manifest per trading day present in the rows, sorted by day.

    ``trading_day`` (datetime64[D]), ``row_hash`` (int64) and ``ticks`` (TICK_DTYPE) are
    aligned. Rows repeating a ``datetime_ns`` count once, as the last of them (what a store
    keeps after writing them). ``l5_present`` is True when any row of the day has real depth
    (:func:`ghtrader.domain.ticks.l5_present_mask`). ``updated_at_ns`` is ``now_ns``.
    """
    ticks = as_tick_array(ticks)
    days = np.asarray(trading_day).astype("datetime64[D]")
    hashes = np.asarray(row_hash).astype(np.int64, copy=False)
    n = ticks.shape[0]
    if days.shape != (n,) or hashes.shape != (n,):
        raise InvalidArgument(f"trading_day {days.shape} and row_hash {hashes.shape} must align with ticks ({n},)")
    if n == 0:
        return []
    keep = last_write_wins_index(ticks["datetime_ns"])
    if keep.shape[0] != n:
        ticks, days, hashes = ticks[keep], days[keep], hashes[keep]

    order = np.argsort(days, kind="stable")
    day_sorted = days[order].astype(np.int64)
    starts = np.flatnonzero(np.r_[True, day_sorted[1:] != day_sorted[:-1]])
    counts = np.diff(np.r_[starts, day_sorted.shape[0]])

    dt = ticks["datetime_ns"][order]
    h = hashes[order]
    l5 = l5_present_mask(ticks)[order]
    with np.errstate(over="ignore"):
        sums = np.add.reduceat(h, starts)
        sums_abs = np.add.reduceat(np.abs(h), starts)  # abs(INT64_MIN) wraps to INT64_MIN, as specified
    firsts = np.minimum.reduceat(dt, starts)
    lasts = np.maximum.reduceat(dt, starts)
    mins = np.minimum.reduceat(h, starts)
    maxs = np.maximum.reduceat(h, starts)
    l5_any = np.logical_or.reduceat(l5, starts)

    return [
        DayManifest(
            symbol=symbol,
            trading_day=date.fromordinal(_EPOCH_ORDINAL + int(day_sorted[s])),
            ticks_lake=ticks_lake,
            rows_total=int(c),
            first_datetime_ns=int(f),
            last_datetime_ns=int(la),
            l5_present=bool(l5v),
            row_hash_min=int(mn),
            row_hash_max=int(mx),
            row_hash_sum=int(sm),
            row_hash_sum_abs=int(sa),
            updated_at_ns=int(now_ns),
        )
        for s, c, f, la, l5v, mn, mx, sm, sa in zip(
            starts, counts, firsts, lasts, l5_any, mins, maxs, sums, sums_abs, strict=True
        )
    ]
