"""Argument types and checks of the command line: syntax is refused here, before any call.

Each type raises ``argparse.ArgumentTypeError``, so argparse answers
``argument --start: ...`` and exits 2. Checks that need several arguments at once (a start
after the end) run after parsing through :func:`check_day_range`. Whether a value makes sense
for the data (a contract that does not exist, too few days for five splits) is the server's
call: it answers INVALID_ARGUMENT, which the CLI also maps to exit 2.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone

BEIJING = timezone(timedelta(hours=8))  # SHFE's clock; China keeps no daylight saving time
NIGHT_SESSION_FROM_HOUR = 20  # after this hour the next trading day's night session may run


class UsageError(ValueError):
    """Arguments that are each well-formed but do not fit together; the CLI exits 2."""


def latest_trading_day(now: datetime | None = None) -> date:
    """The latest trading day that can have started at ``now`` (default: the wall clock).

    A night session belongs to the next trading day, so from the evening on (Beijing time) the
    next weekday counts as started; any later day is in the future.
    """
    now_bj = (now or datetime.now(UTC)).astimezone(BEIJING)
    day = now_bj.date()
    if now_bj.hour >= NIGHT_SESSION_FROM_HOUR:
        day += timedelta(days=1)
        while day.weekday() >= 5:
            day += timedelta(days=1)
    return day


def trading_day(text: str, *, now: datetime | None = None) -> str:
    """A trading day ``YYYY-MM-DD`` that is not in the future; returned as given (ISO text)."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: expected YYYY-MM-DD") from None
    latest = latest_trading_day(now)
    if day > latest:
        raise argparse.ArgumentTypeError(
            f"{text} is in the future (the latest trading day that can have started is {latest})"
        )
    return day.isoformat()


def _number(kind: Callable[[str], float], text: str) -> float:
    try:
        value = kind(text)
    except ValueError:
        noun = "an integer" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"{text!r} is not {noun}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def positive_int(text: str) -> int:
    """An integer >= 1 (a count, a length, a number of days)."""
    value = int(_number(int, text))
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer (>= 1), got {text}")
    return value


def non_negative_int(text: str) -> int:
    """An integer >= 0."""
    value = int(_number(int, text))
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text}")
    return value


def positive_float(text: str) -> float:
    """A finite number > 0."""
    value = _number(float, text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text}")
    return value


def non_negative_float(text: str) -> float:
    """A finite number >= 0 (0 is a real value, e.g. free commission)."""
    value = _number(float, text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text}")
    return value


def switch_ratio(text: str) -> float:
    """An OI ratio >= 1 (the challenger needs at least the main's open interest)."""
    value = _number(float, text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a ratio >= 1, got {text}")
    return value


def port(text: str) -> int:
    """A TCP port, 1..65535."""
    value = int(_number(int, text))
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be a TCP port 1..65535, got {text}")
    return value


def positive_int_list(text: str) -> list[int]:
    """Comma-separated integers, each >= 1 (e.g. label horizons ``10,50,200``)."""
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise argparse.ArgumentTypeError("expected comma-separated positive integers, e.g. 10,50,200")
    return [positive_int(item) for item in items]


def check_day_range(args: argparse.Namespace, start: str = "start", end: str = "end") -> None:
    """Refuse ``--start`` after ``--end`` (both are ISO text, so they compare as dates)."""
    first, last = getattr(args, start, None), getattr(args, end, None)
    if first and last and first > last:
        raise UsageError(f"argument --{start}: {first} is after --{end} {last}; swap them")
