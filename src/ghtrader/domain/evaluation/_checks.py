"""Input checks shared by the evaluation modules: one error type, array coercion, run bounds."""

from __future__ import annotations

import math

import numpy as np

from ghtrader.domain.errors import DomainError

__all__ = ["EvaluationError"]


class EvaluationError(DomainError):
    """Evaluation inputs or parameters that cannot be used."""


def as_probs(probs: object, n: int | None = None) -> np.ndarray:
    """``(n, 3)`` float64 class probabilities (NaN allowed)."""
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 3:
        raise EvaluationError(f"invalid probs of shape {p.shape}: expected (n, 3) DOWN/FLAT/UP probabilities")
    if n is not None and p.shape[0] != n:
        raise EvaluationError(f"probs has {p.shape[0]} rows, expected {n}")
    return p


def as_vector(values: object, name: str, n: int | None = None, dtype: type = np.float64) -> np.ndarray:
    """A 1-d array of ``dtype`` with ``n`` elements when ``n`` is given."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise EvaluationError(f"invalid {name} of shape {arr.shape}: expected a 1-d array")
    if n is not None and arr.shape[0] != n:
        raise EvaluationError(f"{name} has {arr.shape[0]} elements, expected {n}")
    if dtype is np.float64:
        return arr.astype(np.float64, copy=False)
    return arr.astype(dtype, copy=False)


def as_day_codes(trading_day: object, n: int) -> np.ndarray:
    """Trading days (``datetime64[D]`` or integers such as 20240108) as int64 codes."""
    arr = np.asarray(trading_day)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise EvaluationError(f"invalid trading_day of shape {arr.shape}: expected ({n},)")
    if arr.dtype.kind == "M":
        return arr.astype("datetime64[D]").view(np.int64)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64, copy=False)
    raise EvaluationError(f"invalid trading_day dtype {arr.dtype}: expected datetime64[D] or integer day codes")


def check_positive_int(value: object, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < minimum:
        raise EvaluationError(f"invalid {name}={value!r}: expected an int >= {minimum}")
    return int(value)


def check_finite(value: object, name: str, minimum: float | None = None, positive: bool = False) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise EvaluationError(f"invalid {name}={value!r}: expected a number")
    v = float(value)
    if not math.isfinite(v):
        raise EvaluationError(f"invalid {name}={value!r}: expected a finite number")
    if positive and not v > 0:
        raise EvaluationError(f"invalid {name}={value!r}: expected a number > 0")
    if minimum is not None and v < minimum:
        raise EvaluationError(f"invalid {name}={value!r}: expected a number >= {minimum}")
    return v


def run_bounds(segment_id: np.ndarray, day_codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(run_start, run_end)`` per row: first and last index of the contiguous run of rows that
    share both segment id and trading day."""
    n = segment_id.shape[0]
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    change = np.empty(n, dtype=bool)
    change[0] = True
    change[1:] = (segment_id[1:] != segment_id[:-1]) | (day_codes[1:] != day_codes[:-1])
    starts = np.flatnonzero(change)
    ends = np.append(starts[1:] - 1, n - 1)
    run = np.cumsum(change) - 1
    return starts[run].astype(np.int64), ends[run].astype(np.int64)
