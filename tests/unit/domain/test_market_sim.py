"""Synthetic SHFE market: determinism, sessions, book invariants, OI roll, zero-tick days, signal."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import date, timedelta

import numpy as np
import pytest

from ghtrader.domain.calendar import (
    NS_PER_MINUTE,
    TradingCalendar,
    beijing_datetime_to_ns,
)
from ghtrader.domain.errors import CalendarError, DomainError
from ghtrader.domain.instruments import CONTRACT_SPECS, parse_contract
from ghtrader.domain.market_sim import (
    MarketSimConfigError,
    SyntheticMarket,
    SyntheticMarketConfig,
    VarietyParams,
)
from ghtrader.domain.market_sim import _kernels as kern
from ghtrader.domain.market_sim._random import (
    counter_normals,
    counter_uniforms,
    stream_key,
)
from ghtrader.domain.ticks import TICK_DTYPE, row_hash

# Weekday SHFE closures of 2024 (as a vendor holiday list gives them).
HOLIDAYS_2024 = [
    date(2024, 1, 1),
    date(2024, 2, 9),
    date(2024, 2, 12),
    date(2024, 2, 13),
    date(2024, 2, 14),
    date(2024, 2, 15),
    date(2024, 2, 16),
    date(2024, 4, 4),
    date(2024, 4, 5),
    date(2024, 5, 1),
    date(2024, 5, 2),
    date(2024, 5, 3),
    date(2024, 6, 10),
    date(2024, 9, 16),
    date(2024, 9, 17),
    date(2024, 10, 1),
    date(2024, 10, 2),
    date(2024, 10, 3),
    date(2024, 10, 4),
    date(2024, 10, 7),
]
ANCHOR = date(2023, 11, 1)
DAY = date(2024, 3, 12)  # an ordinary Tuesday
CU, AU = CONTRACT_SPECS["SHFE.cu"], CONTRACT_SPECS["SHFE.au"]


def _py(fn):
    """The pure-Python body of a numba kernel (the function itself when JIT is disabled)."""
    return getattr(fn, "py_func", fn)


@pytest.fixture(scope="module")
def cal() -> TradingCalendar:
    return TradingCalendar(HOLIDAYS_2024)


@pytest.fixture(scope="module")
def cfg() -> SyntheticMarketConfig:
    return SyntheticMarketConfig(seed=11, anchor_date=ANCHOR)


@pytest.fixture(scope="module")
def market(cfg: SyntheticMarketConfig, cal: TradingCalendar) -> SyntheticMarket:
    return SyntheticMarket(cfg, cal)


def _mid(x: np.ndarray) -> np.ndarray:
    return (x["bid_price1"] + x["ask_price1"]) / 2.0


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


# --- configuration ------------------------------------------------------------------------------
def test_config_rejects_unknown_fields_and_bad_values() -> None:
    with pytest.raises(TypeError):
        SyntheticMarketConfig(sede=1)  # type: ignore[call-arg]
    with pytest.raises(MarketSimConfigError, match="ofi_persistence"):
        SyntheticMarketConfig(ofi_persistence=1.0)
    with pytest.raises(MarketSimConfigError, match="garch_alpha"):
        SyntheticMarketConfig(garch_alpha=0.5, garch_beta=0.6)
    with pytest.raises(MarketSimConfigError, match="tick_jitter_ms"):
        SyntheticMarketConfig(tick_jitter_ms=500)
    with pytest.raises(MarketSimConfigError, match="factor_loading"):
        VarietyParams(key="SHFE.cu", base_price=1.0, annual_volatility=0.1, factor_loading=1.5)
    cfg = SyntheticMarketConfig()
    assert hash(cfg) == hash(SyntheticMarketConfig())
    assert cfg.variety_keys == ("SHFE.cu", "SHFE.au", "SHFE.ag")
    hi = cfg.with_variety(dataclasses.replace(cfg.variety("SHFE.cu"), factor_loading=0.9))
    assert hi.variety("SHFE.cu").factor_loading == 0.9 and hi.variety_keys == cfg.variety_keys
    with pytest.raises(MarketSimConfigError, match="not simulated"):
        cfg.variety("SHFE.zn")


def test_counter_streams_are_pure_functions_of_key_and_counter() -> None:
    key = stream_key(3, "x", "SHFE.cu")
    assert key == stream_key(3, "x", "SHFE.cu") != stream_key(4, "x", "SHFE.cu")
    counters = np.arange(-5, 20_000)
    u = counter_uniforms(key, counters)
    assert np.array_equal(u[100:110], counter_uniforms(key, counters[100:110]))
    assert 0.0 < u.min() and u.max() < 1.0 and abs(u.mean() - 0.5) < 0.01
    z = counter_normals(key, counters)
    assert abs(z.mean()) < 0.03 and abs(z.std() - 1.0) < 0.03


# --- contracts ----------------------------------------------------------------------------------
def test_contract_life_and_listing(market: SyntheticMarket, cal: TradingCalendar) -> None:
    # 2024-10-15 is a Tuesday; 2023-10-15 a Sunday, so cu2310 expired Monday 2023-10-16.
    assert market.contract_life("SHFE.cu2410") == (date(2023, 10, 17), date(2024, 10, 15))
    # 2024-02-15 is a Spring Festival holiday: cu2402 expires on the next trading day.
    assert market.contract_life("SHFE.cu2402")[1] == date(2024, 2, 19)
    listed = market.listed_contracts("SHFE.cu", DAY)
    assert listed[0] == "SHFE.cu2403" and len(listed) == 12 and listed[-1] == "SHFE.cu2502"
    for sym in listed:
        first, last = market.contract_life(sym)
        assert first <= DAY <= last and cal.is_trading_day(first) and cal.is_trading_day(last)
    # The day after cu2403 expires, cu2503 lists and cu2403 is gone.
    after = cal.next_trading_day(market.contract_life("SHFE.cu2403")[1])
    nxt = market.listed_contracts("SHFE.cu", after)
    assert "SHFE.cu2403" not in nxt and "SHFE.cu2503" in nxt and len(nxt) == 12
    assert market.listed_contracts("SHFE.au", date(2024, 10, 3)) == []
    with pytest.raises(DomainError):
        market.listed_contracts("SHFE.zn", DAY)


# --- determinism --------------------------------------------------------------------------------
def test_same_config_same_ticks_and_day_alone_equals_day_in_range(
    cfg: SyntheticMarketConfig, cal: TradingCalendar
) -> None:
    days = cal.trading_days(date(2024, 3, 11), date(2024, 3, 13))
    sym = "SHFE.cu2405"
    ranged = SyntheticMarket(cfg, cal)
    in_range = {d: ranged.ticks(sym, d) for d in days}
    alone = SyntheticMarket(cfg, cal).ticks(sym, days[1])
    assert alone.dtype == TICK_DTYPE and len(alone) > 1000
    assert _same(alone, in_range[days[1]])
    again = SyntheticMarket(SyntheticMarketConfig(seed=cfg.seed, anchor_date=cfg.anchor_date), cal)
    assert _same(again.ticks(sym, days[2]), in_range[days[2]])
    assert np.array_equal(row_hash(again.ticks(sym, days[2])), row_hash(in_range[days[2]]))
    other = SyntheticMarket(dataclasses.replace(cfg, seed=cfg.seed + 1), cal).ticks(sym, days[1])
    assert not _same(other, alone)
    # A returned array is the caller's: mutating it does not change the next answer.
    alone["last_price"] = -1.0
    assert _same(ranged.ticks(sym, days[1]), in_range[days[1]])


def test_row_hash_on_generated_ticks(market: SyntheticMarket) -> None:
    x = market.ticks("SHFE.au2406", DAY)
    h = row_hash(x)
    assert h.dtype == np.int64 and h.shape == (len(x),)
    assert len(np.unique(h)) == len(x)  # distinct timestamps -> distinct rows -> distinct hashes
    assert np.array_equal(h, row_hash(market.ticks("SHFE.au2406", DAY)))


# --- sessions and calendar ----------------------------------------------------------------------
def test_ticks_inside_sessions_and_none_on_holidays(market: SyntheticMarket, cal: TradingCalendar) -> None:
    for key, spec in (("SHFE.cu", CU), ("SHFE.au", AU)):
        sym = market.main_contract(key, DAY)
        x = market.ticks(sym, DAY)
        t = x["datetime_ns"]
        assert np.all(np.diff(t) > 0)
        assert cal.is_in_session_mask(t, spec).all()
        assert np.all(cal.trading_days_of(t) == np.datetime64(DAY))
        # Night session (previous evening) and every day session carry ticks.
        windows = cal.session_windows_ns(DAY, spec)
        assert len(windows) == 4
        for start, end in windows:
            inside = (t >= start) & (t < end)
            assert inside.sum() > 0.9 * (end - start) / 500e6 * 0.9
    assert len(market.ticks("SHFE.cu2412", date(2024, 10, 3))) == 0  # National Day
    assert len(market.ticks("SHFE.cu2412", date(2024, 3, 16))) == 0  # Saturday
    assert len(market.continuous_ticks("SHFE.cu", date(2024, 10, 3))) == 0


def test_no_night_session_after_the_last_day_before_a_holiday(market: SyntheticMarket) -> None:
    # Sept 30 is the last trading day before National Day: Oct 8 opens at 09:00, no night.
    d = date(2024, 10, 8)
    x = market.ticks(market.main_contract("SHFE.cu", d), d)
    assert len(x) > 20_000
    assert x["datetime_ns"][0] >= beijing_datetime_to_ns_date(d, 9, 0)
    # An ordinary day starts in the previous evening's night session at 21:00.
    y = market.ticks(market.main_contract("SHFE.cu", DAY), DAY)
    assert y["datetime_ns"][0] < beijing_datetime_to_ns_date(DAY - timedelta(days=1), 21, 1)


def beijing_datetime_to_ns_date(d: date, hour: int, minute: int) -> int:
    from datetime import datetime

    return beijing_datetime_to_ns(datetime(d.year, d.month, d.day, hour, minute))


def test_before_anchor_and_non_trading_day_errors(market: SyntheticMarket) -> None:
    with pytest.raises(DomainError, match="anchor"):
        market.ticks("SHFE.cu2403", date(2023, 10, 30))
    with pytest.raises(DomainError, match="anchor"):
        market.main_contract("SHFE.cu", date(2023, 10, 30))
    with pytest.raises(CalendarError):
        market.main_contract("SHFE.cu", date(2024, 3, 16))
    with pytest.raises(DomainError, match="horizon"):
        market.oracle("SHFE.cu2404", DAY, 0)
    assert len(market.ticks("SHFE.cu2305", DAY)) == 0  # expired long ago


# --- book invariants ----------------------------------------------------------------------------
@pytest.mark.parametrize("key", ["SHFE.cu", "SHFE.au", "SHFE.ag"])
def test_book_invariants_for_every_listed_contract(market: SyntheticMarket, key: str) -> None:
    spec = CONTRACT_SPECS[key]
    tick = spec.price_tick
    main = market.main_contract(key, DAY)
    counts = {}
    for sym in market.listed_contracts(key, DAY):
        x = market.ticks(sym, DAY)
        if len(x) == 0:
            continue
        counts[sym] = len(x)
        for lvl in range(1, 6):
            for side in ("bid", "ask"):
                p = x[f"{side}_price{lvl}"]
                v = x[f"{side}_volume{lvl}"]
                q = p[~np.isnan(p)] / tick
                assert np.abs(q - np.round(q)).max(initial=0) < 1e-6, (sym, side, lvl)
                assert np.all(v[np.isnan(p)] == 0) and np.all(v[~np.isnan(p)] >= 1)
        for name in ("last_price", "highest", "lowest"):
            q = x[name] / tick
            assert np.abs(q - np.round(q)).max() < 1e-6
        assert np.all(x["bid_price1"] < x["ask_price1"])
        assert not np.isnan(x["bid_price1"]).any() and not np.isnan(x["ask_price1"]).any()
        bids = np.stack([x[f"bid_price{i}"] for i in range(1, 6)])
        asks = np.stack([x[f"ask_price{i}"] for i in range(1, 6)])
        assert np.all((np.diff(bids, axis=0) < 0) | np.isnan(bids[1:]))
        assert np.all((np.diff(asks, axis=0) > 0) | np.isnan(asks[1:]))
        # An empty level is never followed by a quoted one.
        assert np.all(~np.isnan(bids[1:]) <= ~np.isnan(bids[:-1]))
        vol = x["volume"]
        assert vol[0] >= 1 and np.all(np.diff(vol) >= 0)
        assert np.all(np.diff(x["amount"]) >= 0)
        assert np.all(np.abs(np.diff(x["open_interest"])) <= np.diff(vol))
        np.testing.assert_allclose(x["average"], x["amount"] / (vol * spec.multiplier), rtol=1e-12)
        assert np.all(x["lowest"] <= x["last_price"]) and np.all(x["last_price"] <= x["highest"])
        assert np.all(np.diff(x["highest"]) >= 0) and np.all(np.diff(x["lowest"]) <= 0)
        assert x["highest"][-1] == x["last_price"].max() and x["lowest"][-1] == x["last_price"].min()
    # The main ticks about twice a second with full depth; the thinnest far less, with holes.
    assert counts[main] > 0.9 * max(counts.values())
    thin = min(counts, key=counts.__getitem__)
    assert counts[thin] < 0.1 * counts[main]
    main_x = market.ticks(main, DAY)
    assert not np.isnan(main_x["bid_price5"]).any()
    assert np.isnan(market.ticks(thin, DAY)["bid_price5"]).mean() > 0.2
    spread = (main_x["ask_price1"] - main_x["bid_price1"]) / tick
    assert np.mean(np.isclose(spread, 1.0)) > 0.7


def test_volume_resets_each_trading_day(market: SyntheticMarket, cal: TradingCalendar) -> None:
    sym = "SHFE.cu2405"
    d0 = DAY
    d1 = cal.next_trading_day(d0)
    x0, x1 = market.ticks(sym, d0), market.ticks(sym, d1)
    assert x1["volume"][0] < 0.01 * x0["volume"][-1]
    assert x1["amount"][0] < 0.01 * x0["amount"][-1]
    assert x1["datetime_ns"][0] > x0["datetime_ns"][-1]


# --- open interest and the main contract --------------------------------------------------------
def test_end_of_day_open_interest_equals_last_tick(market: SyntheticMarket) -> None:
    for key in ("SHFE.cu", "SHFE.au"):
        eod = market.end_of_day_open_interest(key, DAY)
        assert set(eod) == set(market.listed_contracts(key, DAY))
        checked = 0
        for sym, oi in eod.items():
            x = market.ticks(sym, DAY)
            if len(x):
                assert x["open_interest"][-1] == oi
                checked += 1
        assert checked >= 10
    assert market.end_of_day_open_interest("SHFE.cu", date(2024, 10, 3)) == {}


def _roll_rule(market: SyntheticMarket, key: str, days: list[date], first_main: str) -> list[str]:
    """The SHFE_FACTS rule applied independently to the market's end-of-day OI."""
    mains, main = [first_main], first_main
    for today in days[:-1]:
        oi = market.end_of_day_open_interest(key, today)
        best = max(oi, key=oi.__getitem__)
        if oi[best] > 1.1 * oi[main]:
            main = best
        mains.append(main)
    return mains


