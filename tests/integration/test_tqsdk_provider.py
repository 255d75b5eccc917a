"""The TqSdk adapter driving the real TqApi against local fakes of the Shinny services.

Nothing leaves 127.0.0.1: the fake (tests/fakes/shinny) serves auth, files and DIFF market data,
and TqSdk is pointed at it through the adapter's URL overrides and the TQ_* variables.
"""

from __future__ import annotations

import sys
import threading
import types
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pytest

from ghtrader.adapters.tqsdk import TqSdkConfig, TqSdkDataProvider, TqSdkLiveFeed
from ghtrader.adapters.tqsdk.catalog import SOURCE_PRE2020, SOURCE_QUERY, SOURCE_STORE
from ghtrader.adapters.tqsdk.loader import import_tqsdk
from ghtrader.application.errors import FailedPrecondition, InvalidArgument, Unavailable
from ghtrader.domain.calendar import TradingCalendar, beijing_datetime_to_ns
from ghtrader.domain.ticks import L5_LEVEL_FIELDS, TICK_FIELDS, empty_ticks, level_fields
from tests.fakes.shinny import FakeShinny, continuous_instrument, future_instrument

# tqsdk (and aiohttp, which the fake Shinny services run on) are dependencies: a missing one
# fails the import above or this call, never skips. Through the loader: a bare `import tqsdk`
# would take over the process's logging.
import_tqsdk()

pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(60),
    # A TqApi whose login fails never awaits its notify watcher; tqsdk's doing, not ours.
    pytest.mark.filterwarnings("ignore:coroutine 'TqApi._notify_watcher' was never awaited:RuntimeWarning"),
]

HOLIDAYS = [date(2024, 1, 1)]
CALENDAR = TradingCalendar(HOLIDAYS)
CONTRACT = "SHFE.cu2402"
EXPIRED = "SHFE.cu2312"
MAIN = "KQ.m@SHFE.cu"
OLD = "SHFE.cu1909"  # delisted before 2020-09: only in the tqsdk wheel's cache
DAYS = [date(2024, 1, 2), date(2024, 1, 3), date(2024, 1, 4), date(2024, 1, 5), date(2024, 1, 8)]


class FixedClock:
    def __init__(self, when: datetime) -> None:
        self.ns = beijing_datetime_to_ns(when)

    def now_ns(self) -> int:
        return self.ns

    def monotonic_s(self) -> float:
        return 0.0


def _stamps(start: datetime, n: int, step_ms: int = 500) -> np.ndarray:
    """n stamps from ``start`` (Beijing), with sub-millisecond offsets like the exchange's."""
    k = np.arange(n, dtype=np.int64)
    offsets = np.where(k % 3 == 1, 1_000, np.where(k % 3 == 2, 499_500_000, 0))
    return beijing_datetime_to_ns(start) + k * step_ms * 1_000_000 + offsets


def _book(stamps: np.ndarray, rng: np.random.Generator, *, levels: int = 5) -> np.ndarray:
    n = len(stamps)
    t = empty_ticks(n)
    t["datetime_ns"] = stamps
    last = 68000.0 + 10.0 * rng.integers(-20, 20, n)
    t["last_price"] = last
    t["average"] = 68000.0 + rng.random(n) * 50  # full precision: TqSdk does not round it
    t["highest"] = 68300.0
    t["lowest"] = 67700.0
    t["volume"] = np.cumsum(rng.integers(0, 5, n)).astype(float)
    t["amount"] = t["volume"] * 340_007.5
    t["open_interest"] = 100_000.0 + rng.integers(-50, 50, n)
    for i in range(1, levels + 1):
        bp, bv, ap, av = level_fields(i)
        t[bp] = last - 10.0 * i
        t[bv] = rng.integers(1, 60, n).astype(float)
        t[ap] = last + 10.0 * i
        t[av] = rng.integers(1, 60, n).astype(float)
    if levels == 5:
        # A thin book now and then: empty levels are price NaN, volume 0 (what TqSdk reports).
        thin = rng.random(n) < 0.3
        for i in (4, 5):
            bp, bv, _, _ = level_fields(i)
            t[bp][thin] = np.nan
            t[bv][thin] = 0.0
    return t


