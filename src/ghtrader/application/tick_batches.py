"""Checks and normalisation every TickStore applies to a :class:`TickBatch` before writing it.

Shared by all store adapters so they agree on what a batch means:
- ``ticks_lake`` is one of ``TICKS_LAKES``; ``main_l5`` batches carry their provenance and
  ``raw`` batches carry none.
- All arrays are aligned; ``ticks`` is converted to ``TICK_DTYPE``.
- Rows with the same ``datetime_ns`` collapse to the LAST one in the batch (the later write
  wins, as across writes), and the result is sorted by ``datetime_ns``.
"""

from __future__ import annotations

import numpy as np

from ghtrader.application.errors import InvalidArgument
from ghtrader.application.ports.stores import TICKS_LAKES, MainL5Provenance, TickBatch
from ghtrader.domain.errors import TickSchemaError
from ghtrader.domain.ticks import as_tick_array

__all__ = ["last_write_wins_index", "normalize_tick_batch"]


def last_write_wins_index(datetime_ns: np.ndarray) -> np.ndarray:
    """Indices of the last occurrence of each distinct ``datetime_ns``, in ascending time order."""
    dt = np.asarray(datetime_ns, dtype=np.int64)
    n = dt.shape[0]
    if n < 2 or bool(np.all(dt[1:] > dt[:-1])):
        return np.arange(n, dtype=np.int64)
    # np.unique returns the first occurrence: look at the reversed array to get the last one.
    _, first_in_reversed = np.unique(dt[::-1], return_index=True)
    return (n - 1 - first_in_reversed).astype(np.int64)


def normalize_tick_batch(batch: TickBatch) -> TickBatch:
    """``batch`` validated: TICK_DTYPE, unique sorted times, aligned arrays (they may share
    memory with the input: copy before keeping them).

    Raises :class:`InvalidArgument` with what is wrong (unknown lake, misaligned arrays,
    missing or unexpected main_l5 provenance, bad dtypes).
    """
    if batch.ticks_lake not in TICKS_LAKES:
        raise InvalidArgument(f"unknown ticks_lake {batch.ticks_lake!r}: expected one of {TICKS_LAKES}")
    if not batch.symbol:
        raise InvalidArgument("tick batch without a symbol")
    try:
        ticks = as_tick_array(batch.ticks)
    except TickSchemaError as exc:
        raise InvalidArgument(str(exc)) from exc
    n = ticks.shape[0]
    try:
        trading_day = np.asarray(batch.trading_day).astype("datetime64[D]")
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(f"trading_day is not convertible to datetime64[D]: {exc}") from exc
    row_hash = np.asarray(batch.row_hash)
    if row_hash.dtype.kind not in "iu":
        raise InvalidArgument(f"row_hash has dtype {row_hash.dtype}: expected int64")
    row_hash = row_hash.astype(np.int64, copy=False)
    for name, arr in (("trading_day", trading_day), ("row_hash", row_hash)):
        if arr.shape != (n,):
            raise InvalidArgument(f"{name} has shape {arr.shape}: expected ({n},) like ticks")
    if np.isnat(trading_day).any():
        raise InvalidArgument("trading_day holds NaT")

    prov = batch.main_l5
    if batch.ticks_lake == "main_l5" and prov is None:
        raise InvalidArgument("a main_l5 batch needs MainL5Provenance (underlying_contract, segment_id, schedule_hash)")
    if batch.ticks_lake != "main_l5" and prov is not None:
        raise InvalidArgument(f"a {batch.ticks_lake!r} batch cannot carry main_l5 provenance")

    dt = ticks["datetime_ns"]
    # Already strictly increasing (the usual case): no reordering copy of the whole batch.
    keep: np.ndarray | slice = slice(None) if bool(np.all(dt[1:] > dt[:-1])) else last_write_wins_index(dt)
    out_prov = None
    if prov is not None:
        contracts = np.asarray(prov.underlying_contract, dtype=object)
        segments = np.asarray(prov.segment_id)
        if contracts.shape != (n,) or segments.shape != (n,):
            raise InvalidArgument(f"main_l5 provenance arrays must have shape ({n},) like ticks")
        if segments.dtype.kind not in "iu":
            raise InvalidArgument(f"segment_id has dtype {segments.dtype}: expected int64")
        if not prov.schedule_hash:
            raise InvalidArgument("main_l5 provenance without a schedule_hash")
        if n and not all(isinstance(c, str) and c for c in set(contracts.tolist())):
            raise InvalidArgument("underlying_contract must be non-empty strings")
        out_prov = MainL5Provenance(
            underlying_contract=contracts[keep],
            segment_id=segments.astype(np.int64)[keep],
            schedule_hash=str(prov.schedule_hash),
        )
    return TickBatch(
        symbol=batch.symbol,
        ticks_lake=batch.ticks_lake,
        ticks=ticks[keep],
        trading_day=trading_day[keep],
        row_hash=row_hash[keep],
        main_l5=out_prov,
    )