def test_cu_main_rolls_monthly_by_the_oi_rule(market: SyntheticMarket, cal: TradingCalendar) -> None:
    days = cal.trading_days(date(2023, 12, 1), date(2024, 3, 29))
    mains = [market.main_contract("SHFE.cu", d) for d in days]
    assert mains == _roll_rule(market, "SHFE.cu", days, mains[0])
    switches = [(a, b) for a, b in itertools.pairwise(mains) if a != b]
    assert len(switches) >= 3
    for old, new in switches:
        assert parse_contract(new).expiry_month_index > parse_contract(old).expiry_month_index
    # The main is the largest-OI contract of the previous day most of the time.
    for d in days[1::5]:
        oi = market.end_of_day_open_interest("SHFE.cu", cal.previous_trading_day(d))
        assert oi[market.main_contract("SHFE.cu", d)] >= max(oi.values()) / 1.1


def test_au_and_ag_mains_are_june_or_december(market: SyntheticMarket, cal: TradingCalendar) -> None:
    for key in ("SHFE.au", "SHFE.ag"):
        seen = set()
        for d in cal.trading_days(date(2023, 11, 1), date(2024, 8, 30))[::7]:
            main = parse_contract(market.main_contract(key, d))
            assert main.month in (6, 12)
            seen.add(main.symbol)
        assert len(seen) >= 2  # it rolled at least once (Dec -> Jun -> Dec)
        eod = market.end_of_day_open_interest(key, DAY)
        main_oi = eod[market.main_contract(key, DAY)]
        off = [v for s, v in eod.items() if parse_contract(s).month not in (6, 12)]
        assert max(off) < 0.35 * main_oi