def _source_days(rng: np.random.Generator) -> dict[date, np.ndarray]:
    """Ticks per trading day, built per day so the expected split is known by construction."""
    d = datetime
    return {
        date(2024, 1, 2): _book(_stamps(d(2024, 1, 2, 9, 0, 0), 40), rng),  # no night before (holiday)
        date(2024, 1, 3): np.concatenate(
            [
                _book(_stamps(d(2024, 1, 2, 21, 0, 0), 2200), rng),  # night of Jan 2 -> Jan 3
                _book(_stamps(d(2024, 1, 3, 0, 30, 0), 20), rng),  # after midnight
                _book(_stamps(d(2024, 1, 3, 13, 30, 0), 30), rng),
            ]
        ),
        date(2024, 1, 4): empty_ticks(0),  # a trading day with no ticks at all
        date(2024, 1, 5): np.concatenate(
            [
                _book(_stamps(d(2024, 1, 4, 21, 0, 0), 25), rng),  # Thursday night -> Friday
                _book(_stamps(d(2024, 1, 5, 9, 0, 0), 25), rng),
            ]
        ),
        date(2024, 1, 8): np.concatenate(
            [
                _book(_stamps(d(2024, 1, 5, 21, 0, 0), 15), rng),  # Friday night -> Monday
                _book(_stamps(d(2024, 1, 6, 0, 59, 0), 10), rng),  # Saturday 00:59 -> Monday
                _book(_stamps(d(2024, 1, 8, 9, 0, 0), 20), rng),
            ]
        ),
    }


def _main_days(rng: np.random.Generator) -> dict[date, np.ndarray]:
    return {
        date(2024, 1, 4): _book(_stamps(datetime(2024, 1, 4, 9, 0, 0), 30), rng, levels=1),
        date(2024, 1, 5): _book(_stamps(datetime(2024, 1, 5, 9, 0, 0), 30), rng, levels=1),
    }


def assert_ticks_equal(got: np.ndarray, want: np.ndarray) -> None:
    assert got.dtype.names == TICK_FIELDS
    assert len(got) == len(want)
    assert got["datetime_ns"].dtype == np.int64
    np.testing.assert_array_equal(got["datetime_ns"], want["datetime_ns"])
    for name in TICK_FIELDS[1:]:
        np.testing.assert_array_equal(got[name], want[name], err_msg=name)  # NaN == NaN here


@pytest.fixture(scope="module")
def world() -> Iterator[dict]:
    """The fake services with instruments and tick histories; TQ_* points at them."""
    rng = np.random.default_rng(20240102)
    contract_days = _source_days(rng)
    main_days = _main_days(rng)
    old_ticks = _book(_stamps(datetime(2019, 9, 2, 9, 0, 0), 12), rng)
    fake = FakeShinny(holidays=HOLIDAYS)
    cu = future_instrument(CONTRACT, expire_day=date(2024, 2, 19), expired=False)
    fake.add_instruments(
        cu,
        future_instrument(EXPIRED, expire_day=date(2023, 12, 15), expired=True),
        future_instrument("SHFE.au2406", expire_day=date(2024, 6, 17), expired=False),
        continuous_instrument(MAIN, cu),
    )
    fake.set_ticks(CONTRACT, np.concatenate([contract_days[d] for d in DAYS]))
    fake.set_ticks(MAIN, np.concatenate(list(main_days.values())))
    fake.set_ticks(OLD, old_ticks)
    with pytest.MonkeyPatch.context() as mp:
        for key, value in fake.env().items():
            mp.setenv(key, value)
        for key in ("TQ_TD_URL", "TQ_ACTION", "TQ_WEB_GUI", "TQ_INIT_BALANCE", "TQ_ACCOUNT"):
            mp.delenv(key, raising=False)
        # tqsdk checks a vendor URL for release notes on its first TqApi; keep the test offline.
        mp.setitem(sys.modules, "tqsdk.changelog_notification", types.ModuleType("tqsdk.changelog_notification"))
        with fake:
            yield {"fake": fake, "contract_days": contract_days, "main_days": main_days, "old": old_ticks}


