"""PipelineService: the main job over gRPC."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import grpc
from google.protobuf import json_format

from ghtrader.application.pipeline import (
    RunPipeline,
    RunPipelineRequest,
    RunPipelineResult,
)
from ghtrader.application.reporting import to_jsonable
from ghtrader.interfaces.grpc.jobs import InThreadLauncher, JobLauncher, JobSpec, Stop
from ghtrader.interfaces.grpc.server import ServiceRegistration
from ghtrader.interfaces.grpc.servicers.data import parse_day
from ghtrader.interfaces.grpc.streaming import RunOutcome, Work
from ghtrader.v1 import pipeline_pb2, pipeline_pb2_grpc, runs_pb2


def outcome_message(r: RunPipelineResult) -> pipeline_pb2.RunPipelineResult:
    """The typed outcome (ok, failed conditions, stages) of a pipeline result."""
    return pipeline_pb2.RunPipelineResult(
        ok=r.ok,
        failed_conditions=[
            pipeline_pb2.FailedCondition(name=c.name, subject=c.subject, detail=c.detail) for c in r.failed_conditions
        ],
        stages_completed=list(r.stages_completed),
        stage_errors=[pipeline_pb2.StageError(stage=e.stage, error=e.error, message=e.message) for e in r.stage_errors],
        start_day=r.start_day.isoformat(),
        end_day=r.end_day.isoformat(),
    )


def result_payload(r: RunPipelineResult) -> dict[str, Any]:
    """The full result as JSON-ready data, its typed fields written from the proto message."""
    payload: dict[str, Any] = to_jsonable(r)
    typed = json_format.MessageToDict(
        outcome_message(r), preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    payload.update(typed)
    return payload


def summary_line(r: RunPipelineResult) -> str:
    rows = sum(v.rows_written for v in r.varieties)
    audit = "not run" if r.audit is None else ("clean" if r.audit.ok else "ERRORS")
    missing = "n/a" if r.coverage is None else str(r.coverage.missing)
    line = (
        f"pipeline {r.start_day}..{r.end_day} ({r.trading_days} trading days): "
        f"{sum(len(v.contracts) for v in r.varieties)} contracts, {rows:,} rows ingested, "
        f"coverage missing {missing}, audit {audit} in {r.duration_s:.1f}s"
    )
    if r.failed_conditions:
        line += "; FAILED: " + ", ".join(f"{c.name} ({c.subject})" for c in r.failed_conditions)
    return line


class PipelineServicer(pipeline_pb2_grpc.PipelineServiceServicer):
    def __init__(self, run_pipeline: Callable[[], RunPipeline], launcher: JobLauncher | None = None) -> None:
        self._run_pipeline = run_pipeline
        self._launcher = launcher or InThreadLauncher()
        self._specs = {s.command: s for s in self.job_specs()}

    def job_specs(self) -> tuple[JobSpec, ...]:
        """The pipeline downloads (a TqSdk slot) and writes every stage; one at a time."""
        return (
            JobSpec(
                "RunPipeline",
                pipeline_pb2.RunPipelineRequest,
                self._run_pipeline_work,
                lambda _r: ("pipeline:main",),
                tqsdk=True,
            ),
        )

    def RunPipeline(
        self, request: pipeline_pb2.RunPipelineRequest, context: grpc.ServicerContext
    ) -> Iterator[runs_pb2.RunEvent]:
        return self._launcher.run(self._specs["RunPipeline"], request, context)

    def _run_pipeline_work(self, request: pipeline_pb2.RunPipelineRequest, stop: Stop) -> Work:
        fields: dict[str, Any] = {}
        if request.varieties:
            fields["varieties"] = tuple(request.varieties)
        if request.HasField("trading_days"):  # an explicit 0 reaches the use case, which refuses it
            fields["trading_days"] = request.trading_days
        if request.HasField("contracts_per_variety"):
            fields["contracts_per_variety"] = request.contracts_per_variety
        fields["end_day"] = parse_day(request.end_day, "end_day", required=False)
        fields["start_day"] = parse_day(request.start_day, "start_day", required=False)
        if request.skip_research:
            fields["research_families"] = ()
        req = RunPipelineRequest(**fields)

        def work(progress: Callable[[int, int, str], None]) -> RunOutcome:
            r = self._run_pipeline()(req, progress)
            report = r.audit.report_path if r.audit is not None else None
            return RunOutcome(r.ok, summary_line(r), result_payload(r), report)

        return work


def pipeline_service(
    run_pipeline: Callable[[], RunPipeline], launcher: JobLauncher | None = None
) -> ServiceRegistration:
    servicer = PipelineServicer(run_pipeline, launcher)
    return ServiceRegistration(
        service_name=pipeline_pb2.DESCRIPTOR.services_by_name["PipelineService"].full_name,
        register=lambda server: pipeline_pb2_grpc.add_PipelineServiceServicer_to_server(servicer, server),
    )