def test_continuous_series_is_the_mains_level_one(market: SyntheticMarket) -> None:
    main = market.main_contract("SHFE.cu", DAY)
    full = market.ticks(main, DAY)
    cont = market.continuous_ticks("SHFE.cu", DAY)
    assert _same(cont, market.ticks("KQ.m@SHFE.cu", DAY))
    assert np.array_equal(cont["datetime_ns"], full["datetime_ns"])
    for name in (
        "last_price",
        "average",
        "highest",
        "lowest",
        "volume",
        "amount",
        "open_interest",
        "bid_price1",
        "bid_volume1",
        "ask_price1",
        "ask_volume1",
    ):
        assert np.array_equal(cont[name], full[name]), name
    for lvl in range(2, 6):
        for f in ("bid_price", "bid_volume", "ask_price", "ask_volume"):
            assert np.isnan(cont[f"{f}{lvl}"]).all()


# --- zero-tick days -----------------------------------------------------------------------------
def test_zero_tick_days_occur_at_the_configured_rate(cal: TradingCalendar) -> None:
    cfg = SyntheticMarketConfig(
        seed=5, anchor_date=ANCHOR, zero_tick_day_probability=0.05, zero_tick_day_probability_main=0.005
    )
    market = SyntheticMarket(cfg, cal)
    days = cal.trading_days(date(2024, 1, 2), date(2024, 6, 28))
    n_other = z_other = n_main = z_main = 0
    zero_examples = []
    for key in cfg.variety_keys:
        for d in days:
            main = market.main_contract(key, d)
            for sym in market.listed_contracts(key, d):
                empty = not market.has_ticks(sym, d)
                if sym == main:
                    n_main, z_main = n_main + 1, z_main + empty
                else:
                    n_other, z_other = n_other + 1, z_other + empty
                    if empty and len(zero_examples) < 2:
                        zero_examples.append((sym, d))
    expected = cfg.zero_tick_day_probability * n_other
    assert abs(z_other - expected) < 4 * np.sqrt(expected), (z_other, expected)
    assert z_main <= 4  # expected ~1.7 of ~350 main contract-days
    for sym, d in zero_examples:
        assert len(market.ticks(sym, d)) == 0
        assert len(market.oracle(sym, d, 10)) == 0
        assert sym in market.end_of_day_open_interest(sym[:7], d)  # still listed, still has OI


