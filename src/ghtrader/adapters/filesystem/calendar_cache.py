"""CalendarSource backed by a cached holiday JSON file (``data/calendar/holidays.json``).

The data vendor's holiday list (TqSdk: ``TQ_CHINESE_HOLIDAY_URL``, a JSON array of
``"YYYY-MM-DD"``) is the source of truth. Where it cannot be had, the list bundled with
ghTrader (``holidays_cn.json``: mainland public-holiday closures 2016-2026 written from the
State Council notices, weekdays only) stands in; without even that, the calendar falls back to
weekdays only and says so loudly.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from ghtrader.adapters.filesystem.atomic import write_text_atomically
from ghtrader.domain.calendar import TradingCalendar, parse_holidays
from ghtrader.domain.errors import CalendarError

__all__ = ["BUNDLED_HOLIDAYS_RESOURCE", "CachedHolidayCalendarSource", "bundled_holidays_text"]

#: File name of the bundled holiday list inside this package.
BUNDLED_HOLIDAYS_RESOURCE = "holidays_cn.json"

_WEEKDAY_ONLY_WARNING = (
    "NO HOLIDAY LIST AVAILABLE: the trading calendar falls back to WEEKDAYS ONLY. Every Monday-Friday "
    "counts as a trading day, INCLUDING public holidays (New Year, Spring Festival, Qingming, Labour "
    "Day, Dragon Boat, Mid-Autumn, National Day), so trading days, night sessions and no-data days "
    "around holidays will be WRONG. Put the vendor's holiday list (a JSON array of 'YYYY-MM-DD', e.g. "
    "TqSdk's shinny_chinese_holiday.json from TQ_CHINESE_HOLIDAY_URL) at %s, or configure a holiday URL."
)


def bundled_holidays_text() -> str:
    """The bundled holiday list (JSON text) shipped with ghTrader."""
    return resources.files(__package__).joinpath(BUNDLED_HOLIDAYS_RESOURCE).read_text(encoding="utf-8")


class CachedHolidayCalendarSource:
    """The trading calendar from a cached holiday file, fetched when missing.

    ``load()`` tries, in order:

    1. the cache file at ``cache_path``;
    2. ``fetch_text()`` (the vendor list), written to the cache atomically (temp file + rename);
    3. the bundled list (unless ``use_bundled=False``), logged as a WARNING; it seeds the cache
       only when there is no fetcher (a failed fetch is retried on the next load instead);
    4. a weekday-only calendar, with a loud WARNING saying how to provide the file.

    An unreadable or malformed cache is reported and treated as missing. The result is kept
    in memory; ``refresh()`` fetches again and rewrites the cache.
    """

    def __init__(
        self,
        cache_path: Path,
        fetch_text: Callable[[], str] | None,
        logger: logging.Logger | None = None,
        *,
        use_bundled: bool = True,
    ) -> None:
        self._cache_path = Path(cache_path)
        self._fetch_text = fetch_text
        self._log = logger or logging.getLogger(__name__)
        self._use_bundled = use_bundled
        self._lock = threading.Lock()
        self._calendar: TradingCalendar | None = None
        self._origin = ""

    @property
    def cache_path(self) -> Path:
        """Where the holiday JSON is cached."""
        return self._cache_path

    @property
    def origin(self) -> str:
        """Where the last loaded calendar came from: ``cache``, ``fetched``, ``bundled``,
        ``weekday_only`` (empty before the first load)."""
        return self._origin

    def load(self) -> TradingCalendar:
        """The trading calendar (loaded once, then served from memory)."""
        with self._lock:
            if self._calendar is None:
                self._calendar, self._origin = self._load()
            return self._calendar

    def refresh(self) -> TradingCalendar:
        """Fetch the vendor list again (when a fetcher is set), rewrite the cache and reload."""
        with self._lock:
            if self._fetch_text is not None:
                calendar = self._fetch_and_cache()
                if calendar is not None:
                    self._calendar, self._origin = calendar, "fetched"
                    return calendar
            self._calendar, self._origin = self._load()
            return self._calendar

    def _load(self) -> tuple[TradingCalendar, str]:
        cached = self._read_cache()
        if cached is not None:
            return cached, "cache"
        if self._fetch_text is not None:
            fetched = self._fetch_and_cache()
            if fetched is not None:
                return fetched, "fetched"
        if self._use_bundled:
            bundled = self._bundled()
            if bundled is not None:
                return bundled, "bundled"
        self._log.warning(_WEEKDAY_ONLY_WARNING, self._cache_path)
        return TradingCalendar((), weekday_only_fallback=True), "weekday_only"

    def _read_cache(self) -> TradingCalendar | None:
        try:
            text = self._cache_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            self._log.warning("holiday cache %s cannot be read (%s); ignoring it", self._cache_path, exc)
            return None
        try:
            holidays = parse_holidays(text)
        except CalendarError as exc:
            self._log.warning("holiday cache %s is malformed (%s); ignoring it", self._cache_path, exc)
            return None
        self._log.info("trading calendar: %d holidays from %s", len(holidays), self._cache_path)
        return TradingCalendar(holidays)

    def _fetch_and_cache(self) -> TradingCalendar | None:
        assert self._fetch_text is not None
        try:
            text = self._fetch_text()
            holidays = parse_holidays(text)
        except Exception as exc:  # noqa: BLE001 - any fetch failure means "not available now"
            self._log.warning("fetching the holiday list failed (%s: %s)", type(exc).__name__, exc)
            return None
        if not holidays:
            self._log.warning("the fetched holiday list is empty; not caching it")
            return None
        try:
            write_text_atomically(self._cache_path, text)
        except OSError as exc:
            self._log.warning("cannot write the holiday cache %s (%s); using the list in memory", self._cache_path, exc)
        self._log.info("trading calendar: %d holidays fetched, cached at %s", len(holidays), self._cache_path)
        return TradingCalendar(holidays)

    def _bundled(self) -> TradingCalendar | None:
        try:
            text = bundled_holidays_text()
            holidays = parse_holidays(text)
        except (OSError, CalendarError) as exc:
            self._log.warning("the bundled holiday list cannot be used (%s)", exc)
            return None
        last = max(holidays)
        self._log.warning(
            "trading calendar: using ghTrader's BUNDLED holiday list (%d days, up to %s) because the "
            "vendor's list is unavailable; the vendor's list is the source of truth, and every weekday "
            "after %s counts as a trading day. Put the vendor list at %s to replace it.",
            len(holidays),
            last,
            last,
            self._cache_path,
        )
        if self._fetch_text is None:
            try:
                write_text_atomically(self._cache_path, text)
            except OSError as exc:
                self._log.warning("cannot seed the holiday cache %s (%s)", self._cache_path, exc)
        return TradingCalendar(holidays)
