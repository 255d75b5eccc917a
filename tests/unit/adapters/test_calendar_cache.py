"""CachedHolidayCalendarSource: cache, fetch, bundled seed and the loud weekday-only fallback."""

from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path

import pytest

from ghtrader.adapters.filesystem import atomic
from ghtrader.adapters.filesystem.calendar_cache import CachedHolidayCalendarSource, bundled_holidays_text
from ghtrader.domain.calendar import parse_holidays

VENDOR = json.dumps(["2024-10-01", "2024-10-02", "2024-10-03", "2024-10-04", "2024-10-05", "2024-10-07"])


class Fetcher:
    def __init__(self, text: str = VENDOR, error: Exception | None = None) -> None:
        self.text, self.error, self.calls = text, error, 0

    def __call__(self) -> str:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return self.text


@pytest.fixture()
def cache(tmp_path: Path) -> Path:
    return tmp_path / "data" / "calendar" / "holidays.json"


def test_fetches_when_cache_missing_and_writes_it_atomically(cache: Path) -> None:
    fetch = Fetcher()
    src = CachedHolidayCalendarSource(cache, fetch, logging.getLogger("t"))
    cal = src.load()
    assert fetch.calls == 1 and src.origin == "fetched"
    assert cache.read_text(encoding="utf-8") == VENDOR
    assert [p.name for p in cache.parent.iterdir()] == ["holidays.json"]  # no temp file left
    assert not cal.is_trading_day(date(2024, 10, 7)) and cal.is_trading_day(date(2024, 10, 8))
    assert src.load() is cal and fetch.calls == 1  # served from memory

    again = Fetcher(error=AssertionError("must not fetch"))
    src2 = CachedHolidayCalendarSource(cache, again, None)
    assert src2.load().holidays == cal.holidays
    assert again.calls == 0 and src2.origin == "cache"


def test_cache_is_used_without_a_fetcher(cache: Path) -> None:
    cache.parent.mkdir(parents=True)
    cache.write_text('["2025-01-01"]', encoding="utf-8")
    src = CachedHolidayCalendarSource(cache, None, None)
    assert src.load().holidays == frozenset({date(2025, 1, 1)})
    assert src.origin == "cache"


def test_malformed_cache_is_reported_and_refetched(cache: Path, caplog: pytest.LogCaptureFixture) -> None:
    cache.parent.mkdir(parents=True)
    cache.write_text('["2024-10-01", "not a date"]', encoding="utf-8")
    fetch = Fetcher()
    with caplog.at_level(logging.WARNING):
        cal = CachedHolidayCalendarSource(cache, fetch, None).load()
    assert fetch.calls == 1
    assert "malformed" in caplog.text and str(cache) in caplog.text
    assert cal.holidays == parse_holidays(VENDOR)
    assert cache.read_text(encoding="utf-8") == VENDOR


def test_failed_fetch_uses_bundled_list_without_caching_it(cache: Path, caplog: pytest.LogCaptureFixture) -> None:
    fetch = Fetcher(error=OSError("network is unreachable"))
    with caplog.at_level(logging.WARNING):
        src = CachedHolidayCalendarSource(cache, fetch, None)
        cal = src.load()
    assert src.origin == "bundled"
    assert cal.holidays == parse_holidays(bundled_holidays_text())
    assert "network is unreachable" in caplog.text
    assert "BUNDLED" in caplog.text and "source of truth" in caplog.text
    assert not cache.exists()  # the next load tries the vendor again
    fetch.error = None
    assert src.refresh().holidays == parse_holidays(VENDOR)
    assert src.origin == "fetched" and cache.read_text(encoding="utf-8") == VENDOR


def test_bundled_list_seeds_cache_when_no_fetcher(cache: Path) -> None:
    src = CachedHolidayCalendarSource(cache, None, None)
    cal = src.load()
    assert src.origin == "bundled" and not cal.is_weekday_only
    assert parse_holidays(cache.read_text(encoding="utf-8")) == cal.holidays


def test_weekday_only_fallback_warns_loudly(cache: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="ghtrader.adapters.filesystem.calendar_cache"):
        src = CachedHolidayCalendarSource(cache, None, None, use_bundled=False)
        cal = src.load()
    assert cal.is_weekday_only and src.origin == "weekday_only"
    assert cal.is_trading_day(date(2024, 10, 1))  # National Day counts: that is the danger
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    text = warnings[0].getMessage()
    assert "WEEKDAYS ONLY" in text and "public holidays" in text and str(cache) in text
    assert not cache.exists()


def test_empty_fetched_list_is_not_cached(cache: Path) -> None:
    src = CachedHolidayCalendarSource(cache, Fetcher(text="[]"), None, use_bundled=False)
    assert src.load().is_weekday_only
    assert not cache.exists()


def test_failed_cache_write_leaves_no_temp_file(
    cache: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def boom(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(atomic.os, "replace", boom)
    with caplog.at_level(logging.WARNING):
        cal = CachedHolidayCalendarSource(cache, Fetcher(), None).load()
    assert cal.holidays == parse_holidays(VENDOR)
    assert "disk full" in caplog.text
    assert list(cache.parent.iterdir()) == []


def test_bundled_list_is_weekday_closures_2016_to_2026() -> None:
    days = parse_holidays(bundled_holidays_text())
    assert all(d.weekday() < 5 for d in days)
    by_year = {y: sorted(d for d in days if d.year == y) for y in range(2016, 2027)}
    assert set(d.year for d in days) == set(by_year)
    assert all(15 <= len(v) <= 20 for v in by_year.values()), {y: len(v) for y, v in by_year.items()}
    raw = json.loads(bundled_holidays_text())
    assert raw == sorted(set(raw))
    # Spot checks: New Year, Spring Festival (2020 extended to Jan 31), Qingming, Labour Day,
    # Dragon Boat, Mid-Autumn, National Day; 2018-12-31 was a closure, 2024-02-18 a makeup Sunday.
    for d in (
        "2016-01-01",
        "2020-01-31",
        "2023-04-05",
        "2019-05-03",
        "2025-06-02",
        "2021-09-21",
        "2024-10-07",
        "2018-12-31",
        "2026-02-23",
    ):
        assert date.fromisoformat(d) in days, d
    for d in ("2024-02-19", "2020-02-03", "2024-10-08", "2023-10-09"):
        assert date.fromisoformat(d) not in days, d