def _config(fake: FakeShinny, **overrides: str) -> TqSdkConfig:
    values = {"md_url": fake.md_url, "auth_url": fake.auth_url, "ins_url": fake.ins_url, **overrides}
    return TqSdkConfig(fake.user, fake.password, **values)


def _provider(
    fake: FakeShinny, work_dir: Path, *, now: datetime = datetime(2024, 1, 20, 12), **kw: int
) -> TqSdkDataProvider:
    return TqSdkDataProvider(_config(fake), CALENDAR, work_dir, clock=FixedClock(now), **kw)


def _downloader_charts(fake: FakeShinny) -> int:
    charts = fake.stats.set_chart
    return sum(1 for c in charts if c.get("ins_list") and str(c["chart_id"]).startswith("PYSDK_downloader"))


def test_download_splits_days_and_keeps_exact_values(world: dict, tmp_path: Path) -> None:
    fake = world["fake"]
    before = len(fake.stats.set_chart)
    out = list(_provider(fake, tmp_path, chunk_days=2).fetch_days(CONTRACT, date(2024, 1, 1), date(2024, 1, 8)))

    assert [d.trading_day for d in out] == DAYS  # the holiday is skipped, the empty day is not
    assert all(d.symbol == CONTRACT for d in out)
    for day in out:
        assert_ticks_equal(day.ticks, world["contract_days"][day.trading_day])
    assert len(out[2].ticks) == 0
    # L5 with thin levels made it through: level 5 has NaN prices with volume 0.
    jan3 = out[1].ticks
    assert np.isnan(jan3["bid_price5"]).any() and not np.isnan(jan3["ask_price5"]).any()
    # The 2250-tick chunk needed more than one page of 2000.
    new_charts = fake.stats.set_chart[before:]
    assert any("left_kline_id" in c for c in new_charts)
    files = sorted(p.name for p in (tmp_path / CONTRACT).iterdir())
    assert files == [
        "20240102_20240103.csv",
        "20240102_20240103.csv.done",
        "20240104_20240105.csv",
        "20240104_20240105.csv.done",
        "20240108_20240108.csv",
        "20240108_20240108.csv.done",
    ]


def test_resume_skips_completed_chunks(world: dict, tmp_path: Path) -> None:
    fake = world["fake"]
    list(_provider(fake, tmp_path, chunk_days=2).fetch_days(CONTRACT, date(2024, 1, 2), date(2024, 1, 8)))

    connections, charts = fake.stats.md_connections, _downloader_charts(fake)
    again = list(_provider(fake, tmp_path, chunk_days=2).fetch_days(CONTRACT, date(2024, 1, 3), date(2024, 1, 5)))
    assert fake.stats.md_connections == connections  # everything was on disk: no session at all
    assert _downloader_charts(fake) == charts
    assert [d.trading_day for d in again] == DAYS[1:4]
    for day in again:
        assert_ticks_equal(day.ticks, world["contract_days"][day.trading_day])

    # A chunk without its marker (interrupted earlier) is the only one downloaded again.
    (tmp_path / CONTRACT / "20240104_20240105.csv.done").unlink()
    out = list(_provider(fake, tmp_path, chunk_days=2).fetch_days(CONTRACT, date(2024, 1, 2), date(2024, 1, 8)))
    assert fake.stats.md_connections == connections + 1
    assert _downloader_charts(fake) == charts + 1
    started = [c for c in fake.stats.set_chart if "focus_datetime" in c][-1]
    assert started["focus_datetime"] == beijing_datetime_to_ns(datetime(2024, 1, 3, 18, 0))  # TqSdk's start of Jan 4
    for day in out:
        assert_ticks_equal(day.ticks, world["contract_days"][day.trading_day])