# --- the planted signal -------------------------------------------------------------------------
def test_oracle_predicts_realised_mid_changes(market: SyntheticMarket) -> None:
    sym = market.main_contract("SHFE.cu", DAY)
    x = market.ticks(sym, DAY)
    mid = _mid(x)
    for horizon in (10, 30):
        o = market.oracle(sym, DAY, horizon)
        assert o.shape == (len(x),) and np.isnan(o[-horizon:]).all() and not np.isnan(o[:-horizon]).any()
        realised = mid[horizon:] - mid[:-horizon]
        assert np.corrcoef(o[:-horizon], realised)[0, 1] > 0.15
    direction = market.oracle_direction(sym, DAY, 20, threshold=5.0)
    o = market.oracle(sym, DAY, 20)
    assert direction.dtype == np.int8 and set(np.unique(direction)) <= {-1, 0, 1}
    assert np.array_equal(direction[:-20], np.sign(o[:-20]) * (np.abs(o[:-20]) > 5.0))
    assert np.all(direction[-20:] == 0)
    moved = direction[:-20] != 0
    realised = np.sign(mid[20:] - mid[:-20])[moved]
    hit = np.mean(realised[realised != 0] == direction[:-20][moved][realised != 0])
    assert hit > 0.6
    assert _same_oracle(market.oracle("KQ.m@SHFE.cu", DAY, 20), o)


