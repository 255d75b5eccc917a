"""The daily update rule the server's scheduler applies (``GHTRADER_DAILY_UPDATE_TARGETS``).

At each firing, for every target variety (``SHFE:cu``): the trading day to cover is the last one
whose last session has closed; an ``update`` job is submitted for it unless

- one is already queued or running for the target (whoever started it: a terminal, the
  dashboard, another server), or
- this trading day already got its scheduled update for the target.

The second rule is a claim in a ledger with one row per (target, trading day) that only the
first claimer can insert, so two schedulers firing together (two servers on one ``runs/``, a
misfire caught up while a run is due) still submit one job. A submission that fails gives its
claim back, so the next firing retries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal, Protocol

from ghtrader.application.errors import InvalidArgument
from ghtrader.domain.calendar import TradingCalendar
from ghtrader.domain.instruments import contract_spec, variety_key

__all__ = [
    "DailyUpdateDecision",
    "LedgerEntry",
    "ScheduleDailyUpdates",
    "UpdateJobs",
    "UpdateLedger",
    "UpdateTarget",
    "last_closed_trading_day",
    "parse_targets",
]


@dataclass(frozen=True)
class UpdateTarget:
    """One variety the daily update keeps current."""

    exchange: str
    variety: str

    @property
    def key(self) -> str:
        """``SHFE:cu`` (the settings' spelling)."""
        return f"{self.exchange}:{self.variety}"

    @property
    def variety_symbol(self) -> str:
        """``SHFE.cu`` (the update request's spelling)."""
        return f"{self.exchange}.{self.variety}"


def parse_targets(text: str) -> tuple[UpdateTarget, ...]:
    """``"SHFE:cu,SHFE:au"`` -> targets (order kept, duplicates dropped); empty text: none.
    InvalidArgument names the entry that is not a known ``EXCHANGE:variety``."""
    out: list[UpdateTarget] = []
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        exchange, sep, variety = item.partition(":")
        if not sep:
            raise InvalidArgument(f"daily update target {item!r}: expected EXCHANGE:variety, e.g. SHFE:cu")
        try:
            key = variety_key(f"{exchange.strip()}.{variety.strip()}")
            contract_spec(key)
        except ValueError as exc:
            raise InvalidArgument(f"daily update target {item!r}: {exc}") from None
        ex, var = key.split(".", 1)
        target = UpdateTarget(ex, var)
        if target not in out:
            out.append(target)
    return tuple(out)


def last_closed_trading_day(calendar: TradingCalendar, target: UpdateTarget, now_ns: int) -> date:
    """The last trading day whose last session (of ``target``'s variety) closed at or before ``now_ns``."""
    spec = contract_spec(target.variety_symbol)
    day = calendar.trading_day_of(now_ns)
    if not calendar.is_trading_day(day):
        day = calendar.previous_trading_day(day)
    while True:
        close = max((hi for _, hi in calendar.session_windows_ns(day, spec)), default=0)
        if 0 < close <= now_ns:
            return day
        day = calendar.previous_trading_day(day)


@dataclass(frozen=True)
class LedgerEntry:
    """One scheduled update: the target, the trading day it covers, its job (0 until submitted)."""

    target: str
    trading_day: date
    claimed_ns: int
    job_id: int


class UpdateLedger(Protocol):
    """Which (target, trading day) already got its scheduled update."""

    def claim(self, target: str, trading_day: date, now_ns: int) -> bool:
        """True for the first claim of (target, trading_day), False ever after (atomic across processes)."""
        ...

    def attach(self, target: str, trading_day: date, job_id: int) -> None:
        """Record the job submitted for a claim."""
        ...

    def release(self, target: str, trading_day: date) -> None:
        """Give a claim back (its submission failed)."""
        ...

    def entries(self, limit: int = 50) -> list[LedgerEntry]:
        """Newest claims first."""
        ...


class UpdateJobs(Protocol):
    """The job registry as the daily update sees it."""

    def active_update(self, target: UpdateTarget) -> int | None:
        """The id of a queued or running ``update`` job of ``target``, if any."""
        ...

    def submit_update(self, target: UpdateTarget, recent_expired_days: int) -> int:
        """Queue an ``update`` job (source: scheduler); returns its id."""
        ...


Action = Literal["submitted", "already_active", "already_done", "failed"]


@dataclass(frozen=True)
class DailyUpdateDecision:
    """What one firing did for one target, and why."""

    target: str
    trading_day: date
    action: Action
    job_id: int  # the submitted or the active job; 0 when none
    reason: str


class ScheduleDailyUpdates:
    """One firing of the daily update schedule (see the module docstring)."""

    def __init__(
        self,
        targets: Sequence[UpdateTarget],
        calendar: TradingCalendar,
        jobs: UpdateJobs,
        ledger: UpdateLedger,
        recent_expired_days: int = 10,
    ) -> None:
        if recent_expired_days < 0:
            raise InvalidArgument(f"recent_expired_days must be >= 0, got {recent_expired_days}")
        self.targets = tuple(targets)
        self._calendar = calendar
        self._jobs = jobs
        self._ledger = ledger
        self.recent_expired_days = int(recent_expired_days)

    def __call__(self, now_ns: int) -> list[DailyUpdateDecision]:
        return [self._one(t, now_ns) for t in self.targets]

    def _one(self, target: UpdateTarget, now_ns: int) -> DailyUpdateDecision:
        day = last_closed_trading_day(self._calendar, target, now_ns)
        active = self._jobs.active_update(target)
        if active is not None:
            return DailyUpdateDecision(
                target.key, day, "already_active", active, f"update job {active} is queued or running"
            )
        if not self._ledger.claim(target.key, day, now_ns):
            return DailyUpdateDecision(
                target.key, day, "already_done", 0, f"trading day {day} already got its scheduled update"
            )
        try:
            job_id = self._jobs.submit_update(target, self.recent_expired_days)
        except Exception as exc:  # noqa: BLE001 - recorded; the claim is given back so a later firing retries
            self._ledger.release(target.key, day)
            return DailyUpdateDecision(target.key, day, "failed", 0, f"{type(exc).__name__}: {exc}")
        self._ledger.attach(target.key, day, job_id)
        return DailyUpdateDecision(target.key, day, "submitted", job_id, f"update of trading day {day} queued")
