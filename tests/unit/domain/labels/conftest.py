"""Builders of small hand-made tick sequences for the label tests."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from ghtrader.domain.ticks import empty_ticks


def _make_ticks(n: int, **columns: object) -> np.ndarray:
    """``n`` ticks 500 ms apart; each keyword sets a field (a scalar or a length-n sequence)."""
    t = empty_ticks(n)
    t["datetime_ns"] = 1_700_000_000_000_000_000 + np.arange(n, dtype=np.int64) * 500_000_000
    for name, value in columns.items():
        t[name] = value
    return t


@pytest.fixture
def make_ticks() -> Callable[..., np.ndarray]:
    return _make_ticks


def _random_book(rng: np.random.Generator, n: int, tick: float = 10.0) -> np.ndarray:
    """A random but coherent L5 book: prices on the tick grid, occasional empty levels and gaps,
    cumulative volume with idle ticks, last price near the touch (sometimes stale)."""
    t = empty_ticks(n)
    t["datetime_ns"] = 1_700_000_000_000_000_000 + np.cumsum(rng.integers(1, 2_000_000_000, n))
    mid_ticks = 7000 + np.cumsum(rng.choice([-1, 0, 0, 0, 1], n))
    spread = rng.choice([1, 1, 1, 2], n)
    bid1 = mid_ticks
    ask1 = mid_ticks + spread
    for lvl in range(1, 6):
        gap_b = (lvl - 1) + (rng.random(n) < 0.15)
        gap_a = (lvl - 1) + (rng.random(n) < 0.15)
        t[f"bid_price{lvl}"] = (bid1 - gap_b) * tick
        t[f"ask_price{lvl}"] = (ask1 + gap_a) * tick
        t[f"bid_volume{lvl}"] = rng.integers(0, 15, n)
        t[f"ask_volume{lvl}"] = rng.integers(0, 15, n)
    t["bid_price1"] = bid1 * tick
    t["ask_price1"] = ask1 * tick
    empty_bid = rng.random(n) < 0.03
    t["bid_price1"][empty_bid] = np.nan
    t["bid_volume1"][empty_bid] = 0.0
    trades = rng.integers(0, 6, n) * (rng.random(n) < 0.6)
    t["volume"] = np.cumsum(trades)
    last = (mid_ticks + rng.choice([-1, 0, 1, 2], n)) * tick
    t["last_price"] = last
    return t


@pytest.fixture
def random_book() -> Callable[..., np.ndarray]:
    return _random_book