def _same_oracle(a: np.ndarray, b: np.ndarray) -> bool:
    return np.array_equal(a, b, equal_nan=True)


def _imbalance_skill(market: SyntheticMarket, day: date, horizon: int) -> float:
    """Correlation of level-1 queue imbalance with the next non-overlapping mid change."""
    x = market.ticks(market.main_contract("SHFE.cu", day), day)
    idx = np.arange(0, len(x) - horizon, horizon)
    imb = np.log(x["bid_volume1"] / x["ask_volume1"])[idx]
    mid = _mid(x)
    return float(np.corrcoef(imb, mid[idx + horizon] - mid[idx])[0, 1])


def test_signal_is_visible_in_the_book_and_absent_without_signal(
    cfg: SyntheticMarketConfig, cal: TradingCalendar
) -> None:
    with_signal = SyntheticMarket(cfg, cal)
    without = SyntheticMarket(dataclasses.replace(cfg, signal_strength=0.0), cal)
    assert _imbalance_skill(with_signal, DAY, 10) > 0.12
    assert abs(_imbalance_skill(without, DAY, 10)) < 0.05
    sym = without.main_contract("SHFE.cu", DAY)
    o = without.oracle(sym, DAY, 20)
    assert np.all(o[~np.isnan(o)] == 0.0)