def test_chunk_reaching_today_is_not_marked_done(world: dict, tmp_path: Path) -> None:
    fake = world["fake"]
    provider = _provider(fake, tmp_path, chunk_days=2, now=datetime(2024, 1, 8, 10, 0))
    out = list(provider.fetch_days(CONTRACT, date(2024, 1, 5), date(2024, 1, 8)))
    assert [d.trading_day for d in out] == [date(2024, 1, 5), date(2024, 1, 8)]
    folder = tmp_path / CONTRACT
    assert (folder / "20240105_20240108.csv").exists()
    assert not (folder / "20240105_20240108.csv.done").exists()


def test_continuous_alias_is_level_one_only(world: dict, tmp_path: Path) -> None:
    out = list(_provider(world["fake"], tmp_path).fetch_days(MAIN, date(2024, 1, 3), date(2024, 1, 5)))
    assert [d.trading_day for d in out] == DAYS[1:4]
    assert len(out[0].ticks) == 0
    for day in out[1:]:
        want = world["main_days"][day.trading_day]
        assert_ticks_equal(day.ticks, want)
        deep = [f for f in L5_LEVEL_FIELDS if f not in level_fields(1)]
        assert all(np.isnan(day.ticks[f]).all() for f in deep)


def test_contract_from_the_pre2020_cache_downloads(world: dict, tmp_path: Path) -> None:
    out = list(_provider(world["fake"], tmp_path).fetch_days(OLD, date(2019, 9, 2), date(2019, 9, 3)))
    assert [d.trading_day for d in out] == [date(2019, 9, 2), date(2019, 9, 3)]
    assert_ticks_equal(out[0].ticks, world["old"])
    assert len(out[1].ticks) == 0


def test_unknown_and_malformed_symbols_are_invalid_arguments(world: dict, tmp_path: Path) -> None:
    fake = world["fake"]
    provider = _provider(fake, tmp_path)
    connections = fake.stats.md_connections
    with pytest.raises(InvalidArgument, match="SHFE.cu26"):
        provider.fetch_days("SHFE.cu26", date(2024, 1, 2), date(2024, 1, 3))
    with pytest.raises(InvalidArgument, match="start is after end"):
        provider.fetch_days(CONTRACT, date(2024, 1, 3), date(2024, 1, 2))
    assert fake.stats.md_connections == connections
    with pytest.raises(InvalidArgument, match="unknown symbol 'SHFE.cu3012'"):
        list(provider.fetch_days("SHFE.cu3012", date(2024, 1, 2), date(2024, 1, 3)))
    assert not (tmp_path / "SHFE.cu3012").exists() or not any((tmp_path / "SHFE.cu3012").iterdir())


def test_login_failures_map_to_application_errors(world: dict, tmp_path: Path) -> None:
    fake = world["fake"]
    wrong = TqSdkDataProvider(
        TqSdkConfig(fake.user, "not-the-password", md_url=fake.md_url, auth_url=fake.auth_url),
        CALENDAR,
        tmp_path,
        clock=FixedClock(datetime(2024, 1, 20)),
    )
    with pytest.raises(FailedPrecondition, match="rejected the credentials") as info:
        list(wrong.fetch_days(CONTRACT, date(2024, 1, 2), date(2024, 1, 2)))
    assert "not-the-password" not in str(info.value)
    unreachable = TqSdkDataProvider(
        TqSdkConfig(fake.user, fake.password, md_url=fake.md_url, auth_url="http://127.0.0.1:9"),
        CALENDAR,
        tmp_path,
        clock=FixedClock(datetime(2024, 1, 20)),
    )
    with pytest.raises(Unavailable, match="cannot reach"):
        list(unreachable.fetch_days(CONTRACT, date(2024, 1, 2), date(2024, 1, 2)))


