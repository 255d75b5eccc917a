"""Input conversion shared by the label modules (validation, run boundaries)."""

from __future__ import annotations

import math

import numpy as np

from ghtrader.domain.labels.config import LabelError


def as_float_column(values: object, name: str, n: int | None = None) -> np.ndarray:
    """A contiguous 1-D float64 copy-or-view of ``values`` (length ``n`` when given)."""
    arr = np.ascontiguousarray(np.asarray(values, dtype=np.float64))
    if arr.ndim != 1 or (n is not None and arr.shape[0] != n):
        expected = "1-D" if n is None else f"shape ({n},)"
        raise LabelError(f"invalid {name} with shape {arr.shape}: expected {expected}")
    return arr


def as_codes(values: object, name: str, n: int) -> np.ndarray:
    """int64 codes of a per-row key (ints, or dates as ``datetime64[D]`` / ``date`` objects)."""
    arr = np.asarray(values)
    if arr.dtype.kind == "M":
        arr = arr.astype("datetime64[D]")
        if np.isnat(arr).any():
            raise LabelError(f"invalid {name}: holds NaT")
        codes = arr.view(np.int64)
    elif arr.dtype.kind in "iu":
        codes = arr.astype(np.int64)
    elif arr.dtype.kind == "O":
        try:
            codes = arr.astype("datetime64[D]").view(np.int64)
        except (TypeError, ValueError):
            raise LabelError(f"invalid {name}: expected ints or dates") from None
    else:
        raise LabelError(f"invalid {name} with dtype {arr.dtype}: expected ints or dates")
    if codes.shape != (n,):
        raise LabelError(f"invalid {name} with shape {codes.shape}: expected ({n},)")
    return np.ascontiguousarray(codes)


def run_end(*keys: np.ndarray) -> np.ndarray:
    """For each row, the index of the last row of its run of equal keys (all keys equal)."""
    n = keys[0].shape[0]
    if n == 0:
        return np.empty(0, dtype=np.int64)
    change = np.zeros(n - 1, dtype=bool)
    for key in keys:
        change |= key[1:] != key[:-1]
    ends = np.append(np.flatnonzero(change), n - 1).astype(np.int64)
    return ends[np.searchsorted(ends, np.arange(n, dtype=np.int64))]


def check_price_tick(price_tick: object) -> float:
    """``price_tick`` as a positive finite float."""
    if isinstance(price_tick, bool) or not isinstance(price_tick, (int, float, np.floating, np.integer)):
        raise LabelError(f"invalid price_tick {price_tick!r}: expected a number > 0")
    tick = float(price_tick)
    if not (math.isfinite(tick) and tick > 0):
        raise LabelError(f"invalid price_tick {price_tick!r}: expected a finite number > 0")
    return tick
