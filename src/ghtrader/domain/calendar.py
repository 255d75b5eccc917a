"""SHFE trading calendar: trading days, night sessions and session membership of ticks.

Beijing time is a fixed UTC+8 offset (China has no daylight saving), so everything here is
integer arithmetic on epoch nanoseconds; no time-zone database and no clock is used.

Rules (see SHFE_FACTS.md):

* A trading day is Monday-Friday and not in the holiday list.
* The evening of trading day ``d`` has a night session iff the next trading day is the next
  weekday (Friday -> Monday); the last trading day before a public holiday has none.
* A tick at or after 18:00 Beijing time belongs to the next trading day after its calendar
  date; a tick before 18:00 belongs to the first trading day on or after its calendar date
  (Saturday 00:30 from Friday's night session -> Monday).
* Session windows are half-open ``[start, end)``. Some feeds stamp the closing snapshot a
  little after the bell (e.g. 15:00:00.5); ``end_grace_ns`` widens every window end for them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np

from ghtrader.domain.errors import CalendarError
from ghtrader.domain.instruments import ContractSpec

__all__ = [
    "BEIJING_UTC_OFFSET_NS",
    "NS_PER_DAY",
    "NS_PER_MINUTE",
    "SESSION_DAY",
    "SESSION_NIGHT",
    "SESSION_NONE",
    "TradingCalendar",
    "beijing_datetime_to_ns",
    "date_to_int",
    "int_to_date",
    "ns_to_beijing_datetime",
    "parse_holidays",
]

NS_PER_SECOND = 1_000_000_000
NS_PER_MINUTE = 60 * NS_PER_SECOND
NS_PER_DAY = 1440 * NS_PER_MINUTE
BEIJING_UTC_OFFSET_NS = 8 * 60 * NS_PER_MINUTE
_EVENING_CUTOFF_NS = 18 * 60 * NS_PER_MINUTE
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_ISO_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

#: Codes returned by :meth:`TradingCalendar.session_codes`.
SESSION_NONE = 0
SESSION_DAY = 1
SESSION_NIGHT = 2
_SESSION_NAMES = {SESSION_DAY: "day", SESSION_NIGHT: "night"}


def date_to_int(d: date) -> int:
    """``date(2024, 10, 8) -> 20241008``."""
    return d.year * 10000 + d.month * 100 + d.day


def int_to_date(value: int) -> date:
    """``20241008 -> date(2024, 10, 8)``; raises :class:`CalendarError` for a non-date."""
    try:
        v = int(value)
        return date(v // 10000, v // 100 % 100, v % 100)
    except (TypeError, ValueError, OverflowError):
        raise CalendarError(f"invalid yyyymmdd date {value!r}: expected an integer like 20241008") from None


def parse_holidays(json_text: str) -> frozenset[date]:
    """Parse the vendor holiday list: a JSON array of ``"YYYY-MM-DD"`` strings."""
    try:
        items = json.loads(json_text)
    except (TypeError, ValueError) as exc:
        raise CalendarError(f"invalid holiday list: not JSON ({exc}); expected an array of 'YYYY-MM-DD'") from None
    if not isinstance(items, list):
        raise CalendarError(f"invalid holiday list: got JSON {type(items).__name__}, expected an array of 'YYYY-MM-DD'")
    out: set[date] = set()
    for i, item in enumerate(items):
        if not isinstance(item, str) or _ISO_DATE_RE.fullmatch(item) is None:
            raise CalendarError(f"invalid holiday list element {i}: {item!r}, expected 'YYYY-MM-DD'")
        try:
            out.add(date.fromisoformat(item))
        except ValueError:
            raise CalendarError(f"invalid holiday list element {i}: {item!r} is not a calendar date") from None
    return frozenset(out)


def beijing_datetime_to_ns(dt: datetime) -> int:
    """Epoch ns (UTC) of ``dt``; a naive ``dt`` is read as Beijing time."""
    if dt.tzinfo is not None:
        offset = dt.utcoffset() or timedelta(0)
        dt = (dt.replace(tzinfo=None) - offset) + timedelta(hours=8)
    days = dt.toordinal() - _EPOCH_ORDINAL
    tod_us = ((dt.hour * 60 + dt.minute) * 60 + dt.second) * 1_000_000 + dt.microsecond
    return days * NS_PER_DAY + tod_us * 1000 - BEIJING_UTC_OFFSET_NS


def ns_to_beijing_datetime(datetime_ns: int) -> datetime:
    """Naive Beijing wall time of an epoch-ns instant (truncated to the microsecond)."""
    days, tod = divmod(int(datetime_ns) + BEIJING_UTC_OFFSET_NS, NS_PER_DAY)
    return datetime.combine(date.fromordinal(_EPOCH_ORDINAL + days), datetime.min.time()) + timedelta(
        microseconds=tod // 1000
    )


def _beijing_day_and_tod(datetime_ns: int) -> tuple[date, int]:
    days, tod = divmod(int(datetime_ns) + BEIJING_UTC_OFFSET_NS, NS_PER_DAY)
    return date.fromordinal(_EPOCH_ORDINAL + days), tod


def _midnight_ns(d: date) -> int:
    """Epoch ns of 00:00 Beijing on calendar date ``d``."""
    return (d.toordinal() - _EPOCH_ORDINAL) * NS_PER_DAY - BEIJING_UTC_OFFSET_NS


def _as_ns_array(values: np.ndarray) -> np.ndarray:
    arr = np.asarray(values)
    if arr.dtype.kind == "M":
        arr = arr.astype("datetime64[ns]").view(np.int64)
    if arr.dtype.kind not in "iu":
        raise CalendarError(f"invalid datetime_ns array of dtype {arr.dtype}: expected int64 epoch nanoseconds")
    return arr.astype(np.int64, copy=False)


def _next_weekday(d: date) -> date:
    return d + timedelta(days=3 if d.weekday() == 4 else 1)


class TradingCalendar:
    """Trading days from a holiday list (Mon-Fri minus holidays), with night-session rules.

    Args:
        holidays: public holidays (dates; weekend dates are allowed and harmless).
        weekday_only_fallback: mark a calendar built without any holiday list (every weekday
            trades); ``is_weekday_only`` reports it so callers can warn. Passing holidays too
            is a contradiction and raises :class:`CalendarError`.
    """

    def __init__(self, holidays: Iterable[date], *, weekday_only_fallback: bool = False) -> None:
        hs = frozenset(holidays)
        for h in hs:
            if isinstance(h, datetime) or not isinstance(h, date):
                raise CalendarError(f"invalid holiday {h!r}: expected a datetime.date")
        if weekday_only_fallback and hs:
            raise CalendarError(
                f"weekday_only_fallback=True with {len(hs)} holidays: a fallback calendar takes no holidays"
            )
        self._holidays = hs
        self._weekday_only = bool(weekday_only_fallback)
        self._busdaycal = np.busdaycalendar(weekmask="1111100", holidays=np.array(sorted(hs), dtype="datetime64[D]"))
        self._day_of_half: tuple[int, date] | None = None  # the last (half-day key, trading day) looked up

    def __repr__(self) -> str:
        return f"TradingCalendar({len(self._holidays)} holidays, weekday_only={self._weekday_only})"

    def __reduce__(self) -> tuple[Any, ...]:
        # numpy's busdaycalendar does not pickle: rebuild from the holidays (fan-out workers get a copy)
        return (_calendar_of, (tuple(sorted(self._holidays)), self._weekday_only))

    @property
    def holidays(self) -> frozenset[date]:
        """The holiday set the calendar was built from."""
        return self._holidays

    @property
    def is_weekday_only(self) -> bool:
        """True for a fallback calendar that knows no holidays."""
        return self._weekday_only

    # --- trading days -------------------------------------------------------------------
    def is_trading_day(self, d: date) -> bool:
        """Monday-Friday and not a holiday."""
        return d.weekday() < 5 and d not in self._holidays

    def trading_days(self, start: date, end: date) -> list[date]:
        """Trading days in ``[start, end]`` (both inclusive); empty when ``start > end``."""
        if start > end:
            return []
        days = np.arange(np.datetime64(start, "D"), np.datetime64(end, "D") + 1)
        return [d.item() for d in days[np.is_busday(days, busdaycal=self._busdaycal)]]

    def next_trading_day(self, d: date) -> date:
        """The first trading day strictly after ``d``."""
        d = d + timedelta(days=1)
        while not self.is_trading_day(d):
            d += timedelta(days=1)
        return d

    def previous_trading_day(self, d: date) -> date:
        """The last trading day strictly before ``d``."""
        d = d - timedelta(days=1)
        while not self.is_trading_day(d):
            d -= timedelta(days=1)
        return d

    def has_night_session(self, d: date) -> bool:
        """Whether the evening of ``d`` has a night session (belonging to the next trading day)."""
        return self.is_trading_day(d) and self.next_trading_day(d) == _next_weekday(d)

    # --- trading day of a timestamp -----------------------------------------------------
    def trading_day_of(self, datetime_ns: int) -> date:
        """The trading day an epoch-ns instant belongs to (18:00 Beijing cut-off)."""
        days, tod = divmod(int(datetime_ns) + BEIJING_UTC_OFFSET_NS, NS_PER_DAY)
        key = 2 * days + (tod >= _EVENING_CUTOFF_NS)  # calendar day and side of the cut-off
        last = self._day_of_half
        if last is not None and last[0] == key:  # a tick loop asks about the same half-day again and again
            return last[1]
        d = date.fromordinal(_EPOCH_ORDINAL + days)
        if tod >= _EVENING_CUTOFF_NS:
            out = self.next_trading_day(d)
        else:
            out = d if self.is_trading_day(d) else self.next_trading_day(d)
        self._day_of_half = (key, out)
        return out

    def trading_days_of(self, datetime_ns: np.ndarray) -> np.ndarray:
        """Vectorised :meth:`trading_day_of`; returns a ``datetime64[D]`` array of the same shape."""
        ns = _as_ns_array(datetime_ns)
        local = ns + BEIJING_UTC_OFFSET_NS
        days = np.floor_divide(local, NS_PER_DAY)
        evening = (local - days * NS_PER_DAY) >= _EVENING_CUTOFF_NS
        keys, inverse = np.unique(days * 2 + evening, return_inverse=True)
        key_days = (keys // 2).astype("datetime64[D]")
        key_evening = (keys % 2).astype(bool)
        # roll="backward" then +1 gives "strictly after" even when the day itself is not a
        # business day; offset 0 with roll="forward" gives "on or after".
        after = np.busday_offset(key_days, 1, roll="backward", busdaycal=self._busdaycal)
        on_or_after = np.busday_offset(key_days, 0, roll="forward", busdaycal=self._busdaycal)
        out = np.where(key_evening, after, on_or_after)
        return out[inverse.reshape(-1)].reshape(ns.shape)

    # --- sessions -----------------------------------------------------------------------
    def session_of(self, datetime_ns: int, spec: ContractSpec, *, end_grace_ns: int = 0) -> str | None:
        """``"day"``, ``"night"`` or ``None`` (outside every session of ``spec``).

        A night slot on an evening without a night session and any time on a non-trading
        day are ``None``.
        """
        ns = int(datetime_ns)
        d, tod = _beijing_day_and_tod(ns)
        if self.is_trading_day(d):
            for w in spec.day_sessions:
                if w.start_min * NS_PER_MINUTE <= tod < w.end_min * NS_PER_MINUTE + end_grace_ns:
                    return "day"
        night = spec.night_session
        if night is not None:
            for start_date in (d, d - timedelta(days=1)):
                if self.has_night_session(start_date):
                    base = _midnight_ns(start_date)
                    start = base + night.start_min * NS_PER_MINUTE
                    if start <= ns < base + night.end_min * NS_PER_MINUTE + end_grace_ns:
                        return "night"
        return None

    def session_windows_ns(self, trading_day: date, spec: ContractSpec) -> list[tuple[int, int]]:
        """``[start_ns, end_ns)`` epoch-ns intervals of every session of ``trading_day``, in time order.

        The night session held on the previous trading day's evening (when there is one) comes
        first, then the day sessions. A non-trading day has no sessions (empty list).
        """
        if not self.is_trading_day(trading_day):
            return []
        out: list[tuple[int, int]] = []
        night = spec.night_session
        if night is not None:
            prev = self.previous_trading_day(trading_day)
            if self.has_night_session(prev):
                base = _midnight_ns(prev)
                out.append((base + night.start_min * NS_PER_MINUTE, base + night.end_min * NS_PER_MINUTE))
        base = _midnight_ns(trading_day)
        for w in sorted(spec.day_sessions, key=lambda w: w.start_min):
            out.append((base + w.start_min * NS_PER_MINUTE, base + w.end_min * NS_PER_MINUTE))
        return out

    def _night_days(self, days: np.ndarray) -> np.ndarray:
        """Vectorised :meth:`has_night_session` over ``datetime64[D]`` days."""
        trading = np.is_busday(days, busdaycal=self._busdaycal)
        nxt = np.busday_offset(days, 1, roll="backward", busdaycal=self._busdaycal)
        weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
        next_weekday = days + np.where(weekday == 4, 3, 1).astype("timedelta64[D]")
        return trading & (nxt == next_weekday)

    def session_codes(self, datetime_ns: np.ndarray, spec: ContractSpec, *, end_grace_ns: int = 0) -> np.ndarray:
        """Vectorised session membership: ``int8`` array of SESSION_NONE / SESSION_DAY / SESSION_NIGHT."""
        ns = _as_ns_array(datetime_ns)
        flat = ns.reshape(-1)
        local = flat + BEIJING_UTC_OFFSET_NS
        days = np.floor_divide(local, NS_PER_DAY)
        tod = local - days * NS_PER_DAY
        uniq, inverse = np.unique(days, return_inverse=True)
        inverse = inverse.reshape(-1)
        udays = uniq.astype("datetime64[D]")
        trading = np.is_busday(udays, busdaycal=self._busdaycal)[inverse]
        out = np.zeros(flat.shape, dtype=np.int8)

        day_mask = np.zeros(flat.shape, dtype=bool)
        for w in spec.day_sessions:
            day_mask |= (tod >= w.start_min * NS_PER_MINUTE) & (tod < w.end_min * NS_PER_MINUTE + end_grace_ns)
        out[day_mask & trading] = SESSION_DAY

        night = spec.night_session
        if night is not None:
            start = night.start_min * NS_PER_MINUTE
            end = night.end_min * NS_PER_MINUTE + end_grace_ns
            night_today = self._night_days(udays)[inverse]
            night_yesterday = self._night_days(udays - np.timedelta64(1, "D"))[inverse]
            # The window seen from the calendar date it starts on, and from the day after.
            in_today = (tod >= start) & (tod < end)
            in_yesterday = (tod + NS_PER_DAY >= start) & (tod + NS_PER_DAY < end)
            out[(in_today & night_today) | (in_yesterday & night_yesterday)] = SESSION_NIGHT
        return out.reshape(ns.shape)

    def is_in_session_mask(self, datetime_ns: np.ndarray, spec: ContractSpec, *, end_grace_ns: int = 0) -> np.ndarray:
        """Vectorised ``session_of(...) is not None`` as a boolean array."""
        return self.session_codes(datetime_ns, spec, end_grace_ns=end_grace_ns) != SESSION_NONE

    @staticmethod
    def session_name(code: int) -> str | None:
        """``"day"`` / ``"night"`` / ``None`` for a code from :meth:`session_codes`."""
        return _SESSION_NAMES.get(int(code))


def _calendar_of(holidays: tuple[date, ...], weekday_only: bool) -> TradingCalendar:
    """Unpickle a :class:`TradingCalendar`."""
    return TradingCalendar(holidays, weekday_only_fallback=weekday_only)
