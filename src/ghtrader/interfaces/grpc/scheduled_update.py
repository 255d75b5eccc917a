"""The daily update's view of the job registry: active ``update`` jobs of a target, and
submitting one as a scheduler job through the same JobControl as every RPC."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ghtrader.application.daily_update import DailyUpdateDecision, UpdateTarget
from ghtrader.application.ports.jobs import ACTIVE_STATES
from ghtrader.interfaces.grpc.jobs import JobControl, JobSpec
from ghtrader.v1 import data_pb2, research_pb2

__all__ = [
    "DAILY_TRAIN_REQUEST_TYPE",
    "UPDATE_REQUEST_TYPE",
    "JobDailyTrainJobs",
    "JobUpdateJobs",
    "describe_decisions",
]

UPDATE_REQUEST_TYPE = str(data_pb2.UpdateRequest.DESCRIPTOR.full_name)
DAILY_TRAIN_REQUEST_TYPE = str(research_pb2.DailyTrainRequest.DESCRIPTOR.full_name)


def _active_job(control: JobControl, request_type: str, matches: Callable[[dict[str, Any]], bool]) -> int | None:
    """The id of a queued or running job of ``request_type`` whose arguments ``matches``."""
    for job in control.store.list_jobs(states=ACTIVE_STATES, limit=100_000):
        if job.request_type == request_type and matches(json.loads(job.args_json)):
            return job.id
    return None


class JobUpdateJobs:
    """UpdateJobs over JobControl with the data servicer's ``Update`` job spec."""

    def __init__(self, control: JobControl, spec: JobSpec) -> None:
        if spec.type_name != UPDATE_REQUEST_TYPE:
            raise ValueError(f"expected the Update job spec, got {spec.type_name}")
        self._control = control
        self._spec = spec

    def active_update(self, target: UpdateTarget) -> int | None:
        return _active_job(self._control, UPDATE_REQUEST_TYPE, lambda a: a.get("variety") == target.variety_symbol)

    def submit_update(self, target: UpdateTarget, recent_expired_days: int) -> int:
        request = data_pb2.UpdateRequest(variety=target.variety_symbol, recent_expiry_days=recent_expired_days)
        self._spec.build(request, lambda: False)  # validate before a job exists, as an RPC does
        return self._control.submit(self._spec, request, source="scheduler").id


class JobDailyTrainJobs:
    """DailyTrainJobs over JobControl with the research servicer's ``DailyTrain`` job spec."""

    def __init__(self, control: JobControl, spec: JobSpec, family: str = "") -> None:
        if spec.type_name != DAILY_TRAIN_REQUEST_TYPE:
            raise ValueError(f"expected the DailyTrain job spec, got {spec.type_name}")
        self._control = control
        self._spec = spec
        self._family = family

    def active_daily_train(self, symbol: str) -> int | None:
        return _active_job(
            self._control, DAILY_TRAIN_REQUEST_TYPE, lambda a: (a.get("scope") or {}).get("symbol") == symbol
        )

    def submit_daily_train(self, symbol: str) -> int:
        request = research_pb2.DailyTrainRequest(scope=research_pb2.ResearchScope(symbol=symbol), family=self._family)
        self._spec.build(request, lambda: False)
        return self._control.submit(self._spec, request, source="scheduler").id


def describe_decisions(decisions: list[DailyUpdateDecision]) -> str:
    """One line per target: ``SHFE:cu: submitted job 7 (trading day 2024-03-13)``."""
    if not decisions:
        return "no daily update targets"
    parts = []
    for d in decisions:
        job = f" job {d.job_id}" if d.job_id else ""
        parts.append(f"{d.target}: {d.action}{job} (trading day {d.trading_day}; {d.reason})")
    return "\n".join(parts)
