"""Every end date of the synthetic history: the main job's contract choice and the stored
schedule agree with the market's own main contract, and no data gap makes a segment (also
when the gap days' OI is unknown).

Works at the open-interest level (no ticks are generated): the provider's end-of-day OI feeds
:func:`choose_contracts` as in RunPipeline, and the "store" sees the chosen contracts' OI minus
the market's zero-tick contract-days, as a download would leave it.
"""

from __future__ import annotations

import itertools
from datetime import date

import pytest

from ghtrader.adapters.filesystem.calendar_cache import bundled_holidays_text
from ghtrader.adapters.synthetic import SyntheticDataProvider
from ghtrader.application.pipeline import RunPipelineRequest
from ghtrader.domain.calendar import TradingCalendar, parse_holidays
from ghtrader.domain.market_sim import SyntheticMarket, SyntheticMarketConfig
from ghtrader.domain.schedule import build_main_schedule, choose_contracts

ANCHOR = date(2018, 1, 2)
LAST = min(date.today(), date(2026, 12, 31))  # the bundled holiday list ends with 2026
DEFAULTS = RunPipelineRequest()


@pytest.fixture(scope="module")
def market() -> SyntheticMarket:
    cal = TradingCalendar(parse_holidays(bundled_holidays_text()))
    return SyntheticMarket(SyntheticMarketConfig(seed=7, anchor_date=ANCHOR), cal)  # the settings' defaults


@pytest.mark.parametrize("key", ["SHFE.cu", "SHFE.au", "SHFE.ag"])
def test_every_end_date_agrees_with_the_market(market: SyntheticMarket, key: str) -> None:
    cal = market.calendar
    exchange, variety = key.split(".")
    provider = SyntheticDataProvider(market, cal, catalog_window=(ANCHOR, LAST))
    expiry = {c.symbol: c.last_trading_day for c in provider.catalog(key) if c.last_trading_day is not None}
    history = cal.trading_days(ANCHOR, LAST)
    all_days = cal.trading_days(cal.previous_trading_day(ANCHOR), LAST)
    oi = provider.end_of_day_open_interest(key, all_days[0], LAST)
    main = {d: market.main_contract(key, d) for d in history}
    gaps = {(s, d) for d in history for s in oi[d] if not market.has_ticks(s, d)}
    assert any(main[d] == s for s, d in gaps), "the scan must cover days on which the main has no ticks"
    position = {d: i for i, d in enumerate(all_days)}
    n, lookback = DEFAULTS.trading_days, DEFAULTS.oi_lookback_days
    delayed = 0
    for end in history[n - 1 :]:
        i = position[end]
        window = all_days[i - n + 1 : i + 1]
        start = window[0]
        provider_oi = {d: oi[d] for d in all_days[max(0, i - n + 1 - lookback) : i + 1]}
        choice = choose_contracts(
            provider_oi,
            start,
            DEFAULTS.contracts_per_variety,
            exchange=exchange,
            variety=variety,
            last_trading_day=expiry,
        )
        assert choice.mains == tuple((d, main[d]) for d in window), f"{key} contract choice for end {end}"
        assert main[end] in choice.contracts

        # As the pipeline runs it: the chosen contracts' stored OI, and for their no-data days
        # the provider's OI (BuildMainScheduleRequest.gap_open_interest): exactly the market's.
        filled = {d: {s: v for s, v in oi[d].items() if s in choice.contracts} for d in window}
        exact = build_main_schedule(
            filled,
            exchange=exchange,
            variety=variety,
            last_trading_day=expiry,
            initial_main=choice.main_on(start),
        )
        assert [(r.trading_day, r.main_contract) for r in exact.rows] == list(choice.mains), f"{key} end {end}"

        # Without the provider's OI on gap days (a tick-only source) the rule skips decisions on
        # them: a switch may come late, but no segment comes from a gap.
        stored = {d: {s: v for s, v in oi[d].items() if s in choice.contracts and (s, d) not in gaps} for d in window}
        schedule = build_main_schedule(
            stored,
            exchange=exchange,
            variety=variety,
            last_trading_day=expiry,
            initial_main=choice.main_on(start),
        )
        assert schedule.days == tuple(window)
        market_segments = 1 + sum(main[a] != main[b] for a, b in itertools.pairwise(window))
        assert len(schedule.segments()) <= market_segments, f"{key} end {end}: a segment the market does not have"
        for prev, day in itertools.pairwise(window):
            got = schedule.main_on(day)
            if got == main[day]:
                continue
            # Only a genuine switch, delayed because a chosen contract had no ticks the day before
            # (the rule takes no decision on a day with a gap).
            delayed += 1
            assert got in {main[d] for d in window if d < day}, f"{key} end {end}: {got} on {day}"
            assert any((c, prev) in gaps for c in choice.contracts), f"{key} end {end}: {day} differs without a gap"
    assert delayed <= 0.02 * n * len(history)  # rare: a gap on the very day the market switched
