"""Tick-level detectors: clean synthetic days raise no CRITICAL; each injected anomaly (and the
L3 book's stress scenarios) is found at its expected severity and time."""

from __future__ import annotations

from collections import Counter
from datetime import date
from functools import lru_cache

import numpy as np
import pytest

from ghtrader.domain.anomaly import AnomalyConfig, AnomalyEvent, Severity, scan_day
from ghtrader.domain.anomaly.market import volume_profile, volume_profile_events
from ghtrader.domain.instruments import contract_spec
from ghtrader.domain.market_sim.l3_book import l3_preset, simulate_l3_day
from tests.fakes.frames import SYNTHETIC_START, synthetic_market

CFG = AnomalyConfig()
NS = 1_000_000_000


@lru_cache(maxsize=1)
def _market():  # type: ignore[no-untyped-def]
    return synthetic_market(seed=7, tick_interval_ms=500)


def _days(n: int) -> list[date]:
    cal = _market().calendar
    return cal.trading_days(SYNTHETIC_START, date(SYNTHETIC_START.year + 1, 1, 31))[:n]


def _day(variety: str = "SHFE.cu", i: int = 0) -> tuple[np.ndarray, str, float, list[tuple[int, int]]]:
    m = _market()
    d = _days(i + 1)[i]
    c = m.main_contract(variety, d)
    spec = contract_spec(c)
    return m.ticks(c, d).copy(), c, spec.price_tick, m.calendar.session_windows_ns(d, spec)


def _scan(ticks: np.ndarray, c: str, tick: float, windows: list[tuple[int, int]]) -> list[AnomalyEvent]:
    return scan_day(ticks, c, tick, windows, CFG)


def _worst(events: list[AnomalyEvent], kind: str) -> AnomalyEvent:
    found = [e for e in events if e.anomaly_type == kind]
    assert found, f"no {kind} event"
    return max(found, key=lambda e: (e.severity, e.drift_score))


@pytest.mark.parametrize("variety", ["SHFE.cu", "SHFE.au", "SHFE.ag"])
def test_clean_synthetic_days_raise_no_critical(variety: str) -> None:
    m = _market()
    for d in _days(12)[::3]:  # four days spread over the synthetic history
        c = m.main_contract(variety, d)
        spec = contract_spec(c)
        events = _scan(m.ticks(c, d), c, spec.price_tick, m.calendar.session_windows_ns(d, spec))
        levels = Counter(e.severity for e in events)
        assert levels[Severity.CRITICAL] == 0, [e for e in events if e.severity == Severity.CRITICAL][:3]
        assert levels[Severity.WARNING] <= 2


def _mid_row(ticks: np.ndarray, in_session_frac: float = 0.6) -> int:
    return int(ticks.shape[0] * in_session_frac)


def test_price_jump_is_a_critical_spike_at_its_tick() -> None:
    ticks, c, tick, w = _day()
    i = _mid_row(ticks)
    for f in ("last_price", "bid_price1", "ask_price1"):
        ticks[f][i:] += 80 * tick
    ev = _worst(_scan(ticks, c, tick, w), "price_spike")
    assert ev.severity == Severity.CRITICAL and ev.datetime_ns == ticks["datetime_ns"][i]


def test_volume_burst_is_a_critical_volume_spike() -> None:
    ticks, c, tick, w = _day()
    i = _mid_row(ticks)
    ticks["volume"][i:] += 5000
    ev = _worst(_scan(ticks, c, tick, w), "volume_spike")
    assert ev.severity == Severity.CRITICAL and ev.datetime_ns == ticks["datetime_ns"][i]


def test_missing_half_hour_inside_a_session_is_a_critical_gap_but_breaks_are_not() -> None:
    ticks, c, tick, w = _day()
    start, end = w[-1]  # the afternoon session
    cut = (ticks["datetime_ns"] > start + 10 * 60 * NS) & (ticks["datetime_ns"] < start + 40 * 60 * NS)
    events = _scan(ticks[~cut], c, tick, w)
    gaps = [e for e in events if e.anomaly_type == "tick_gap"]
    assert [e.severity for e in gaps] == [Severity.CRITICAL]
    assert gaps[0].drift_score == pytest.approx(30 * 60, abs=2)


def test_frozen_quote_is_a_critical_stale_run() -> None:
    ticks, c, tick, w = _day()
    start, _ = w[-1]
    frozen = (ticks["datetime_ns"] >= start + 5 * 60 * NS) & (ticks["datetime_ns"] < start + 45 * 60 * NS)
    first = int(np.flatnonzero(frozen)[0])
    keep_ns = ticks["datetime_ns"][frozen].copy()
    ticks[frozen] = ticks[first]
    ticks["datetime_ns"][frozen] = keep_ns
    ev = _worst(_scan(ticks, c, tick, w), "stale_quote")
    assert ev.severity == Severity.CRITICAL and ev.drift_score >= 39 * 60


