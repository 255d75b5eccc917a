"""Direction labels: the sign of the forward mid-price move over a tick horizon.

Definition, per tick ``t`` and horizon ``h`` (in ticks, i.e. rows):

- ``mid = (bid1 + ask1) / 2``; NaN when either price is NaN or not > 0 (an empty level).
- ``dmid_h{h}[t] = mid[t + h] - mid[t]``, NaN when ``t + h`` is past the last row, when a
  segment boundary lies in ``(t, t + h]`` (``segment_id`` changes), or either mid is NaN.
- ``dir_h{h}[t]``: 2.0 (UP) when ``dmid >= k * price_tick``, 0.0 (DOWN) when
  ``dmid <= -k * price_tick``, 1.0 (FLAT) otherwise, NaN where ``dmid`` is NaN. A move of
  exactly ``k`` ticks counts as UP/DOWN (``>=``); comparisons are made in ticks with a 1e-6
  tick tolerance so float rounding of prices like 450.04 - 450.02 does not turn a full tick
  into FLAT.

Labels look forward by design, but a label at ``t`` depends on no row after ``t + h``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ghtrader.domain.labels._inputs import as_codes, as_float_column, check_price_tick, run_end
from ghtrader.domain.labels._kernels import direction_class, direction_kernel
from ghtrader.domain.labels.config import check_horizons, check_k

__all__ = ["DOWN", "FLAT", "UP", "direction_label_names", "direction_labels", "mid_price", "move_label"]

DOWN = 0
FLAT = 1
UP = 2


def mid_price(bid1: np.ndarray, ask1: np.ndarray) -> np.ndarray:
    """``(bid1 + ask1) / 2``, NaN where either side is NaN or not > 0."""
    bid = as_float_column(bid1, "bid1")
    ask = as_float_column(ask1, "ask1", bid.shape[0])
    ok = (bid > 0) & (ask > 0)
    return np.where(ok, (bid + ask) / 2.0, np.nan)


def move_label(dmid: float, price_tick: float, k: float = 1.0) -> float:
    """Direction label (0/1/2 as float, NaN when ``dmid`` is NaN) of one forward mid move
    ``dmid``: the per-row rule of :func:`direction_labels`, for online callers that resolve one
    row at a time. Arguments are not validated here (hot path); validate them once upstream."""
    return float(direction_class(float(dmid), float(price_tick), float(k)))


def direction_label_names(horizons: Sequence[int]) -> tuple[str, ...]:
    """Column names :func:`direction_labels` returns, in its order."""
    hs = check_horizons(horizons)
    return tuple(f"dir_h{h}" for h in hs) + tuple(f"dmid_h{h}" for h in hs)


def direction_labels(
    bid1: np.ndarray,
    ask1: np.ndarray,
    segment_id: np.ndarray,
    horizons: Sequence[int],
    price_tick: float,
    k: float = 1.0,
) -> dict[str, np.ndarray]:
    """Direction labels ``dir_h{h}`` (0/1/2 as float, NaN undefined) and ``dmid_h{h}`` per horizon.

    Rows must be in time order; ``segment_id`` is an int per row (a change starts a new
    segment, e.g. a main-contract roll). See the module docstring for the exact definition.
    """
    mid = mid_price(bid1, ask1)
    n = mid.shape[0]
    seg = as_codes(segment_id, "segment_id", n)
    hs = check_horizons(horizons)
    tick = check_price_tick(price_tick)
    labels, dmid = direction_kernel(mid, run_end(seg), np.asarray(hs, dtype=np.int64), tick, check_k(k))
    out: dict[str, np.ndarray] = {}
    for a, h in enumerate(hs):
        out[f"dir_h{h}"] = labels[a]
    for a, h in enumerate(hs):
        out[f"dmid_h{h}"] = dmid[a]
    return out
