"""Requested symbol -> execution contract, from the stored main schedule.

A strategy trades ``KQ.m@SHFE.cu``; orders go to the contract the schedule names for the trading
day (the night session belongs to the next trading day: ``TradingCalendar.trading_day_of``). The
runner asks again at each trading-day change; a different answer is a roll.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ghtrader.application.errors import FailedPrecondition, InvalidArgument
from ghtrader.application.ports.datasets import ScheduleStore
from ghtrader.domain.errors import DomainError
from ghtrader.domain.instruments import ContinuousSymbol, parse_symbol
from ghtrader.domain.schedule import MainSchedule

__all__ = ["Binding", "SymbolResolver"]


@dataclass(frozen=True)
class Binding:
    """Which contract carries the requested symbol on one trading day, and by what rule.

    ``binding``: ``contract`` (a specific contract was requested), ``schedule`` (the stored row of
    the day), ``schedule_next`` (the main the schedule decided after its last row), ``schedule_last``
    (a day past the schedule: its last main, until the schedule is rebuilt) or ``alias`` (no
    schedule, paper only: the continuous series itself is followed, so no roll is seen).
    """

    requested: str
    execution: str
    trading_day: date
    binding: str
    segment_id: int = 0


class SymbolResolver:
    """Resolves one requested symbol per trading day (see the module docstring)."""

    def __init__(self, requested: str, schedule: MainSchedule | None, *, allow_alias: bool) -> None:
        try:
            parsed = parse_symbol(requested)
        except DomainError as exc:
            raise InvalidArgument(str(exc)) from exc
        self.requested = requested
        self.continuous = isinstance(parsed, ContinuousSymbol)
        self._schedule = schedule
        if self.continuous and schedule is None and not allow_alias:
            raise FailedPrecondition(
                f"no stored main schedule for {requested}: order-enabled modes need one "
                f"(run `ghtrader main-schedule --var {parsed.variety_key}` first)"
            )

    @classmethod
    def from_store(cls, requested: str, schedules: ScheduleStore | None, *, allow_alias: bool) -> SymbolResolver:
        """Load the variety's schedule from ``schedules`` (when the symbol is continuous)."""
        schedule = None
        try:
            parsed = parse_symbol(requested)
        except DomainError as exc:
            raise InvalidArgument(str(exc)) from exc
        if isinstance(parsed, ContinuousSymbol) and schedules is not None:
            schedule = schedules.load_schedule(parsed.exchange, parsed.variety)
        return cls(requested, schedule, allow_alias=allow_alias)

    @property
    def schedule_hash(self) -> str:
        return self._schedule.schedule_hash if self._schedule is not None else ""

    def resolve(self, day: date) -> Binding:
        """The execution contract on trading day ``day``."""
        if not self.continuous:
            return Binding(self.requested, self.requested, day, "contract")
        s = self._schedule
        if s is None:
            return Binding(self.requested, self.requested, day, "alias")
        row = s.row_on(day)
        if row is not None:
            return Binding(self.requested, row.main_contract, day, "schedule", row.segment_id)
        days = s.days
        if not days or day < days[0]:
            raise FailedPrecondition(f"the main schedule of {self.requested} starts after {day}")
        last = s.row_on(days[-1])
        assert last is not None
        if s.next_main is not None and s.next_main != last.main_contract:
            return Binding(self.requested, s.next_main, day, "schedule_next", last.segment_id + 1)
        return Binding(self.requested, last.main_contract, day, "schedule_last", last.segment_id)