@pytest.mark.parametrize(
    ("kind", "inject", "expected"),
    [
        ("crossed_book", lambda t, i: t["bid_price1"].__setitem__(i, t["ask_price1"][i] + 10), Severity.CRITICAL),
        ("bad_price", lambda t, i: t["last_price"].__setitem__(i, np.nan), Severity.CRITICAL),
        ("bad_price", lambda t, i: t["ask_price1"].__setitem__(i, 0.0), Severity.CRITICAL),
        ("missing_quote", lambda t, i: t["ask_price1"].__setitem__(slice(i, i + 5), np.nan), Severity.INFO),
    ],
)
def test_schema_violations(kind: str, inject, expected: Severity) -> None:  # type: ignore[no-untyped-def]
    ticks, c, tick, w = _day()
    i = _mid_row(ticks)
    inject(ticks, i)
    ev = _worst(_scan(ticks, c, tick, w), kind)
    assert ev.severity == expected and ev.datetime_ns == ticks["datetime_ns"][i]


def test_spread_blowout_and_depth_drain_are_critical() -> None:
    ticks, c, tick, w = _day()
    i = _mid_row(ticks)
    ticks["ask_price1"][i : i + 40] += 40 * tick
    sl = slice(i + 2000, i + 2100)
    for lvl in range(1, 6):
        ticks[f"bid_volume{lvl}"][sl] = np.where(np.isnan(ticks[f"bid_volume{lvl}"][sl]), np.nan, 0.0)
    ticks["bid_volume1"][sl] = 1.0
    events = _scan(ticks, c, tick, w)
    spread, depth = _worst(events, "spread_widening"), _worst(events, "depth_depletion")
    assert spread.severity == Severity.CRITICAL and spread.datetime_ns == ticks["datetime_ns"][i]
    assert depth.severity == Severity.CRITICAL
    assert ticks["datetime_ns"][i + 2000] <= depth.datetime_ns <= ticks["datetime_ns"][i + 2100]


def test_volume_against_the_session_profile() -> None:
    m = _market()
    days = _days(4)
    ref = []
    for d in days[:3]:
        ref.append(m.ticks(m.main_contract("SHFE.cu", d), d))
    profile = volume_profile(ref, CFG.profile_bucket_s)
    ticks, c, tick, w = _day("SHFE.cu", 3)
    assert not [e for e in volume_profile_events(ticks, c, profile, CFG) if e.severity >= Severity.WARNING]
    i = _mid_row(ticks)
    ticks["volume"][i:] += 2_000_000  # one bucket trades a month's volume
    ev = _worst(volume_profile_events(ticks, c, profile, CFG), "volume_profile")
    assert ev.severity == Severity.CRITICAL


def _l3(name: str, seed: int = 3, n: int = 2400) -> tuple[np.ndarray, float, int]:
    cfg = l3_preset(name)
    t0 = 1_790_000_000 * NS
    ts = t0 + np.arange(n, dtype=np.int64) * (cfg.slot_ms * 1_000_000)
    return simulate_l3_day(cfg, seed, ts).ticks, cfg.tick, t0


def test_l3_flash_crash_is_a_critical_price_spike_inside_the_crash() -> None:
    ticks, tick, t0 = _l3("flash_crash")
    events = scan_day(ticks, "SHFE.cu2612", tick, [(t0, t0 + 10**13)], CFG)
    crit = [e for e in events if e.severity == Severity.CRITICAL]
    assert {"price_spike", "depth_depletion"} <= {e.anomaly_type for e in crit}
    assert all(600 <= (e.datetime_ns - t0) / NS <= 640 for e in crit)  # the crash: 600 s for 20 s


def test_l3_liquidity_crisis_is_a_critical_depth_depletion_and_the_default_book_is_calm() -> None:
    ticks, tick, t0 = _l3("liquidity_crisis")
    events = scan_day(ticks, "SHFE.cu2612", tick, [(t0, t0 + 10**13)], CFG)
    depth = _worst(events, "depth_depletion")
    assert depth.severity == Severity.CRITICAL and 600 <= (depth.datetime_ns - t0) / NS <= 900
    calm, tick, t0 = _l3("default")
    assert not [e for e in scan_day(calm, "SHFE.cu2612", tick, [(t0, t0 + 10**13)], CFG)
                if e.severity == Severity.CRITICAL]  # fmt: skip
