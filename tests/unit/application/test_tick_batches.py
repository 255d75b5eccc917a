"""normalize_tick_batch / last_write_wins_index: what every TickStore agrees a batch means."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from ghtrader.application.errors import InvalidArgument
from ghtrader.application.ports.stores import MainL5Provenance, TickBatch
from ghtrader.application.tick_batches import (
    last_write_wins_index,
    normalize_tick_batch,
)
from ghtrader.domain.ticks import empty_ticks, row_hash


def test_last_write_wins_index() -> None:
    dt = np.array([5, 1, 5, 3, 1, 9], dtype=np.int64)
    assert last_write_wins_index(dt).tolist() == [4, 3, 2, 5]
    assert last_write_wins_index(np.array([1, 2, 3])).tolist() == [0, 1, 2]
    assert last_write_wins_index(np.empty(0, np.int64)).tolist() == []


def _batch(n: int = 4, lake: str = "raw") -> TickBatch:
    ticks = empty_ticks(n)
    ticks["datetime_ns"] = np.arange(n, dtype=np.int64) * 10
    ticks["last_price"] = np.arange(n, dtype=np.float64)
    prov = None
    if lake == "main_l5":
        prov = MainL5Provenance(np.array(["SHFE.cu2404"] * n, dtype=object), np.zeros(n, np.int64), "h")
    return TickBatch("SHFE.cu2404", lake, ticks, np.full(n, "2024-03-04", "datetime64[D]"), row_hash(ticks), prov)


def test_normalize_sorts_and_collapses_repeated_times() -> None:
    b = _batch(4, "main_l5")
    order = np.array([3, 1, 2, 1, 0])
    ticks = b.ticks[order].copy()
    ticks["last_price"][3] = 42.0  # the later copy of row 1
    assert b.main_l5 is not None
    prov = MainL5Provenance(np.array(["a", "b", "c", "d", "e"], dtype=object), np.arange(5), "h")
    out = normalize_tick_batch(TickBatch(b.symbol, "main_l5", ticks, b.trading_day[order], b.row_hash[order], prov))
    assert out.ticks["datetime_ns"].tolist() == [0, 10, 20, 30]
    assert out.ticks["last_price"].tolist() == [0.0, 42.0, 2.0, 3.0]
    assert out.main_l5 is not None
    assert out.main_l5.underlying_contract.tolist() == ["e", "d", "c", "a"]
    assert out.main_l5.segment_id.tolist() == [4, 3, 2, 0]


@pytest.mark.parametrize(
    "change",
    [
        {"ticks_lake": "cooked"},
        {"symbol": ""},
        {"row_hash": np.zeros(3, np.int64)},
        {"row_hash": np.zeros(4, np.float64)},
        {"trading_day": np.array(["2024-03-04", "NaT", "2024-03-04", "2024-03-04"], "datetime64[D]")},
        {"ticks_lake": "main_l5"},
        {"main_l5": MainL5Provenance(np.array(["x"] * 4, dtype=object), np.zeros(4, np.int64), "h")},
    ],
)
def test_normalize_rejects(change: dict) -> None:
    with pytest.raises(InvalidArgument):
        normalize_tick_batch(dataclasses.replace(_batch(), **change))


@pytest.mark.parametrize(
    "prov",
    [
        MainL5Provenance(np.array(["x"] * 3, dtype=object), np.zeros(4, np.int64), "h"),
        MainL5Provenance(np.array(["x"] * 4, dtype=object), np.zeros(4, np.float64), "h"),
        MainL5Provenance(np.array(["x"] * 4, dtype=object), np.zeros(4, np.int64), ""),
        MainL5Provenance(np.array(["x", "", "x", "x"], dtype=object), np.zeros(4, np.int64), "h"),
    ],
)
def test_normalize_rejects_bad_provenance(prov: MainL5Provenance) -> None:
    with pytest.raises(InvalidArgument):
        normalize_tick_batch(dataclasses.replace(_batch(4, "main_l5"), main_l5=prov))
