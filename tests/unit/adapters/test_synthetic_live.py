"""SyntheticLiveFeed: history first, then ticks in order as a (fake) market clock reaches them."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import numpy as np
import pytest

from ghtrader.adapters.synthetic import SyntheticLiveFeed
from ghtrader.application.errors import InvalidArgument
from ghtrader.domain.calendar import TradingCalendar
from ghtrader.domain.market_sim import SyntheticMarket, SyntheticMarketConfig
from ghtrader.domain.ticks import TICK_FIELDS, empty_ticks

BEIJING = timezone(timedelta(hours=8))
CAL = TradingCalendar([])
FRIDAY, MONDAY = date(2026, 3, 6), date(2026, 3, 9)
SYMBOL = "SHFE.cu2605"


def _ns(day: date, hh: int, mm: int, ss: float = 0.0) -> int:
    return int(datetime(day.year, day.month, day.day, hh, mm, tzinfo=BEIJING).timestamp() * 1e9) + int(ss * 1e9)


class FakeMarket:
    """One tick per second 09:00-11:30 and 13:30-15:00 Beijing on every trading day; the price
    is the tick's index within the day plus 1000 * the day of the month."""

    variety_keys = ("SHFE.cu",)

    def __init__(self, last_day: date = date(2026, 5, 15)) -> None:
        self.loaded: list[tuple[str, date]] = []
        self._last_day = last_day

    def contract_life(self, symbol: str) -> tuple[date, date]:
        return date(2025, 5, 16), self._last_day

    def ticks(self, symbol: str, trading_day: date) -> np.ndarray:
        self.loaded.append((symbol, trading_day))
        if trading_day > self._last_day:
            return empty_ticks(0)
        morning = np.arange(_ns(trading_day, 9, 0), _ns(trading_day, 11, 30), 1_000_000_000)
        afternoon = np.arange(_ns(trading_day, 13, 30), _ns(trading_day, 15, 0), 1_000_000_000)
        stamps = np.concatenate([morning, afternoon])
        out = empty_ticks(stamps.shape[0])
        out["datetime_ns"] = stamps
        out["last_price"] = 1000.0 * trading_day.day + np.arange(stamps.shape[0])
        return out

    def continuous_ticks(self, variety_key: str, trading_day: date) -> np.ndarray:
        return self.ticks("KQ.m@" + variety_key, trading_day)


class FakeClock:
    """Wall clock that moves only when the feed sleeps."""

    def __init__(self, now_ns: int) -> None:
        self.wall_ns = now_ns
        self.mono = 100.0
        self.sleeps: list[float] = []

    def now_ns(self) -> int:
        return self.wall_ns

    def monotonic_s(self) -> float:
        return self.mono

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.mono += seconds
        self.wall_ns += int(seconds * 1e9)


class Recorder:
    """on_ticks + should_stop: stops after ``wall_s`` fake seconds; notes when each batch came."""

    def __init__(self, clock: FakeClock, wall_s: float) -> None:
        self.clock = clock
        self.stop_at = clock.mono + wall_s
        self.batches: list[tuple[str, float, np.ndarray]] = []
        self.stop_checks: list[float] = []

    def on_ticks(self, symbol: str, ticks: np.ndarray) -> None:
        self.batches.append((symbol, self.clock.mono, ticks))

    def should_stop(self) -> bool:
        self.stop_checks.append(self.clock.mono)
        return self.clock.mono >= self.stop_at

    def rows(self, symbol: str = SYMBOL) -> np.ndarray:
        parts = [t for s, _, t in self.batches if s == symbol]
        return np.concatenate(parts) if parts else empty_ticks(0)


def _feed(market: object, clock: FakeClock, **kw: object) -> SyntheticLiveFeed:
    return SyntheticLiveFeed(market, CAL, clock, sleep=clock.sleep, **kw)  # type: ignore[arg-type]


def test_history_then_every_later_tick_once_in_time_order() -> None:
    market, clock = FakeMarket(), FakeClock(_ns(FRIDAY, 10, 0))
    rec = Recorder(clock, wall_s=30.0)
    _feed(market, clock, speedup=10.0, history=100).run([SYMBOL], rec.on_ticks, rec.should_stop)
    day = market.ticks(SYMBOL, FRIDAY)
    first = rec.batches[0][2]
    assert rec.batches[0][1] == 100.0 and first.shape[0] == 100  # history, before any sleep
    assert first["datetime_ns"][-1] == _ns(FRIDAY, 10, 0)
    got = rec.rows()
    start = int(np.searchsorted(day["datetime_ns"], _ns(FRIDAY, 9, 58, 21)))
    end = int(np.searchsorted(day["datetime_ns"], _ns(FRIDAY, 10, 5), side="right"))  # 30 s x 10 = 5 minutes
    assert np.array_equal(got["datetime_ns"], day["datetime_ns"][start:end])
    assert np.array_equal(got["last_price"], day["last_price"][start:end])


