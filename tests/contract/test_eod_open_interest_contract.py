"""TickStore.end_of_day_open_interest contract: the last tick's OI per (symbol, trading_day)."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest

from ghtrader.application.errors import InvalidArgument
from ghtrader.application.ports.stores import StoreBundle, TickBatch
from ghtrader.domain.ticks import row_hash
from tests.contract._data import DAYS, make_batch


def _expected(batch: TickBatch, start: date, end: date) -> dict[tuple[str, date], float]:
    """Independent answer: for each day, the OI of the row with the largest datetime_ns."""
    out: dict[tuple[str, date], float] = {}
    for day in sorted(set(batch.trading_day.tolist())):
        if not start <= day <= end:
            continue
        rows = np.flatnonzero(batch.trading_day == np.datetime64(day, "D"))
        last = rows[np.argmax(batch.ticks["datetime_ns"][rows])]
        out[(batch.symbol, day)] = float(batch.ticks["open_interest"][last])
    return out


def _batch_with_oi(symbol: str, days: list[date], rows: int, seed: int) -> TickBatch:
    batch = make_batch(symbol, days, rows, seed=seed)
    ticks = batch.ticks.copy()
    ticks["open_interest"] = np.random.default_rng(seed).integers(1_000, 90_000, len(ticks)).astype(np.float64)
    return TickBatch(symbol, "raw", ticks, batch.trading_day, row_hash(ticks))


def test_last_tick_open_interest_of_each_symbol_day(stores: StoreBundle) -> None:
    a = _batch_with_oi("SHFE.cu2404", DAYS, 9, seed=1)
    b = _batch_with_oi("SHFE.cu2405", DAYS[1:4], 7, seed=2)
    # written shuffled: the answer must follow datetime_ns, not the write order
    order = np.random.default_rng(0).permutation(len(a))
    stores.ticks.write_ticks(TickBatch(a.symbol, "raw", a.ticks[order], a.trading_day[order], a.row_hash[order]))
    stores.ticks.write_ticks(b)
    stores.ticks.write_ticks(make_batch("SHFE.cu2404", DAYS, 3, lake="main_l5"))  # another lake: ignored

    got = stores.ticks.end_of_day_open_interest(["SHFE.cu2404", "SHFE.cu2405", "SHFE.cu2406"], "raw", DAYS[0], DAYS[-1])
    assert got == {**_expected(a, DAYS[0], DAYS[-1]), **_expected(b, DAYS[0], DAYS[-1])}
    assert all(isinstance(k[1], date) and isinstance(v, float) for k, v in got.items())

    part = stores.ticks.end_of_day_open_interest(["SHFE.cu2404"], "raw", DAYS[1], DAYS[2])
    assert part == _expected(a, DAYS[1], DAYS[2])
    assert stores.ticks.end_of_day_open_interest([], "raw", DAYS[0], DAYS[-1]) == {}
    assert stores.ticks.end_of_day_open_interest(["SHFE.cu2404"], "raw", DAYS[3], DAYS[1]) == {}


def test_nan_open_interest_stays_nan_and_main_l5_lake_is_separate(stores: StoreBundle) -> None:
    batch = make_batch("SHFE.cu2404", DAYS[:2], 4)
    ticks = batch.ticks.copy()
    ticks["open_interest"][3] = np.nan  # the last tick of day 0
    stores.ticks.write_ticks(TickBatch(batch.symbol, "raw", ticks, batch.trading_day, row_hash(ticks)))
    main = make_batch("KQ.m@SHFE.cu", DAYS[:1], 5, lake="main_l5")
    stores.ticks.write_ticks(main)

    got = stores.ticks.end_of_day_open_interest(["SHFE.cu2404"], "raw", DAYS[0], DAYS[1])
    assert math.isnan(got[("SHFE.cu2404", DAYS[0])])
    assert got[("SHFE.cu2404", DAYS[1])] == float(ticks["open_interest"][7])
    on_main = stores.ticks.end_of_day_open_interest(["KQ.m@SHFE.cu"], "main_l5", DAYS[0], DAYS[0])
    assert on_main == {("KQ.m@SHFE.cu", DAYS[0]): float(main.ticks["open_interest"][-1])}
    with pytest.raises(InvalidArgument):
        stores.ticks.end_of_day_open_interest(["SHFE.cu2404"], "cooked", DAYS[0], DAYS[1])
