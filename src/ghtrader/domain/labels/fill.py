"""Fill labels: would a passive limit order placed at tick ``t`` have filled, and how fast?

Model (all prices compared with a tolerance of 1e-6 price ticks). At every tick ``t`` four
hypothetical orders of negligible size are placed, seeing the snapshot of tick ``t``:

=============  =====================  ================================================
order          price ``P``            queue ahead ``Q`` at placement
=============  =====================  ================================================
buy_best       ``bid1[t]``            ``bid_volume1[t]``
buy_behind     ``bid1[t] - tick``     bid volume displayed at ``P`` on levels 1..5, else 0
sell_best      ``ask1[t]``            ``ask_volume1[t]``
sell_behind    ``ask1[t] + tick``     ask volume displayed at ``P`` on levels 1..5, else 0
=============  =====================  ================================================

No order is placed (every output NaN) when the side's best price is NaN or not > 0. The order
joins the back of the queue at ``P``; cancellations ahead of it are ignored (a conservative
queue). Then ticks ``i = t+1, t+2, ...`` are walked; with ``dvol[i]`` the volume traded since
tick ``i-1`` (see below), the order fills at the first ``i`` where:

1. the opposite best quote reaches ``P`` (buy: ``ask1[i] <= P``; sell: ``bid1[i] >= P``): a
   displayed ask at or below a resting bid means every bid at ``P`` has traded; or
2. the market trades through ``P`` (buy: ``dvol[i] > 0`` and ``last_price[i] < P``; sell:
   ``dvol[i] > 0`` and ``last_price[i] > P``); or
3. the volume traded at ``P`` since placement exceeds the queue ahead: the sum of ``dvol[j]``
   over ticks ``t < j <= i`` with ``dvol[j] > 0`` and ``last_price[j] == P`` is ``> Q`` (so
   with ``Q == 0`` the first trade at ``P`` fills).

A stale ``last_price`` (no volume since the previous tick) never fills. ``dvol[i]`` is
``volume[i] - volume[i-1]``, except on the first row of a trading day or of a segment, where
the day's cumulative ``volume[i]`` itself is used (the counter resets each trading day);
NaN or negative differences count as 0.

The walk stops at ``t + max(horizons)`` and at the last tick of ``t``'s segment (no fill across
a main-contract change); with ``expire_at_day_end`` (the default; SHFE orders are day orders)
also at the last tick of ``t``'s trading day.

Outputs per order (``{side}_{kind}`` = buy_best, buy_behind, sell_best, sell_behind), float64:

- ``queue_ahead_{side}_{kind}``: ``Q``.
- ``ttf_{side}_{kind}_ticks``: ticks from placement to fill ``s = i - t`` (>= 1); NaN when
  censored. ``ttf_{side}_{kind}_ns``: ``datetime_ns[i] - datetime_ns[t]``; NaN when censored.
- ``ttf_{side}_{kind}_censored``: 1.0 when not filled within the walk (max horizon reached, or
  cut short by the end of data, segment or day), 0.0 when filled.
- ``fill_{side}_{kind}_h{h}``: 1.0 when filled with ``s <= h``; 0.0 when not, and all ticks
  ``t+1 .. t+h`` were observable (within data, segment and day); NaN when the window was cut
  short before a fill (unknown).

A label at ``t`` depends on no row after ``t + max(horizons)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ghtrader.domain.labels import _kernels as k
from ghtrader.domain.labels._inputs import as_codes, as_float_column, check_price_tick, run_end
from ghtrader.domain.labels.config import DEFAULT_FILL_HORIZONS, check_horizons
from ghtrader.domain.ticks import (
    ASK_PRICE_FIELDS,
    ASK_VOLUME_FIELDS,
    BID_PRICE_FIELDS,
    BID_VOLUME_FIELDS,
    as_tick_array,
)

__all__ = ["FILL_ORDERS", "fill_label_names", "fill_labels", "traded_volume"]

#: Order names in kernel order (see ``_kernels.BUY_BEST`` ...).
FILL_ORDERS: tuple[str, ...] = ("buy_best", "buy_behind", "sell_best", "sell_behind")


def fill_label_names(horizons: Sequence[int] = DEFAULT_FILL_HORIZONS) -> tuple[str, ...]:
    """Column names :func:`fill_labels` returns, in its order."""
    hs = check_horizons(horizons)
    names: list[str] = []
    for order in FILL_ORDERS:
        names.extend(f"fill_{order}_h{h}" for h in hs)
        names.extend((f"ttf_{order}_ticks", f"ttf_{order}_ns", f"ttf_{order}_censored", f"queue_ahead_{order}"))
    return tuple(names)


def traded_volume(volume: np.ndarray, *reset_keys: np.ndarray) -> np.ndarray:
    """Per-tick traded volume from a cumulative ``volume`` that restarts when a key changes.

    ``dvol[i] = volume[i] - volume[i-1]``; on row 0 and wherever any of ``reset_keys`` differs
    from the previous row, ``dvol[i] = volume[i]``. NaN and negative results become 0.
    """
    vol = as_float_column(volume, "volume")
    n = vol.shape[0]
    dvol = vol.copy()
    if n > 1:
        same = np.ones(n - 1, dtype=bool)
        for key in reset_keys:
            same &= key[1:] == key[:-1]
        dvol[1:] = np.where(same, vol[1:] - vol[:-1], vol[1:])
    dvol[~(dvol > 0)] = 0.0  # NaN and negatives
    return dvol


def _levels(ticks: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    return np.ascontiguousarray(np.column_stack([ticks[f] for f in names]).astype(np.float64))


def fill_labels(
    ticks: np.ndarray,
    trading_day: np.ndarray,
    segment_id: np.ndarray,
    price_tick: float,
    horizons: Sequence[int] = DEFAULT_FILL_HORIZONS,
    *,
    expire_at_day_end: bool = True,
) -> dict[str, np.ndarray]:
    """Fill labels of four passive orders at every tick (model in the module docstring).

    Args:
        ticks: TICK_DTYPE rows in time order (e.g. a main_l5 series).
        trading_day: per row, the trading day (``datetime64[D]``, ``date`` objects or int codes).
        segment_id: per row, the segment (int); a change is a boundary no fill crosses.
        price_tick: the contract's price tick.
        horizons: tick horizons of the ``fill_*_h{h}`` indicators; the largest bounds the walk.
        expire_at_day_end: stop the walk at the end of the placement's trading day.

    Returns:
        Columns named as :func:`fill_label_names` lists them, each float64 of length ``n``.
    """
    arr = as_tick_array(ticks)
    n = arr.shape[0]
    day = as_codes(trading_day, "trading_day", n)
    seg = as_codes(segment_id, "segment_id", n)
    tick = check_price_tick(price_tick)
    hs = check_horizons(horizons)
    ends = run_end(seg, day) if expire_at_day_end else run_end(seg)
    queue, ttf_ticks, ttf_ns, censored, fills = k.fill_kernel(
        _levels(arr, BID_PRICE_FIELDS),
        _levels(arr, BID_VOLUME_FIELDS),
        _levels(arr, ASK_PRICE_FIELDS),
        _levels(arr, ASK_VOLUME_FIELDS),
        as_float_column(arr["last_price"], "last_price"),
        traded_volume(arr["volume"], day, seg),
        np.ascontiguousarray(arr["datetime_ns"], dtype=np.int64),
        ends,
        tick,
        np.asarray(hs, dtype=np.int64),
    )
    out: dict[str, np.ndarray] = {}
    for o, order in enumerate(FILL_ORDERS):
        for a, h in enumerate(hs):
            out[f"fill_{order}_h{h}"] = fills[o, a]
        out[f"ttf_{order}_ticks"] = ttf_ticks[o]
        out[f"ttf_{order}_ns"] = ttf_ns[o]
        out[f"ttf_{order}_censored"] = censored[o]
        out[f"queue_ahead_{order}"] = queue[o]
    return out
