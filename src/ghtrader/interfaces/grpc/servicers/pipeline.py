"""PipelineService: the main job over gRPC."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import grpc

from ghtrader.application.pipeline import RunPipeline, RunPipelineRequest
from ghtrader.interfaces.grpc.server import ServiceRegistration
from ghtrader.interfaces.grpc.servicers.data import parse_day
from ghtrader.interfaces.grpc.streaming import RunOutcome, stream_run
from ghtrader.v1 import pipeline_pb2, pipeline_pb2_grpc, runs_pb2


class PipelineServicer(pipeline_pb2_grpc.PipelineServiceServicer):
    def __init__(self, run_pipeline: Callable[[], RunPipeline]) -> None:
        self._run_pipeline = run_pipeline

    def RunPipeline(self, request: pipeline_pb2.RunPipelineRequest, context: grpc.ServicerContext) -> Iterator[runs_pb2.RunEvent]:
        fields: dict[str, Any] = {}
        if request.varieties:
            fields["varieties"] = tuple(request.varieties)
        if request.trading_days:
            fields["trading_days"] = request.trading_days
        if request.contracts_per_variety:
            fields["contracts_per_variety"] = request.contracts_per_variety
        fields["end_day"] = parse_day(request.end_day, "end_day", required=False)
        if request.skip_research:
            fields["research_families"] = ()
        req = RunPipelineRequest(**fields)

        def work(progress: Callable[[int, int, str], None]) -> RunOutcome:
            r = self._run_pipeline()(req, progress)
            rows = sum(v.rows_written for v in r.varieties)
            summary = (
                f"pipeline {r.start_day}..{r.end_day} ({r.trading_days} trading days): "
                f"{sum(len(v.contracts) for v in r.varieties)} contracts, {rows:,} rows ingested, "
                f"coverage missing {r.coverage.missing}, audit {'clean' if r.audit.ok else 'ERRORS'} "
                f"in {r.duration_s:.1f}s"
            )
            return RunOutcome(r.ok, summary, r, r.audit.report_path)

        return stream_run(work, context)


def pipeline_service(run_pipeline: Callable[[], RunPipeline]) -> ServiceRegistration:
    servicer = PipelineServicer(run_pipeline)
    return ServiceRegistration(
        service_name=pipeline_pb2.DESCRIPTOR.services_by_name["PipelineService"].full_name,
        register=lambda server: pipeline_pb2_grpc.add_PipelineServiceServicer_to_server(servicer, server),
    )
