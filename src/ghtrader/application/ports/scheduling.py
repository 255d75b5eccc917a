"""The server's scheduler as the application and the gRPC layer see it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

__all__ = ["ScheduleCallback", "ScheduleInfo", "Scheduler"]

ScheduleCallback = Callable[[], str]  # one firing; returns a line saying what it did


@dataclass(frozen=True)
class ScheduleInfo:
    """One stored schedule."""

    schedule_id: str
    description: str
    trigger: str  # e.g. "cron[day_of_week='mon-fri', hour='16', minute='30']"
    timezone: str
    next_run_ns: int  # 0: none planned
    last_fired_ns: int  # 0: not fired (nor missed) since the server started
    last_result: str
    misfire_grace_s: int
    coalesce: bool


class Scheduler(Protocol):
    """Schedules stored persistently and fired in this (the server's) process."""

    @property
    def running(self) -> bool: ...

    def add_cron(self, schedule_id: str, crontab: str, description: str, callback: ScheduleCallback) -> None:
        """Store (or replace) a schedule firing on a 5-field crontab; ValueError on a bad one."""
        ...

    def start(self) -> None: ...

    def shutdown(self) -> None: ...

    def run_now(self, schedule_id: str) -> str:
        """Fire one schedule now; KeyError for an unknown id."""
        ...

    def schedules(self) -> list[ScheduleInfo]: ...