def test_catalog_merges_service_cache_and_store(world: dict, tmp_path: Path) -> None:
    provider = TqSdkDataProvider(
        _config(world["fake"]),
        CALENDAR,
        tmp_path,
        clock=FixedClock(datetime(2024, 1, 20)),
        store_symbols=lambda key: ["SHFE.cu2402", "SHFE.cu2105", "SHFE.cu2408", "SHFE.au2406", "KQ.m@SHFE.cu"],
    )
    rows = {r.symbol: r for r in provider.catalog("SHFE.cu")}
    assert rows[CONTRACT].source == SOURCE_QUERY and not rows[CONTRACT].expired
    assert rows[CONTRACT].last_trading_day == date(2024, 2, 19)
    assert (rows[CONTRACT].price_tick, rows[CONTRACT].multiplier) == (10.0, 5.0)
    assert rows[EXPIRED].source == SOURCE_QUERY and rows[EXPIRED].expired
    assert rows[OLD].source == SOURCE_PRE2020 and rows[OLD].expired
    assert rows[OLD].last_trading_day == date(2019, 9, 16)
    # First trading days by the listing rule: cu1909 after cu1809 expired (2018-09-17, from the
    # wheel's cache); cu2402 after cu2302 (not in any source: its 15th, a Wednesday).
    assert rows[OLD].first_trading_day == date(2018, 9, 18)
    assert rows[CONTRACT].first_trading_day == date(2023, 2, 16)
    assert all(r.first_trading_day is not None for r in rows.values())
    assert rows["SHFE.cu1601"].source == SOURCE_PRE2020
    assert rows["SHFE.cu2105"].source == SOURCE_STORE and rows["SHFE.cu2105"].expired
    assert rows["SHFE.cu2408"].source == SOURCE_STORE and not rows["SHFE.cu2408"].expired
    assert "SHFE.au2406" not in rows and MAIN not in rows
    assert all(r.variety == "cu" and r.exchange == "SHFE" for r in rows.values())
    symbols = list(rows)
    assert symbols == sorted(symbols, key=lambda s: (int(s[-4:-2]), int(s[-2:])))
    with pytest.raises(InvalidArgument):
        provider.catalog("SHFE.cu2402x")


def test_live_feed_delivers_pushed_ticks(world: dict) -> None:
    fake = world["fake"]
    rng = np.random.default_rng(7)
    pushed = [_book(_stamps(datetime(2024, 1, 8, 10, 0, k), 3), rng) for k in range(4)]
    window = 50
    history = np.concatenate([world["contract_days"][d] for d in DAYS])[-window:]
    received: list[tuple[str, np.ndarray]] = []
    done = threading.Event()
    errors: list[BaseException] = []

    def pusher() -> None:
        try:
            if not fake.wait_until(
                lambda: any(c.get("chart_id", "").startswith("PYSDK_realtime") for c in fake.stats.set_chart), 20
            ):
                raise AssertionError("the live feed never subscribed")
            for batch in pushed:
                fake.push_ticks(CONTRACT, batch)
                threading.Event().wait(0.1)
        except BaseException as exc:  # surfaced by the test thread
            errors.append(exc)
            done.set()

    def on_ticks(symbol: str, ticks: np.ndarray) -> None:
        received.append((symbol, ticks))
        if sum(len(t) for _, t in received) >= window + sum(len(p) for p in pushed):
            done.set()

    thread = threading.Thread(target=pusher, daemon=True)
    thread.start()
    deadline = threading.Event()
    timer = threading.Timer(30, deadline.set)
    timer.start()
    try:
        TqSdkLiveFeed(_config(fake), window=window, poll_s=0.2).run(
            [CONTRACT], on_ticks, lambda: done.is_set() or deadline.is_set()
        )
    finally:
        timer.cancel()
        thread.join(10)
        fake.set_ticks(CONTRACT, np.concatenate([world["contract_days"][d] for d in DAYS]))
    assert not errors, errors
    assert not deadline.is_set(), "timed out waiting for live ticks"
    assert {s for s, _ in received} == {CONTRACT}
    got = np.concatenate([t for _, t in received])
    assert_ticks_equal(got, np.concatenate([history, *pushed]))
    assert received[0][1]["datetime_ns"][0] == history["datetime_ns"][0]  # recent history comes first


def test_live_feed_rejects_unknown_symbol(world: dict) -> None:
    with pytest.raises(InvalidArgument, match="SHFE.cu3012"):
        TqSdkLiveFeed(_config(world["fake"])).run(["SHFE.cu3012"], lambda s, t: None, lambda: True)
