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

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal, Protocol

from ghtrader.application.errors import InvalidArgument
from ghtrader.domain.calendar import TradingCalendar
from ghtrader.domain.instruments import contract_spec, variety_key

__all__ = [
    "DailyTrainJobs",
    "DailyUpdateDecision",
    "LedgerEntry",
    "ScheduleDailyTrain",
    "ScheduleDailyUpdates",
    "UpdateJobs",
    "UpdateLedger",
    "UpdateTarget",
    "last_closed_trading_day",
    "parse_targets",
    "parse_train_symbols",
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


def _once_per_day(
    key: str,
    day: date,
    now_ns: int,
    active: Callable[[], int | None],
    submit: Callable[[], int],
    ledger: UpdateLedger,
    what: str,
) -> DailyUpdateDecision:
    """The rule of the module docstring for one key: skip while a job is active, claim the day,
    submit, and give the claim back when the submission fails."""
    running = active()
    if running is not None:
        return DailyUpdateDecision(key, day, "already_active", running, f"{what} job {running} is queued or running")
    if not ledger.claim(key, day, now_ns):
        return DailyUpdateDecision(key, day, "already_done", 0, f"trading day {day} already got its scheduled {what}")
    try:
        job_id = submit()
    except Exception as exc:  # noqa: BLE001 - recorded; the claim is given back so a later firing retries
        ledger.release(key, day)
        return DailyUpdateDecision(key, day, "failed", 0, f"{type(exc).__name__}: {exc}")
    ledger.attach(key, day, job_id)
    return DailyUpdateDecision(key, day, "submitted", job_id, f"{what} of trading day {day} queued")


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
        return _once_per_day(
            target.key, day, now_ns, lambda: self._jobs.active_update(target),
            lambda: self._jobs.submit_update(target, self.recent_expired_days), self._ledger, "update",
        )  # fmt: skip


class DailyTrainJobs(Protocol):
    """The job registry as the scheduled daily-train sees it."""

    def active_daily_train(self, symbol: str) -> int | None:
        """The id of a queued or running ``daily-train`` job of ``symbol``, if any."""
        ...

    def submit_daily_train(self, symbol: str) -> int:
        """Queue a ``daily-train`` job of ``symbol`` (source: scheduler); returns its id."""
        ...


def parse_train_symbols(text: str) -> tuple[str, ...]:
    """``"KQ.m@SHFE.cu,KQ.m@SHFE.au"`` -> the continuous aliases daily-train runs on; InvalidArgument
    names an entry that is not a ``KQ.m@`` alias of a known variety."""
    out: list[str] = []
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        if not item.startswith("KQ.m@"):
            raise InvalidArgument(f"daily-train symbol {item!r}: expected a main-contract alias such as KQ.m@SHFE.cu")
        try:
            contract_spec(variety_key(item))
        except ValueError as exc:
            raise InvalidArgument(f"daily-train symbol {item!r}: {exc}") from None
        if item not in out:
            out.append(item)
    return tuple(out)


class ScheduleDailyTrain:
    """One firing of the daily-train schedule: per symbol, at most one ``daily-train`` job per
    trading day (the same claim rule as the daily update, keyed ``daily-train:<symbol>``)."""

    def __init__(
        self, symbols: Sequence[str], calendar: TradingCalendar, jobs: DailyTrainJobs, ledger: UpdateLedger
    ) -> None:
        self.symbols = tuple(symbols)
        self._calendar = calendar
        self._jobs = jobs
        self._ledger = ledger

    def __call__(self, now_ns: int) -> list[DailyUpdateDecision]:
        return [self._one(s, now_ns) for s in self.symbols]

    def _one(self, symbol: str, now_ns: int) -> DailyUpdateDecision:
        ex, var = variety_key(symbol).split(".", 1)
        day = last_closed_trading_day(self._calendar, UpdateTarget(ex, var), now_ns)
        return _once_per_day(
            f"daily-train:{symbol}", day, now_ns, lambda: self._jobs.active_daily_train(symbol),
            lambda: self._jobs.submit_daily_train(symbol), self._ledger, "daily-train",
        )  # fmt: skip