# --- cross-asset correlation ----------------------------------------------------------------------
def _with_loadings(cfg: SyntheticMarketConfig, loading: float) -> SyntheticMarketConfig:
    return dataclasses.replace(
        cfg, varieties=tuple(dataclasses.replace(v, factor_loading=loading) for v in cfg.varieties)
    )


def _minute_returns(market: SyntheticMarket, key: str, day: date, grid: np.ndarray) -> np.ndarray:
    x = market.continuous_ticks(key, day)
    i = np.searchsorted(x["datetime_ns"], grid, side="right") - 1
    return np.diff(np.log(_mid(x)[i]))


def test_varieties_are_correlated_when_configured(cfg: SyntheticMarketConfig, cal: TradingCalendar) -> None:
    # Daily close-to-close returns of the continuous series.
    strong = SyntheticMarket(_with_loadings(cfg, 0.9), cal)
    days = cal.trading_days(date(2024, 3, 1), date(2024, 4, 3))
    rets = {}
    for key in ("SHFE.cu", "SHFE.au"):
        # A main contract-day may have no ticks (zero-tick day): its return is left out.
        closes = [_mid(x)[-1] if len(x := strong.continuous_ticks(key, d)) else np.nan for d in days]
        rets[key] = np.diff(np.log(closes))
    ok = ~np.isnan(rets["SHFE.cu"]) & ~np.isnan(rets["SHFE.au"])
    assert ok.sum() >= 15
    daily = np.corrcoef(rets["SHFE.cu"][ok], rets["SHFE.au"][ok])[0, 1]
    assert daily > 0.4
    # Intraday one-minute returns: shared 500 ms common shocks vs none.
    windows = cal.session_windows_ns(DAY, CU)
    grid = np.concatenate([np.arange(s + NS_PER_MINUTE, e, NS_PER_MINUTE) for s, e in windows])
    corr = {}
    for name, loading in (("strong", 0.9), ("none", 0.0)):
        m = strong if name == "strong" else SyntheticMarket(_with_loadings(cfg, loading), cal)
        corr[name] = np.corrcoef(_minute_returns(m, "SHFE.cu", DAY, grid), _minute_returns(m, "SHFE.au", DAY, grid))[
            0, 1
        ]
    assert corr["strong"] > 0.4 and abs(corr["none"]) < 0.1


