"""JobsService: list, inspect, tail, cancel jobs; list locks."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import grpc

from ghtrader.application.errors import FailedPrecondition, InvalidArgument, NotFound
from ghtrader.application.ports.jobs import JOB_SOURCES, JOB_STATES, JobRecord
from ghtrader.application.run_manifest import ManifestComparison, ManifestStore, compare_manifests
from ghtrader.interfaces.grpc.jobs import NO_WAIT_HEADER, JobControl, JobSpec, call_source
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
        git_commit=j.git_commit,
        git_dirty_known=j.git_dirty is not None,
        git_dirty=bool(j.git_dirty),
        manifest_path=j.manifest_path,
    )


def comparison_message(c: ManifestComparison, original_path: str, reproduced_path: str) -> jobs_pb2.CompareJobsResponse:
    return jobs_pb2.CompareJobsResponse(
        equal=c.equal,
        differences=[
            jobs_pb2.ManifestDifference(
                section=d.section,
                key=d.key,
                original=d.original,
                reproduced=d.reproduced,
                abs_diff=d.abs_diff or 0.0,
            )
            for d in c.differences
        ],
        warnings=list(c.warnings),
        notes=list(c.notes),
        metrics_compared=c.metrics_compared,
        rtol=c.rtol,
        atol=c.atol,
        original_manifest_path=original_path,
        reproduced_manifest_path=reproduced_path,
    )


class JobsServicer(jobs_pb2_grpc.JobsServiceServicer):
    def __init__(
        self,
        control: JobControl,
        catalog: Mapping[str, JobSpec] | None = None,
        manifests: ManifestStore | None = None,
        poll_s: float = 0.2,
    ) -> None:
        self._control = control
        self._catalog = dict(catalog or {})
        self._manifests = manifests
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
            before_id=request.before_id if request.HasField("before_id") else None,
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

    def ReproduceJob(
        self, request: jobs_pb2.ReproduceJobRequest, context: grpc.ServicerContext
    ) -> jobs_pb2.ReproduceJobResponse:
        original = self._job(request.job_id)
        if not original.finished:
            raise FailedPrecondition(f"job {original.id} is still {original.state}: reproduce it once it has ended")
        spec = self._catalog.get(original.request_type)
        if spec is None:
            raise FailedPrecondition(f"job {original.id} ({original.command}) cannot be rerun by this server")
        try:
            job_request: Any = spec.request_type.FromString(base64.b64decode(original.request_b64))
        except Exception as exc:  # noqa: BLE001 - a stored request this server cannot read
            raise FailedPrecondition(f"job {original.id}'s stored request cannot be read: {exc}") from exc
        spec.build(job_request, lambda: False)  # validated again: the data or settings may have changed
        meta = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in context.invocation_metadata() or ()}
        no_wait = meta.get(NO_WAIT_HEADER, "").lower() in ("1", "true", "yes")
        job = self._control.submit(spec, job_request, source=call_source(context), no_wait=no_wait)
        return jobs_pb2.ReproduceJobResponse(original=job_message(original), job=job_message(job))

    def _manifest(self, job_id: int) -> tuple[str, dict[str, Any]]:
        job = self._job(job_id)
        if not job.finished:
            raise FailedPrecondition(f"job {job_id} is still {job.state}: its run manifest is written when it ends")
        if not job.manifest_path or self._manifests is None:
            raise FailedPrecondition(f"job {job_id} has no run manifest (it ran before manifests were recorded)")
        try:
            return job.manifest_path, self._manifests.read(job.manifest_path)
        except FileNotFoundError:
            raise NotFound(f"job {job_id}'s run manifest {job.manifest_path} is gone") from None

    def CompareJobs(
        self, request: jobs_pb2.CompareJobsRequest, context: grpc.ServicerContext
    ) -> jobs_pb2.CompareJobsResponse:
        rtol = request.rtol if request.HasField("rtol") else 1e-6
        atol = request.atol if request.HasField("atol") else 1e-9
        if not (rtol >= 0 and atol >= 0):
            raise InvalidArgument(f"rtol and atol must be >= 0, got {rtol} and {atol}")
        path_a, a = self._manifest(request.original_job_id)
        path_b, b = self._manifest(request.reproduced_job_id)
        return comparison_message(compare_manifests(a, b, rtol=rtol, atol=atol), path_a, path_b)


def jobs_service(
    control: JobControl, catalog: Mapping[str, JobSpec] | None = None, manifests: ManifestStore | None = None
) -> ServiceRegistration:
    servicer = JobsServicer(control, catalog, manifests)
    return ServiceRegistration(
        service_name=jobs_pb2.DESCRIPTOR.services_by_name["JobsService"].full_name,
        register=lambda server: jobs_pb2_grpc.add_JobsServiceServicer_to_server(servicer, server),
    )
