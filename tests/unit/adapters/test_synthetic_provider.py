"""SyntheticDataProvider: the synthetic market as a DataProvider (real market, small ranges)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from ghtrader.adapters.synthetic import SyntheticDataProvider
from ghtrader.application.errors import InvalidArgument
from ghtrader.domain.calendar import TradingCalendar
from ghtrader.domain.errors import DomainError
from ghtrader.domain.instruments import contract_spec
from ghtrader.domain.market_sim import SyntheticMarket, SyntheticMarketConfig
from ghtrader.domain.ticks import L5_LEVEL_FIELDS, TICK_FIELDS, empty_ticks

HOLIDAYS = [date(2024, 1, 1), *(date(2024, 2, d) for d in (9, 12, 13, 14, 15, 16))]
CAL = TradingCalendar(HOLIDAYS)
ANCHOR = date(2024, 1, 2)


@pytest.fixture(scope="module")
def market() -> SyntheticMarket:
    return SyntheticMarket(SyntheticMarketConfig(seed=11, anchor_date=ANCHOR), CAL)


@pytest.fixture(scope="module")
def provider(market: SyntheticMarket) -> SyntheticDataProvider:
    return SyntheticDataProvider(market, CAL)


def same(a: np.ndarray, b: np.ndarray) -> bool:
    return len(a) == len(b) and all(np.array_equal(a[f], b[f], equal_nan=True) for f in TICK_FIELDS)


def test_contract_days_equal_the_market_and_pre_anchor_days_are_empty(
    market: SyntheticMarket, provider: SyntheticDataProvider
) -> None:
    assert provider.name == "synthetic"
    got = list(provider.fetch_days("SHFE.cu2403", date(2023, 12, 28), date(2024, 1, 4)))
    assert [d.trading_day for d in got] == CAL.trading_days(date(2023, 12, 28), date(2024, 1, 4))
    assert all(d.symbol == "SHFE.cu2403" for d in got)
    before = [d for d in got if d.trading_day < ANCHOR]
    assert before and all(len(d.ticks) == 0 for d in before)
    after = [d for d in got if d.trading_day >= ANCHOR]
    assert sum(len(d.ticks) for d in after) > 0
    for d in after:
        assert same(d.ticks, market.ticks("SHFE.cu2403", d.trading_day))


def test_days_outside_the_contract_life_are_empty(market: SyntheticMarket, provider: SyntheticDataProvider) -> None:
    symbol = "SHFE.cu2501"
    first, _ = market.contract_life(symbol)
    start, end = CAL.previous_trading_day(CAL.previous_trading_day(first)), CAL.next_trading_day(first)
    got = {d.trading_day: d.ticks for d in provider.fetch_days(symbol, start, end)}
    assert list(got) == CAL.trading_days(start, end)
    assert sum(len(t) for day, t in got.items() if day >= first) > 0
    for day, ticks in got.items():
        if day < first:
            assert len(ticks) == 0
        else:
            assert same(ticks, market.ticks(symbol, day))


def test_continuous_symbol_is_the_level1_main_series(market: SyntheticMarket, provider: SyntheticDataProvider) -> None:
    (day_ticks,) = provider.fetch_days("KQ.m@SHFE.au", date(2024, 1, 8), date(2024, 1, 8))
    ticks = day_ticks.ticks
    assert len(ticks) > 0
    assert same(ticks, market.continuous_ticks("SHFE.au", date(2024, 1, 8)))
    for f in L5_LEVEL_FIELDS[4:]:
        assert np.isnan(ticks[f]).all()
    assert not np.isnan(ticks["bid_price1"]).any()
    holiday_week = list(provider.fetch_days("KQ.m@SHFE.au", date(2024, 2, 10), date(2024, 2, 19)))
    assert [d.trading_day for d in holiday_week] == [date(2024, 2, 19)]


def test_bad_requests_are_invalid_arguments(provider: SyntheticDataProvider) -> None:
    for symbol in ("cu2403", "SHFE.rb2405", "KQ.m@SHFE.rb"):
        with pytest.raises(InvalidArgument):
            provider.fetch_days(symbol, date(2024, 1, 2), date(2024, 1, 3))
    with pytest.raises(InvalidArgument, match="after end_day"):
        provider.fetch_days("SHFE.cu2403", date(2024, 1, 3), date(2024, 1, 2))
    with pytest.raises(InvalidArgument):
        provider.catalog("SHFE.rb")
    with pytest.raises(InvalidArgument):
        provider.catalog("copper")


def test_catalog_lists_contracts_whose_life_overlaps_the_window(market: SyntheticMarket) -> None:
    window = (date(2024, 3, 1), date(2024, 4, 30))
    provider = SyntheticDataProvider(market, CAL, catalog_window=window, today=lambda: date(2024, 4, 1))
    infos = provider.catalog("SHFE.cu")
    spec = contract_spec("SHFE.cu")
    listed = [spec.contract(y, m) for y in (2023, 2024, 2025, 2026) for m in range(1, 13)]
    lives = {s: market.contract_life(s) for s in listed}
    overlapping = [s for s in listed if lives[s][0] <= window[1] and lives[s][1] >= window[0]]
    assert [c.symbol for c in infos] == overlapping
    assert len(infos) >= 12
    for c in infos:
        life = market.contract_life(c.symbol)
        assert (c.first_trading_day, c.last_trading_day) == (max(life[0], ANCHOR), life[1])
        assert c.expired == (life[1] < date(2024, 4, 1))
        assert (c.exchange, c.variety, c.source) == ("SHFE", "cu", "synthetic")
        assert (c.price_tick, c.multiplier) == (spec.price_tick, spec.multiplier)
    assert any(c.expired for c in infos) and not all(c.expired for c in infos)


def test_calendar_mismatch_is_rejected(market: SyntheticMarket) -> None:
    with pytest.raises(ValueError, match="different holidays"):
        SyntheticDataProvider(market, TradingCalendar([date(2024, 5, 1)]))


class FakeMarket:
    """A tiny stand-in: records calls, knows one contract living 2024-01-03..2024-01-05."""

    variety_keys = ("SHFE.cu",)

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, date]] = []

    def contract_life(self, symbol: str) -> tuple[date, date]:
        return date(2024, 1, 3), date(2024, 1, 5)

    def ticks(self, symbol: str, trading_day: date) -> np.ndarray:
        self.calls.append(("ticks", symbol, trading_day))
        if trading_day == date(2024, 1, 5):
            raise DomainError("boom")
        return empty_ticks(2)

    def continuous_ticks(self, variety_key: str, trading_day: date) -> np.ndarray:
        self.calls.append(("continuous", variety_key, trading_day))
        return empty_ticks(1)


def test_routing_and_domain_errors_with_a_fake_market() -> None:
    fake = FakeMarket()
    provider = SyntheticDataProvider(fake, CAL, history_start=date(2024, 1, 2))
    got = list(provider.fetch_days("SHFE.cu2402", date(2024, 1, 2), date(2024, 1, 4)))
    assert [len(d.ticks) for d in got] == [0, 2, 2]  # Jan 2 is before the contract lists
    assert fake.calls == [("ticks", "SHFE.cu2402", date(2024, 1, 3)), ("ticks", "SHFE.cu2402", date(2024, 1, 4))]
    fake.calls.clear()
    assert [len(d.ticks) for d in provider.fetch_days("KQ.m@SHFE.cu", date(2024, 1, 2), date(2024, 1, 3))] == [1, 1]
    assert fake.calls == [("continuous", "SHFE.cu", date(2024, 1, 2)), ("continuous", "SHFE.cu", date(2024, 1, 3))]
    with pytest.raises(InvalidArgument, match="boom"):
        list(provider.fetch_days("SHFE.cu2402", date(2024, 1, 5), date(2024, 1, 5)))
