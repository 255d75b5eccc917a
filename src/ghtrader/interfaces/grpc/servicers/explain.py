"""ExplainService: model explanations over gRPC (a subprocess job)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import grpc

from ghtrader.application.errors import InvalidArgument
from ghtrader.application.research.explain import ExplainModel
from ghtrader.application.research.explain_report import ExplainRequest
from ghtrader.interfaces.grpc.jobs import InThreadLauncher, JobLauncher, JobSpec, Stop
from ghtrader.interfaces.grpc.server import ServiceRegistration
from ghtrader.interfaces.grpc.servicers.data import optional_field, parse_day
from ghtrader.interfaces.grpc.streaming import RunOutcome, Work
from ghtrader.v1 import explain_pb2, explain_pb2_grpc, runs_pb2

__all__ = ["ExplainServicer", "explain_request", "explain_service"]


def _count(message: Any, name: str, default: int | None) -> int | None:
    value = optional_field(message, name)
    if value is None:
        return default
    if value < 1:
        raise InvalidArgument(f"{name} must be >= 1, got {value}")
    return int(value)


def explain_request(request: explain_pb2.ExplainRequest) -> ExplainRequest:
    """The use case's request from the gRPC one (defaults for unset optional fields)."""
    if not request.model_id:
        raise InvalidArgument("model_id is required (a registry id, see `ghtrader models`)")
    day = parse_day(request.day, "day")
    end = parse_day(request.end_day, "end_day", required=False) or day
    return ExplainRequest(
        model_id=request.model_id,
        version=request.version or None,
        day=day,
        end_day=end,
        tick_ts_ns=optional_field(request, "tick_ts_ns"),
        method=request.method or "auto",
        max_rows=_count(request, "max_rows", None),
        steps=_count(request, "steps", 32) or 32,
        permutation_repeats=_count(request, "permutation_repeats", 3) or 3,
        permutation_rows=_count(request, "permutation_rows", 20_000) or 20_000,
        top_k=_count(request, "top_k", 20) or 20,
        seed=int(request.seed),
    ).checked()


class ExplainServicer(explain_pb2_grpc.ExplainServiceServicer):
    def __init__(self, explain: Callable[[], ExplainModel], launcher: JobLauncher | None = None) -> None:
        self._explain = explain
        self._launcher = launcher or InThreadLauncher()
        self._specs = {s.command: s for s in self.job_specs()}

    def job_specs(self) -> tuple[JobSpec, ...]:
        """Explain reads the registry and the datasets and writes only its report: no locks."""
        return (JobSpec("Explain", explain_pb2.ExplainRequest, self._explain_work),)

    def Explain(
        self, request: explain_pb2.ExplainRequest, context: grpc.ServicerContext
    ) -> Iterator[runs_pb2.RunEvent]:
        return self._launcher.run(self._specs["Explain"], request, context)

    def _explain_work(self, request: explain_pb2.ExplainRequest, stop: Stop) -> Work:
        req = explain_request(request)

        def work(progress: Callable[[int, int, str], None]) -> RunOutcome:
            r = self._explain()(req, progress)
            top = ", ".join(g["feature"] for g in (r.global_importance or r.permutation)[:5])
            check = (
                f"; completeness max |error| {r.completeness_max_abs_error:.2e}"
                if r.completeness_max_abs_error is not None
                else ""
            )
            summary = (
                f"explain {r.model_id} v{r.version} ({r.family}) {r.start_day}..{r.end_day}: "
                f"{'+'.join(r.methods) or 'no attributions'} on {r.rows} rows; top features {top}{check}"
            )
            html = (r.report_paths or {}).get("html_path", "")
            payload = r.to_payload()
            # the attention matrices stay in the report's JSON file; the job result keeps the summaries
            payload["attention"] = [
                {k: v for k, v in e.items() if k not in ("tick_map", "mean_map")} for e in payload["attention"]
            ]
            return RunOutcome(True, summary, payload, html)

        return work


def explain_service(explain: Callable[[], ExplainModel], launcher: JobLauncher | None = None) -> ServiceRegistration:
    servicer = ExplainServicer(explain, launcher)
    return ServiceRegistration(
        service_name=explain_pb2.DESCRIPTOR.services_by_name["ExplainService"].full_name,
        register=lambda server: explain_pb2_grpc.add_ExplainServiceServicer_to_server(servicer, server),
    )
