"""HpoService: hyper-parameter optimisation studies over gRPC (RunHpo is a subprocess job)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import grpc

from ghtrader.application.errors import InvalidArgument
from ghtrader.application.ports.fanout import TaskResources
from ghtrader.application.research.hpo import HpoRequest, RunHpo, default_study_name
from ghtrader.interfaces.grpc.jobs import InThreadLauncher, JobLauncher, JobSpec, Stop
from ghtrader.interfaces.grpc.server import ServiceRegistration
from ghtrader.interfaces.grpc.servicers.data import optional_field
from ghtrader.interfaces.grpc.servicers.research import DEFAULT_SYMBOL, _benchmark_request, parse_scope
from ghtrader.interfaces.grpc.streaming import RunOutcome, Work
from ghtrader.interfaces.grpc.typed_results import hpo_trial
from ghtrader.v1 import hpo_pb2, hpo_pb2_grpc, runs_pb2


@dataclass(frozen=True)
class HpoUseCases:
    run: Callable[[], RunHpo]


def _study_name(request: hpo_pb2.RunHpoRequest) -> str:
    horizon = request.scope.horizon if request.scope.HasField("horizon") else 10
    return request.study or default_study_name(request.family, request.scope.symbol or DEFAULT_SYMBOL, horizon)


def _locks(request: hpo_pb2.RunHpoRequest) -> tuple[str, ...]:
    """One driver per study at a time (more drivers could join a study, but one job is enough)."""
    return (f"hpo:study={_study_name(request)}",)


def hpo_request(request: hpo_pb2.RunHpoRequest) -> HpoRequest:
    """The use case's request from the gRPC one (defaults for unset optional fields)."""
    if not request.family:
        raise InvalidArgument("family is required (e.g. lightgbm, logistic)")
    scope = parse_scope(request.scope)
    n_trials = optional_field(request, "n_trials")
    cpus = optional_field(request, "cpus_per_trial")
    gpus = optional_field(request, "gpus_per_trial")
    try:
        resources = TaskResources(cpus=1.0 if cpus is None else cpus, gpus=0.0 if gpus is None else gpus)
    except ValueError as exc:
        raise InvalidArgument(str(exc)) from exc
    if resources.cpus <= 0:
        raise InvalidArgument("cpus_per_trial must be > 0")
    return HpoRequest(
        family=request.family,
        base=_benchmark_request(request.family, scope, request),
        study=_study_name(request),
        n_trials=20 if n_trials is None else int(n_trials),
        timeout_s=optional_field(request, "timeout_s"),
        objectives=tuple(o for name in request.objectives for o in name.split(",") if o) or ("info_captured",),
        sampler=request.sampler,
        pruner=request.pruner or "median",
        space_text=request.space_yaml,
        parallel=optional_field(request, "parallel"),
        include_defaults=not request.no_defaults,
        resources=resources,
    )


class HpoServicer(hpo_pb2_grpc.HpoServiceServicer):
    def __init__(self, use_cases: HpoUseCases, launcher: JobLauncher | None = None) -> None:
        self._uc = use_cases
        self._launcher = launcher or InThreadLauncher()
        self._specs = {s.command: s for s in self.job_specs()}

    def job_specs(self) -> tuple[JobSpec, ...]:
        return (JobSpec("RunHpo", hpo_pb2.RunHpoRequest, self._run_work, _locks),)

    def RunHpo(self, request: hpo_pb2.RunHpoRequest, context: grpc.ServicerContext) -> Iterator[runs_pb2.RunEvent]:
        return self._launcher.run(self._specs["RunHpo"], request, context)

    def _run_work(self, request: hpo_pb2.RunHpoRequest, stop: Stop) -> Work:
        req = hpo_request(request)

        def work(progress: Callable[[int, int, str], None]) -> RunOutcome:
            r = self._uc.run()(req, progress, should_stop=stop)
            payload = r.to_payload()
            counts = r.counts()
            if r.best and len(r.objectives) == 1:
                b = r.best[0]
                head = f"best trial {b.number}: {r.objectives[0]} {b.values[0]:.4g}" if b.values else ""
                gain = r.improvement().get(r.objectives[0])
                if gain is not None and r.baseline is not None and r.baseline.values:
                    head += f" (defaults {r.baseline.values[0]:.4g}, gain {gain:+.4g})"
            elif r.best:
                head = f"Pareto front of {len(r.best)} trial(s)"
            else:
                head = "no trial completed"
            summary = (
                f"hpo {r.family} study {r.study}: {len(r.ran_now)} trial(s) run on {r.executor}; "
                f"{counts['completed']} completed, {counts['pruned']} pruned, {counts['failed']} failed in all; {head}"
            )
            html = (r.report_paths or {}).get("html_path", "")
            return RunOutcome(bool(r.best), summary, payload, html)

        return work

    def GetHpoStudy(
        self, request: hpo_pb2.GetHpoStudyRequest, context: grpc.ServicerContext
    ) -> hpo_pb2.GetHpoStudyResponse:
        if not request.study:
            raise InvalidArgument("study is required")
        r = self._uc.run().show(request.study)
        payload = r.to_payload()
        objectives = [str(o) for o in payload["objectives"]]
        return hpo_pb2.GetHpoStudyResponse(
            study=r.study,
            family=r.family,
            objectives=objectives,
            directions=list(r.directions),
            trials=[hpo_trial(t, objectives) for t in payload["trials"]],
            best=[hpo_trial(t, objectives) for t in payload["best"]],
        )


def hpo_service(use_cases: HpoUseCases, launcher: JobLauncher | None = None) -> ServiceRegistration:
    servicer = HpoServicer(use_cases, launcher)
    return ServiceRegistration(
        service_name=hpo_pb2.DESCRIPTOR.services_by_name["HpoService"].full_name,
        register=lambda server: hpo_pb2_grpc.add_HpoServiceServicer_to_server(servicer, server),
    )