# --- kernels: JIT and pure Python agree ---------------------------------------------------------
def test_kernels_match_their_pure_python_bodies() -> None:
    rng = np.random.default_rng(0)
    n = 400
    args = (
        rng.standard_normal(n),
        rng.standard_normal(n),
        rng.standard_normal(n),
        rng.random(n),
        rng.standard_normal(n),
        0.6,
        0.9,
        0.2,
        1e-4,
        0.05,
        0.9,
        0.01,
        10.0,
        64.0,
        0.003,
    )
    x, f, h, slope = kern.latent_path(*args)
    for a, b in zip((x, f, h, slope), _py(kern.latent_path)(*args), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    assert x[-1] == pytest.approx(0.003) and x[0] == 0.0 and np.all(h > 0)
    # the slope is the bridge's drift: the same draws bridged to another target differ by it
    x2, _, _, slope2 = kern.latent_path(*args[:-1], 0.003 + (n - 1) * 1e-5)
    assert slope2 - slope == pytest.approx(1e-5, rel=1e-9)
    np.testing.assert_allclose(x2 - x, 1e-5 * np.arange(n), atol=1e-15)

    kidx = np.sort(rng.choice(n, size=150, replace=False)).astype(np.int64)
    mu = kern.oracle_log_drift(kidx, f, h, 1e-4, 0.2, 0.9, 7)
    np.testing.assert_allclose(mu, _py(kern.oracle_log_drift)(kidx, f, h, 1e-4, 0.2, 0.9, 7), equal_nan=True)
    assert np.isnan(mu[-7:]).all() and np.all(np.sign(mu[:-7]) == np.sign(f[kidx[:-7]]))

    zi, zg = rng.standard_normal(50), rng.standard_normal(50)
    for a, b in zip(
        kern.daily_skeleton(zi, zg, 1e-4, 0.1, 0.85, 0.2, 0.01),
        _py(kern.daily_skeleton)(zi, zg, 1e-4, 0.1, 0.85, 0.2, 0.01),
        strict=True,
    ):
        np.testing.assert_allclose(a, b, rtol=1e-12)

    m = kidx.shape[0]
    book_args = (
        kidx,
        np.arange(n, dtype=np.int64) * 500_000_000,
        rng.integers(0, 400, m) * 1_000_000,
        np.log(70_000.0) + x,
        f,
        h,
        rng.random((m, kern.N_UNIFORMS)),
        rng.standard_normal((m, kern.N_NORMALS)),
        10.0,
        5.0,
        1000.0,
        1050.0,
        3.0,
        0.6,
        2.0,
        0.7,
        1.0,
        5.0,
        0.6,
        0.8,
        0.5,
        3.0,
    )
    t1, b1 = kern.build_contract_day(*book_args)
    t2, b2 = _py(kern.build_contract_day)(*book_args)
    assert np.array_equal(t1, t2)
    np.testing.assert_allclose(b1, b2, rtol=1e-12, equal_nan=True)
    assert b1[-1, kern.COL_OPEN_INTEREST] == 1050.0


def test_latent_path_has_volatility_clustering_and_jumps() -> None:
    rng = np.random.default_rng(1)
    n = 60_000

    def abs_increments(alpha: float, beta: float, jump_p: float) -> np.ndarray:
        x, _, _, _ = kern.latent_path(
            rng.standard_normal(n),
            rng.standard_normal(n),
            rng.standard_normal(n),
            rng.random(n),
            rng.standard_normal(n),
            0.5,
            0.95,
            0.0,
            1e-4,
            alpha,
            beta,
            jump_p,
            15.0,
            64.0,
            0.0,
        )
        return np.abs(np.diff(x))

    def acf(a: np.ndarray, lag: int) -> float:
        return float(np.corrcoef(a[:-lag], a[lag:])[0, 1])

    garch = abs_increments(0.01, 0.9895, 0.0)
    flat = abs_increments(0.0, 0.0, 0.0)
    assert min(acf(garch, lag) for lag in (1, 10, 100)) > 0.05
    assert max(abs(acf(flat, lag)) for lag in (1, 10, 100)) < 0.03
    jumpy = abs_increments(0.0, 0.0, 1e-3)
    assert (jumpy > 8e-4).sum() > 20 and (flat > 8e-4).sum() == 0  # 8 sigma moves only from jumps
