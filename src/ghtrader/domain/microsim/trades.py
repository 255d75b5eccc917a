"""Trades inferred from L5 snapshots, which carry no trade prints.

The vendor (TqSdk) sends a snapshot about twice a second with the trading day's cumulative
``volume`` (lots) and ``amount`` (currency). Between snapshots ``i - 1`` and ``i``:

* traded quantity ``q = volume[i] - volume[i - 1]``;
* average traded price ``vwap = (amount[i] - amount[i - 1]) / (q * multiplier)``;
* the aggressor side is unknown.

Limits of the inference, which every consumer inherits:

* Several trades at several prices collapse into one quantity and one average; the VWAP may fall
  between two ticks. :func:`split_vwap` then assumes the least dispersed split: all volume on the
  two ticks around the VWAP, in the proportions that reproduce it. Real trades may have spread
  wider (a sweep), so volume "at" a price is an estimate.
* The counters restart at the start of each trading day: the first snapshot of a day (and the
  first snapshot overall) yields no trade.
* A volume decrease inside a day is a data error (or a feed restart); it yields no trade, and
  neither does a non-positive amount change.
"""

from __future__ import annotations

import numpy as np

from ghtrader.domain.microsim._trade_kernels import infer_trades_kernel, split_vwap

__all__ = ["infer_trades", "split_vwap"]


def infer_trades(
    volume: np.ndarray,
    amount: np.ndarray,
    multiplier: float,
    day_start: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per snapshot, the quantity traded since the previous one and its average price.

    Args:
        volume, amount: the feed's cumulative counters, one value per snapshot.
        multiplier: contract multiplier (e.g. 5 for cu).
        day_start: optional bool mask marking each trading day's first snapshot.

    Returns:
        ``(qty, vwap)``: float arrays of the snapshots' length; ``qty`` 0 and ``vwap`` NaN where
        no trade is inferred.
    """
    v = np.ascontiguousarray(volume, dtype=np.float64)
    a = np.ascontiguousarray(amount, dtype=np.float64)
    if v.shape != a.shape or v.ndim != 1:
        raise ValueError(f"volume and amount must be 1-D of one length, got {v.shape} and {a.shape}")
    ds = np.zeros(v.shape[0], dtype=np.bool_) if day_start is None else np.ascontiguousarray(day_start, dtype=np.bool_)
    if ds.shape != v.shape:
        raise ValueError(f"day_start must have the snapshots' length {v.shape[0]}, got {ds.shape}")
    return infer_trades_kernel(v, a, ds, float(multiplier))
