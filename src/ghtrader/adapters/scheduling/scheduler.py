"""The server's scheduler: APScheduler 3.x ``BackgroundScheduler`` with a persistent job store.

Schedules are stored in SQLite (``SQLAlchemyJobStore``), so a restart keeps them and their next
run times. APScheduler's own advice is followed: one scheduler process (the server) owns the
store, and everything else reaches it over gRPC. Missed runs: ``coalesce=True`` (a backlog of
missed firings runs once) and an explicit ``misfire_grace_time`` (a firing later than that, e.g.
the server was down over the whole window, is skipped and logged; the next one runs as planned).

The stored job is a text reference to :func:`fire` with the schedule id, so nothing of the
server's objects is pickled: the server registers the callback of each id when it starts.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.events import EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from ghtrader.application.ports.scheduling import ScheduleCallback, ScheduleInfo

__all__ = ["ServerScheduler", "fire"]

log = logging.getLogger(__name__)
BEIJING = ZoneInfo("Asia/Shanghai")


_LOCK = threading.Lock()
_CALLBACKS: dict[str, ScheduleCallback] = {}
_LAST: dict[str, tuple[int, str]] = {}  # schedule id -> (fired at ns, what it said)


def fire(schedule_id: str) -> None:
    """The stored jobs' target: run the callback this process registered for ``schedule_id``."""
    with _LOCK:
        callback = _CALLBACKS.get(schedule_id)
    if callback is None:
        log.warning("schedule %s fired with no callback registered in this process", schedule_id)
        return
    now = time.time_ns()
    try:
        said = callback()
    except Exception as exc:  # noqa: BLE001 - a failed firing is recorded and the schedule goes on
        said = f"failed: {type(exc).__name__}: {exc}"
        log.exception("schedule %s failed", schedule_id)
    else:
        log.info("schedule %s: %s", schedule_id, said)
    with _LOCK:
        _LAST[schedule_id] = (now, said)


class ServerScheduler:
    """APScheduler in the server process over a persistent SQLite store at ``db_path``."""

    def __init__(self, db_path: Path, *, misfire_grace_s: int = 3600, timezone: ZoneInfo = BEIJING) -> None:
        if misfire_grace_s < 1:
            raise ValueError(f"misfire_grace_s must be >= 1, got {misfire_grace_s}")
        self.db_path = Path(db_path)
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        self.misfire_grace_s = int(misfire_grace_s)
        self.timezone = timezone
        self._scheduler = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(url=f"sqlite:///{self.db_path}")},
            job_defaults={"coalesce": True, "misfire_grace_time": self.misfire_grace_s, "max_instances": 1},
            timezone=timezone,
        )
        self._scheduler.add_listener(self._missed, EVENT_JOB_MISSED)
        self._ids: set[str] = set()

    @staticmethod
    def _missed(event: JobExecutionEvent) -> None:
        log.warning("schedule %s missed its run of %s (later than the misfire grace time)",
                    event.job_id, event.scheduled_run_time)  # fmt: skip
        with _LOCK:
            _LAST[event.job_id] = (time.time_ns(), f"missed the run of {event.scheduled_run_time}")

    def add_cron(self, schedule_id: str, crontab: str, description: str, callback: ScheduleCallback) -> None:
        """Store (or replace) a schedule firing on ``crontab`` (5 fields, this scheduler's time
        zone) and register the callback it runs in this process. ValueError on a bad crontab."""
        trigger = CronTrigger.from_crontab(crontab, timezone=self.timezone)
        with _LOCK:
            _CALLBACKS[schedule_id] = callback
        self._ids.add(schedule_id)
        self._scheduler.add_job(
            f"{__name__}:fire", trigger, args=[schedule_id], id=schedule_id, name=description,
            replace_existing=True,
        )  # fmt: skip

    def start(self) -> None:
        """Start firing; stored schedules this server no longer configures are removed first."""
        self._scheduler.start(paused=True)
        for job in self._scheduler.get_jobs():
            if job.id not in self._ids:
                log.info("removing schedule %s: no longer configured", job.id)
                job.remove()
        self._scheduler.resume()

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        with _LOCK:
            for sid in self._ids:
                _CALLBACKS.pop(sid, None)

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    def run_now(self, schedule_id: str) -> str:
        """Fire ``schedule_id`` now, in the caller's thread (its stored next run is unchanged)."""
        if schedule_id not in self._ids:
            raise KeyError(schedule_id)
        fire(schedule_id)
        with _LOCK:
            return _LAST[schedule_id][1]

    def schedules(self) -> list[ScheduleInfo]:
        out = []
        for job in self._scheduler.get_jobs():
            nxt: datetime | None = getattr(job, "next_run_time", None)
            with _LOCK:
                fired, said = _LAST.get(job.id, (0, ""))
            out.append(
                ScheduleInfo(
                    job.id,
                    str(job.name),
                    str(job.trigger),
                    str(self.timezone),
                    int(nxt.timestamp() * 1e9) if nxt is not None else 0,
                    fired,
                    said,
                    int(job.misfire_grace_time or 0),
                    bool(job.coalesce),
                )  # fmt: skip
            )
        return sorted(out, key=lambda s: s.schedule_id)

    def job(self, schedule_id: str) -> Any:
        """APScheduler's job (tests and diagnostics)."""
        return self._scheduler.get_job(schedule_id)