def test_ticks_arrive_when_the_market_clock_reaches_them_and_not_before() -> None:
    clock = FakeClock(_ns(FRIDAY, 10, 0))
    origin, mono0 = clock.wall_ns, clock.mono
    rec = Recorder(clock, wall_s=20.0)
    _feed(FakeMarket(), clock, speedup=4.0, history=0, poll_s=0.5, min_interval_s=0.01).run(
        [SYMBOL], rec.on_ticks, rec.should_stop
    )
    assert rec.batches
    for _, at, ticks in rec.batches:
        market_now = origin + (at - mono0) * 4.0 * 1e9
        assert (ticks["datetime_ns"] <= market_now + 1).all()  # never early
        assert (ticks["datetime_ns"] > market_now - 0.5 * 4.0 * 1e9).all()  # at most one poll late
    assert rec.rows().shape[0] == 80  # 20 s x 4 = 80 one-second ticks
    assert all(0.01 <= s <= 0.5 for s in clock.sleeps)
    assert len(clock.sleeps) <= 20 / 0.2  # one tick every 0.25 s: it sleeps until the next, never spins


def test_stop_is_asked_at_least_every_poll_during_a_session_break() -> None:
    clock = FakeClock(_ns(FRIDAY, 12, 0))  # lunch break: nothing due for 90 minutes
    rec = Recorder(clock, wall_s=3.0)
    _feed(FakeMarket(), clock, history=0, poll_s=0.25).run([SYMBOL], rec.on_ticks, rec.should_stop)
    assert rec.batches == []
    assert np.diff(rec.stop_checks).max() <= 0.25 + 1e-9
    assert rec.stop_checks[-1] - rec.stop_checks[0] >= 3.0 - 0.25


def test_a_stop_right_away_delivers_only_the_history() -> None:
    clock = FakeClock(_ns(FRIDAY, 10, 0))
    rec = Recorder(clock, wall_s=0.0)
    _feed(FakeMarket(), clock, history=10).run([SYMBOL, "KQ.m@SHFE.cu"], rec.on_ticks, rec.should_stop)
    assert [(s, t.shape[0]) for s, _, t in rec.batches] == [(SYMBOL, 10), ("KQ.m@SHFE.cu", 10)]
    assert clock.sleeps == []


def test_history_reaches_back_to_earlier_trading_days_and_comes_in_bounded_batches() -> None:
    market, clock = FakeMarket(), FakeClock(_ns(MONDAY, 9, 0, 10))  # 11 ticks of Monday so far
    rec = Recorder(clock, wall_s=0.0)
    _feed(market, clock, history=5000, max_batch=2000).run([SYMBOL], rec.on_ticks, rec.should_stop)
    sizes = [t.shape[0] for _, _, t in rec.batches]
    assert sizes == [2000, 2000, 1000]
    got = rec.rows()
    assert np.all(np.diff(got["datetime_ns"]) > 0)
    assert got["datetime_ns"][-1] == _ns(MONDAY, 9, 0, 10)
    assert CAL.trading_day_of(int(got["datetime_ns"][0])) == FRIDAY  # weekend skipped


def test_the_market_clock_rolls_into_the_next_trading_day_and_stops_at_expiry() -> None:
    market, clock = FakeMarket(last_day=MONDAY), FakeClock(_ns(FRIDAY, 14, 59, 50))
    rec = Recorder(clock, wall_s=80.0)  # 80 s x 3600 = 80 market hours: past Monday 15:00
    _feed(market, clock, speedup=3600.0, history=0).run([SYMBOL], rec.on_ticks, rec.should_stop)
    got = rec.rows()
    days = CAL.trading_days_of(got["datetime_ns"]).astype(object)
    assert days[0] == FRIDAY and days[-1] == MONDAY
    assert np.all(np.diff(got["datetime_ns"]) > 0)
    assert got.shape[0] == 9 + market.ticks(SYMBOL, MONDAY).shape[0]  # Friday 14:59:51..59, all Monday
    assert max(d for _, d in market.loaded) <= MONDAY  # nothing generated past the contract's life


def test_on_the_real_synthetic_market_the_ticks_are_the_markets() -> None:
    market = SyntheticMarket(SyntheticMarketConfig(seed=3, anchor_date=date(2026, 1, 5)), CAL)
    symbol = market.main_contract("SHFE.cu", FRIDAY)
    clock = FakeClock(_ns(FRIDAY, 10, 0))
    rec = Recorder(clock, wall_s=5.0)
    _feed(market, clock, speedup=60.0, history=50).run([symbol], rec.on_ticks, rec.should_stop)
    day = market.ticks(symbol, FRIDAY)
    got = rec.rows(symbol)
    lo = int(np.searchsorted(day["datetime_ns"], _ns(FRIDAY, 10, 0), side="right")) - 50
    assert got.shape[0] > 50
    want = day[lo : lo + got.shape[0]]
    assert all(np.array_equal(got[f], want[f], equal_nan=True) for f in TICK_FIELDS)


def test_bad_symbols_and_settings_are_refused() -> None:
    clock = FakeClock(_ns(FRIDAY, 10, 0))
    feed = _feed(FakeMarket(), clock)
    for bad in ([], ["cu2605"], ["SHFE.rb2605"]):
        with pytest.raises(InvalidArgument):
            feed.run(bad, lambda s, t: None, lambda: True)
    with pytest.raises(InvalidArgument):
        _feed(FakeMarket(), clock, speedup=0.0)
    with pytest.raises(InvalidArgument):
        _feed(FakeMarket(), clock, poll_s=0.1, min_interval_s=0.5)
