"""SchedulerService: the server's stored schedules and the daily update ledger."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import grpc

from ghtrader.application.daily_update import LedgerEntry
from ghtrader.application.errors import InvalidArgument, NotFound
from ghtrader.application.ports.scheduling import Scheduler
from ghtrader.interfaces.grpc.server import ServiceRegistration
from ghtrader.v1 import scheduler_pb2, scheduler_pb2_grpc

__all__ = ["SchedulerUseCases", "scheduler_service"]


@dataclass(frozen=True)
class SchedulerUseCases:
    scheduler: Callable[[], Scheduler]  # the running scheduler (started with the server)
    claims: Callable[[int], Sequence[LedgerEntry]]  # newest daily update claims
    targets: Sequence[str]  # the configured daily update targets, e.g. ("SHFE:cu",)


class SchedulerServicer(scheduler_pb2_grpc.SchedulerServiceServicer):
    def __init__(self, uc: SchedulerUseCases) -> None:
        self._uc = uc

    def ListSchedules(
        self, request: scheduler_pb2.ListSchedulesRequest, context: grpc.ServicerContext
    ) -> scheduler_pb2.ListSchedulesResponse:
        limit = request.claims_limit if request.HasField("claims_limit") else 20
        if limit < 0:
            raise InvalidArgument(f"claims_limit must be >= 0, got {limit}")
        sched = self._uc.scheduler()
        return scheduler_pb2.ListSchedulesResponse(
            running=sched.running,
            schedules=[
                scheduler_pb2.Schedule(
                    schedule_id=s.schedule_id,
                    description=s.description,
                    trigger=s.trigger,
                    timezone=s.timezone,
                    next_run_ns=s.next_run_ns,
                    last_fired_ns=s.last_fired_ns,
                    last_result=s.last_result,
                    misfire_grace_s=s.misfire_grace_s,
                    coalesce=s.coalesce,
                )  # fmt: skip
                for s in sched.schedules()
            ],
            claims=[
                scheduler_pb2.DailyUpdateClaim(
                    target=c.target, trading_day=c.trading_day.isoformat(), claimed_ns=c.claimed_ns, job_id=c.job_id
                )
                for c in self._uc.claims(limit)
            ],
            daily_update_targets=list(self._uc.targets),
        )

    def RunSchedule(
        self, request: scheduler_pb2.RunScheduleRequest, context: grpc.ServicerContext
    ) -> scheduler_pb2.RunScheduleResponse:
        if not request.schedule_id:
            raise InvalidArgument("schedule_id is required (see `ghtrader schedules`)")
        try:
            said = self._uc.scheduler().run_now(request.schedule_id)
        except KeyError:
            raise NotFound(f"no schedule {request.schedule_id!r} (see `ghtrader schedules`)") from None
        return scheduler_pb2.RunScheduleResponse(result=said)


def scheduler_service(uc: SchedulerUseCases) -> ServiceRegistration:
    servicer = SchedulerServicer(uc)
    return ServiceRegistration(
        service_name=scheduler_pb2.DESCRIPTOR.services_by_name["SchedulerService"].full_name,
        register=lambda server: scheduler_pb2_grpc.add_SchedulerServiceServicer_to_server(servicer, server),
    )
