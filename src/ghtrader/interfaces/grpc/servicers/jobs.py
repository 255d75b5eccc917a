"""JobsService: list, inspect, tail, cancel jobs; list locks."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import grpc

from ghtrader.application.errors import InvalidArgument, NotFound
from ghtrader.application.ports.jobs import JOB_SOURCES, JOB_STATES, JobRecord
from ghtrader.interfaces.grpc.jobs import JobControl
from ghtrader.interfaces.grpc.server import ServiceRegistration
from ghtrader.v1 import jobs_pb2, jobs_pb2_grpc

_CHUNK = 64 * 1024


def job_message(j: JobRecord) -> jobs_pb2.Job:
    o = j.outcome
    return jobs_pb2.Job(
        id=j.id,
        command=j.command,
        args_json=j.args_json,
        source=j.source,
        state=j.state,
        pid=j.pid or 0,
        pgid=j.pgid or 0,
        created_ns=j.created_ns,
        start_ns=j.start_ns or 0,
        end_ns=j.end_ns or 0,
        duration_s=j.duration_s or 0.0,
        has_exit_code=j.exit_code is not None,
        exit_code=j.exit_code or 0,
        error_kind=j.error_kind,
        error=j.error,
        locks_wanted=list(j.locks_wanted),
        locks_held=list(j.locks_held),
        waited_for=j.waited_for,
        tqsdk=j.tqsdk,
        no_wait=j.no_wait,
        progress_done=j.progress_done,
        progress_total=j.progress_total,
        progress_message=j.progress_message,
        log_path=j.log_path,
        has_result=o is not None,
        ok=o.ok if o else False,
        summary=o.summary if o else "",
        report_path=o.report_path if o else "",
        result_json=o.result_json if o else "",
    )


class JobsServicer(jobs_pb2_grpc.JobsServiceServicer):
    def __init__(self, control: JobControl, poll_s: float = 0.2) -> None:
        self._control = control
        self._poll_s = poll_s

    def _job(self, job_id: int) -> JobRecord:
        job = self._control.store.get(job_id)
        if job is None:
            raise NotFound(f"no job {job_id} (see `ghtrader jobs list`)")
        return job

    def ListJobs(self, request: jobs_pb2.ListJobsRequest, context: grpc.ServicerContext) -> jobs_pb2.ListJobsResponse:
        bad = [s for s in request.states if s not in JOB_STATES]
        if bad:
            raise InvalidArgument(f"unknown state(s) {bad}: use {', '.join(JOB_STATES)}")
        if request.source and request.source not in JOB_SOURCES:
            raise InvalidArgument(f"unknown source {request.source!r}: use {', '.join(JOB_SOURCES)}")
        jobs = self._control.store.list_jobs(
            states=list(request.states),  # type: ignore[arg-type]  # checked above
            source=request.source or None,  # type: ignore[arg-type]
            limit=request.limit or 100,
        )
        return jobs_pb2.ListJobsResponse(jobs=[job_message(j) for j in jobs])

    def GetJob(self, request: jobs_pb2.GetJobRequest, context: grpc.ServicerContext) -> jobs_pb2.GetJobResponse:
        return jobs_pb2.GetJobResponse(job=job_message(self._job(request.job_id)))

    def TailJobLog(
        self, request: jobs_pb2.TailJobLogRequest, context: grpc.ServicerContext
    ) -> Iterator[jobs_pb2.TailJobLogResponse]:
        job = self._job(request.job_id)
        path = Path(job.log_path)
        size = path.stat().st_size if path.exists() else 0
        offset = max(0, size + request.offset) if request.offset < 0 else request.offset
        while True:
            finished = self._job(request.job_id).finished  # read before the file: no output is missed
            if path.exists():
                with path.open("rb") as f:
                    f.seek(offset)
                    while chunk := f.read(_CHUNK):
                        offset += len(chunk)
                        yield jobs_pb2.TailJobLogResponse(text=chunk.decode("utf-8", "replace"), next_offset=offset)
            if not request.follow or finished or not context.is_active():
                return
            time.sleep(self._poll_s)

    def CancelJob(
        self, request: jobs_pb2.CancelJobRequest, context: grpc.ServicerContext
    ) -> jobs_pb2.CancelJobResponse:
        self._job(request.job_id)
        grace = request.grace_s if request.HasField("grace_s") else None
        if grace is not None and not grace >= 0:
            raise InvalidArgument(f"grace_s must be >= 0, got {grace}")
        return jobs_pb2.CancelJobResponse(job=job_message(self._control.cancel(request.job_id, grace_s=grace)))

    def ListLocks(
        self, request: jobs_pb2.ListLocksRequest, context: grpc.ServicerContext
    ) -> jobs_pb2.ListLocksResponse:
        return jobs_pb2.ListLocksResponse(
            locks=[
                jobs_pb2.Lock(key=h.key, job_id=h.job_id, pid=h.pid, acquired_ns=h.acquired_ns)
                for h in self._control.store.holders()
            ]
        )


def jobs_service(control: JobControl) -> ServiceRegistration:
    servicer = JobsServicer(control)
    return ServiceRegistration(
        service_name=jobs_pb2.DESCRIPTOR.services_by_name["JobsService"].full_name,
        register=lambda server: jobs_pb2_grpc.add_JobsServiceServicer_to_server(servicer, server),
    )
