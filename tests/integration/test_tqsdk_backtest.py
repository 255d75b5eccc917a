"""The TqBacktest harness driving the real TqApi + TqBacktest + TqSim against the local fake
Shinny services: hand-computed fills, PnL and fees for the re-quoting strategy and a target series."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from datetime import date, datetime

import numpy as np
import pytest

from ghtrader.adapters.tqsdk import TqSdkConfig
from ghtrader.adapters.tqsdk.backtest import QuoteDriver, TargetDriver, run_tq_backtest
from ghtrader.adapters.tqsdk.loader import import_tqsdk
from ghtrader.domain.calendar import beijing_datetime_to_ns
from ghtrader.domain.microsim import codes
from ghtrader.domain.microsim.fees import FeeRate, FeeTable
from ghtrader.domain.microsim.simulator import QuoteStrategy, SimConfig, simulate
from ghtrader.domain.ticks import empty_ticks, level_fields
from tests.fakes.shinny import FakeShinny, future_instrument

# tqsdk and aiohttp are dependencies: a missing one fails here, never skips.
import_tqsdk()

pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(60),
    pytest.mark.filterwarnings("ignore:coroutine 'TqApi._notify_watcher' was never awaited:RuntimeWarning"),
]

SYMBOL = "SHFE.cu2402"
MULT = 5  # cu lots
FEE = 10.0  # the fake instrument's commission per lot
START = datetime(2024, 1, 3, 9, 0, 0)
END = datetime(2024, 1, 3, 9, 1, 0)
# Last price per tick (every 0.5 s); the book is last -/+ 10 (one tick each side).
LAST = [68000.0] * 4 + [67970.0] * 4 + [68000.0] * 8
STAMPS = beijing_datetime_to_ns(START) + np.arange(len(LAST), dtype=np.int64) * 500_000_000
# A second contract for kline charts: 6 ticks a minute (every 10 s) for three minutes.
KLINE_SYMBOL = "SHFE.cu2403"
MINUTES = [
    [68000.0, 68050.0, 67980.0, 68010.0, 68020.0, 68030.0],
    [68030.0, 68100.0, 68090.0, 68060.0, 68070.0, 68080.0],
    [68080.0, 68000.0, 68010.0, 68020.0, 68040.0, 68060.0],
]


def _ticks(last_prices: list[float] = LAST, step_ns: int = 500_000_000) -> np.ndarray:
    last = np.asarray(last_prices)
    t = empty_ticks(len(last))
    t["datetime_ns"] = beijing_datetime_to_ns(START) + np.arange(len(last), dtype=np.int64) * step_ns
    t["last_price"] = t["average"] = last
    t["highest"], t["lowest"] = 68100.0, 67900.0
    t["volume"] = 10.0 + np.arange(len(last), dtype=float) * 2
    t["amount"] = t["volume"] * last * MULT
    t["open_interest"] = 100_000.0
    for i in range(1, 6):
        bp, bv, ap, av = level_fields(i)
        t[bp], t[ap] = last - 10.0 * i, last + 10.0 * i
        t[bv] = t[av] = 5.0
    return t


TWO_DAY_SYMBOL = "SHFE.cu2404"


def _two_days() -> np.ndarray:
    """4 ticks at 68000 before the close of trading day Jan 3, 4 at 68100 in the night session
    opening trading day Jan 4."""
    day = _ticks([68000.0] * 4)
    night = _ticks([68100.0] * 4)
    day["datetime_ns"] = beijing_datetime_to_ns(datetime(2024, 1, 3, 14, 59, 0)) + np.arange(4) * 500_000_000
    night["datetime_ns"] = beijing_datetime_to_ns(datetime(2024, 1, 3, 21, 0, 0)) + np.arange(4) * 500_000_000
    return np.concatenate([day, night])


@pytest.fixture(scope="module")
def config() -> Iterator[TqSdkConfig]:
    fake = FakeShinny(holidays=[date(2024, 1, 1)])
    fake.add_instruments(future_instrument(SYMBOL, expire_day=date(2024, 2, 19), expired=False))
    fake.add_instruments(future_instrument(KLINE_SYMBOL, expire_day=date(2024, 3, 15), expired=False))
    fake.add_instruments(future_instrument(TWO_DAY_SYMBOL, expire_day=date(2024, 4, 15), expired=False))
    fake.set_ticks(SYMBOL, _ticks())
    fake.set_ticks(TWO_DAY_SYMBOL, _two_days())
    fake.set_ticks(KLINE_SYMBOL, _ticks(sum(MINUTES, []), step_ns=10_000_000_000))
    with fake, pytest.MonkeyPatch.context() as mp:
        for key, value in fake.env().items():  # the URLs exist once the fake is listening
            mp.setenv(key, value)
        for key in ("TQ_TD_URL", "TQ_ACTION", "TQ_WEB_GUI", "TQ_INIT_BALANCE", "TQ_ACCOUNT"):
            mp.delenv(key, raising=False)
        mp.setitem(sys.modules, "tqsdk.changelog_notification", types.ModuleType("tqsdk.changelog_notification"))
        yield TqSdkConfig(fake.user, fake.password, md_url=fake.md_url, auth_url=fake.auth_url, ins_url=fake.ins_url)


def test_quote_strategy_round_trip_through_tqsim(config: TqSdkConfig) -> None:
    r = run_tq_backtest(config, SYMBOL, START, END, QuoteDriver(SYMBOL, QuoteStrategy(qty=1, max_position=1)))

    np.testing.assert_array_equal(r.equity["datetime_ns"], STAMPS)  # one mark per tick, exact stamps
    tick = {int(s): i for i, s in enumerate(STAMPS)}
    # (side, price, tick sent, final status): no buy quote while long 1 (max_position); the new
    # sell quote goes out on tick 5, once the cancel of the old one is confirmed; the quotes of
    # tick 8 are still working when the backtest ends and TqSim cancels them.
    assert [(int(o["side"]), float(o["price"]), tick[int(o["send_ns"])], int(o["status"])) for o in r.orders] == [
        (codes.BUY, 67990.0, 0, codes.FILLED),
        (codes.SELL, 68010.0, 0, codes.CANCELLED),
        (codes.SELL, 67980.0, 5, codes.FILLED),
        (codes.BUY, 67990.0, 8, codes.CANCELLED),
        (codes.SELL, 68010.0, 8, codes.CANCELLED),
    ]
    # Tick 0 quotes 67990 / 68010. Tick 4: the ask drops to 67980 <= 67990, the bid quote fills at
    # its price; the long position stops buying and the sell quote moves down to 67980 (cancel,
    # then resend as close-today). Tick 8: the bid rises to 67990 >= 67980, the sell fills.
    fills = r.fills
    assert fills["side"].tolist() == [codes.BUY, codes.SELL]
    assert fills["price"].tolist() == [67990.0, 67980.0]
    assert fills["datetime_ns"].tolist() == [STAMPS[4], STAMPS[8]]
    assert fills["offset"].tolist() == [codes.OPEN, codes.CLOSETODAY]
    assert fills["passive"].all() and (fills["fill_kind"] == codes.FILL_CROSS).all()
    assert fills["fee"].tolist() == [FEE, FEE]
    gross = (67980.0 - 67990.0) * MULT
    assert r.summary["pnl_gross"] == gross
    assert r.summary["pnl_net"] == gross - 2 * FEE
    assert r.summary["round_trips"] == 1 and r.summary["final_position"] == 0
    assert r.account["balance"] == 1_000_000.0 + gross - 2 * FEE  # TqSim's own books agree
    assert r.equity["position"][[3, 4, 7, 8]].tolist() == [0, 1, 1, 0]
    # Every quote that did not fill was cancelled; the cancelled sell at 68010 was sent at tick 0.
    filled = r.orders[r.orders["status"] == codes.FILLED]
    assert filled["price"].tolist() == [67990.0, 67980.0]
    first_sell = r.orders[(r.orders["side"] == codes.SELL)][0]
    assert first_sell["price"] == 68010.0 and first_sell["status"] == codes.CANCELLED
    assert first_sell["cancel_send_ns"] == STAMPS[4]


def test_target_series_as_fak_orders(config: TqSdkConfig) -> None:
    driver = TargetDriver(SYMBOL, [int(STAMPS[1]), int(STAMPS[5]), int(STAMPS[10])], [2, -1, 0])
    r = run_tq_backtest(config, SYMBOL, START, END, driver)

    # Tick 1: buy 2 at the ask 68010. Tick 5 (ask 67980, bid 67960): sell 2 close-today at 67960,
    # tick 6: sell 1 open at 67960. Tick 10 (ask 68010): buy 1 close-today at 68010.
    fills = r.fills
    assert fills["datetime_ns"].tolist() == [STAMPS[1], STAMPS[5], STAMPS[6], STAMPS[10]]
    assert fills["side"].tolist() == [codes.BUY, codes.SELL, codes.SELL, codes.BUY]
    assert fills["offset"].tolist() == [codes.OPEN, codes.CLOSETODAY, codes.OPEN, codes.CLOSETODAY]
    assert fills["price"].tolist() == [68010.0, 67960.0, 67960.0, 68010.0]
    assert fills["qty"].tolist() == [2, 2, 1, 1]
    assert not fills["passive"].any()
    assert (r.orders["kind"] == codes.FAK).all()
    gross = ((67960.0 - 68010.0) * 2 + (67960.0 - 68010.0) * 1) * MULT
    fees = 6 * FEE
    assert r.summary["pnl_net"] == gross - fees
    assert r.account["balance"] == 1_000_000.0 + gross - fees
    assert r.positions == {"long_today": 0.0, "long_his": 0.0, "short_today": 0.0, "short_his": 0.0}


def test_same_fills_as_the_micro_sim_without_latency(config: TqSdkConfig) -> None:
    """The two engines on the same ticks: same fills, kinds, offsets and PnL. They differ only in
    when the moved sell quote goes out (micro-sim: tick 4, its zero-latency cancel is done at once;
    TqSim: tick 5, after the cancel is confirmed) and in the end state of the last quotes (TqSim
    cancels working orders when the backtest ends; the micro-sim leaves them LIVE)."""
    strategy = QuoteStrategy(qty=1, max_position=1)
    lot = FeeRate(per_lot=FEE)
    sim = simulate(
        _ticks(), SimConfig(tick=10.0, multiplier=MULT, fees=FeeTable("cu", lot, lot, lot)), strategy=strategy
    )
    tq = run_tq_backtest(config, SYMBOL, START, END, QuoteDriver(SYMBOL, strategy))

    for name in ("datetime_ns", "side", "offset", "passive", "fill_kind", "price", "qty", "fee"):
        np.testing.assert_array_equal(tq.fills[name], sim.fills[name], err_msg=name)
    for name in ("pnl_gross", "fees", "pnl_net", "round_trips", "final_position"):
        assert tq.summary[name] == sim.summary[name], name
    np.testing.assert_array_equal(tq.equity["pnl_net"], sim.equity["pnl_net"])
    sent = {int(s): i for i, s in enumerate(STAMPS)}
    assert [sent[int(t)] for t in sim.orders["send_ns"]] == [0, 0, 4, 8, 8]
    assert [sent[int(t)] for t in tq.orders["send_ns"]] == [0, 0, 5, 8, 8]
    assert sim.orders["status"][-2:].tolist() == [codes.LIVE, codes.LIVE]
    assert tq.orders["status"][-2:].tolist() == [codes.CANCELLED, codes.CANCELLED]


def test_fake_serves_minute_klines_to_tqbacktest(config: TqSdkConfig) -> None:
    """A backtest of a strategy that reads 1-minute bars (and a quote generated from them): the
    fake builds the bars from its ticks and TqBacktest replays them."""
    from tqsdk import BacktestFinished, TqApi, TqAuth, TqBacktest, TqSim

    auth = TqAuth(config.user_name, str(config.password))
    auth._auth_url = str(config.auth_url)
    api = TqApi(TqSim(), backtest=TqBacktest(START, datetime(2024, 1, 3, 9, 3, 0)), auth=auth, disable_print=True)
    try:
        bars = api.get_kline_serial(KLINE_SYMBOL, 60, data_length=3)
        quote = api.get_quote(KLINE_SYMBOL)
        with pytest.raises(BacktestFinished):
            while True:
                api.wait_update()
        got = bars[["open", "high", "low", "close", "volume", "close_oi"]].to_numpy().tolist()
        assert got == [
            [68000.0, 68050.0, 67980.0, 68030.0, 10.0, 100_000.0],  # volume 20 - 10 (first tick's)
            [68030.0, 68100.0, 68030.0, 68080.0, 12.0, 100_000.0],
            [68080.0, 68080.0, 68000.0, 68060.0, 12.0, 100_000.0],
        ]
        start_ns = beijing_datetime_to_ns(START)
        assert bars["datetime"].astype("int64").tolist() == [start_ns + k * 60_000_000_000 for k in range(3)]
        assert quote.last_price == 68060.0  # the quote follows the smallest duration: the bars' close
    finally:
        api.close()


def test_position_held_overnight_closes_as_yesterdays(config: TqSdkConfig) -> None:
    """Trading days given as dates: the replay starts before the first tick, which still reaches
    the driver; TqSim settles the day, so the next day's close is CLOSE (yesterday's position)."""
    ticks = _two_days()
    t = ticks["datetime_ns"]
    driver = TargetDriver(TWO_DAY_SYMBOL, [int(t[0]), int(t[5])], [1, 0])
    r = run_tq_backtest(config, TWO_DAY_SYMBOL, date(2024, 1, 3), date(2024, 1, 4), driver)

    np.testing.assert_array_equal(r.equity["datetime_ns"], t)
    assert r.fills["datetime_ns"].tolist() == [t[0], t[5]]
    assert r.fills["offset"].tolist() == [codes.OPEN, codes.CLOSE]
    assert r.fills["price"].tolist() == [68010.0, 68090.0]  # FAK at the ask, then at the bid
    gross = (68090.0 - 68010.0) * MULT
    assert r.summary["pnl_net"] == gross - 2 * FEE
    assert r.summary["days"] == 2
    assert r.account["balance"] == 1_000_000.0 + gross - 2 * FEE
    assert r.equity["position"].tolist() == [1, 1, 1, 1, 1, 0, 0, 0]


class _Broken:
    def on_tick(self, api: object, book: object) -> None:
        raise ZeroDivisionError("strategy bug")


def test_a_strategy_error_is_not_reported_as_a_tqsdk_failure(config: TqSdkConfig) -> None:
    with pytest.raises(ZeroDivisionError, match="strategy bug"):
        run_tq_backtest(config, SYMBOL, START, END, _Broken())
