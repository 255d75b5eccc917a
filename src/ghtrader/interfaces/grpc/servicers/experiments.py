"""ExperimentService: list / get / diff / annotate experiment records and mirror them to MLflow."""

from __future__ import annotations

import json
import math
from collections.abc import Callable

import grpc

from ghtrader.application.errors import InvalidArgument
from ghtrader.application.experiments import Experiments
from ghtrader.application.ports.experiments import ExperimentFilter, ExperimentRecord
from ghtrader.interfaces.grpc.server import ServiceRegistration
from ghtrader.v1 import experiments_pb2, experiments_pb2_grpc

__all__ = ["experiment_message", "experiments_service"]

MAX_LIMIT = 10_000


def experiment_message(r: ExperimentRecord, *, curves: bool = True) -> experiments_pb2.Experiment:
    """The message of a record (``curves=False`` leaves its learning curves out)."""
    msg = experiments_pb2.Experiment(
        experiment_id=r.experiment_id,
        run_id=r.run_id,
        project=r.project,
        kind=r.kind,
        name=r.name,
        status=r.status,
        hyperparameters_json=json.dumps(r.hyperparameters, sort_keys=True, default=str),
        metrics={k: float(v) for k, v in r.metrics.items()},
        artifacts=list(r.artifacts),
        git_commit=r.git_commit,
        created_at_ns=r.created_at_ns,
        tags=list(r.tags),
        notes=r.notes,
        report_path=r.report_path,
        error=r.error,
    )
    if r.git_dirty is not None:
        msg.git_dirty = r.git_dirty
    if r.finished_at_ns is not None:
        msg.finished_at_ns = r.finished_at_ns
    if r.duration_s is not None:
        msg.duration_s = r.duration_s
    if curves:
        for name, points in r.learning_curves.items():
            msg.learning_curves.add(name=name, steps=[s for s, _ in points], values=[v for _, v in points])
    return msg


def _limit(value: int, has: bool, default: int) -> int:
    limit = value if has else default
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidArgument(f"limit must be in 1..{MAX_LIMIT}, got {limit}")
    return limit


class ExperimentServicer(experiments_pb2_grpc.ExperimentServiceServicer):
    def __init__(self, experiments: Callable[[], Experiments]) -> None:
        self._experiments = experiments  # opened on first call (the store starts with it)

    def ListExperiments(
        self, request: experiments_pb2.ListExperimentsRequest, context: grpc.ServicerContext
    ) -> experiments_pb2.ListExperimentsResponse:
        where = ExperimentFilter(
            project=request.project or None,
            kind=request.kind or None,
            tag=request.tag or None,
            status=request.status or None,
            since_ns=request.since_ns if request.HasField("since_ns") else None,
            limit=_limit(request.limit, request.HasField("limit"), 50),
        )
        found = self._experiments().list(where)
        return experiments_pb2.ListExperimentsResponse(experiments=[experiment_message(r, curves=False) for r in found])

    def GetExperiment(
        self, request: experiments_pb2.GetExperimentRequest, context: grpc.ServicerContext
    ) -> experiments_pb2.GetExperimentResponse:
        return experiments_pb2.GetExperimentResponse(
            experiment=experiment_message(self._experiments().get(request.ref))
        )

    def DiffExperiments(
        self, request: experiments_pb2.DiffExperimentsRequest, context: grpc.ServicerContext
    ) -> experiments_pb2.DiffExperimentsResponse:
        d = self._experiments().diff(request.a, request.b)
        out = experiments_pb2.DiffExperimentsResponse(
            a=experiment_message(d.a, curves=False),
            b=experiment_message(d.b, curves=False),
            parameters=[experiments_pb2.ParameterDifference(key=p.key, a=p.a, b=p.b) for p in d.parameters],
            same_code=d.same_code,
        )
        for m in d.metrics:
            row = out.metrics.add(key=m.key)
            if not math.isnan(m.a):
                row.a = m.a
            if not math.isnan(m.b):
                row.b = m.b
            if not math.isnan(m.delta):
                row.delta = m.delta
        return out

    def AnnotateExperiment(
        self, request: experiments_pb2.AnnotateExperimentRequest, context: grpc.ServicerContext
    ) -> experiments_pb2.AnnotateExperimentResponse:
        r = self._experiments().annotate(
            request.ref,
            notes=request.notes if request.HasField("notes") else None,
            add_tags=list(request.add_tags),
            remove_tags=list(request.remove_tags),
        )
        return experiments_pb2.AnnotateExperimentResponse(experiment=experiment_message(r, curves=False))

    def ExportExperiments(
        self, request: experiments_pb2.ExportExperimentsRequest, context: grpc.ServicerContext
    ) -> experiments_pb2.ExportExperimentsResponse:
        exported = self._experiments().export(
            since_ns=request.since_ns if request.HasField("since_ns") else None,
            limit=_limit(request.limit, request.HasField("limit"), 1000),
        )
        return experiments_pb2.ExportExperimentsResponse(
            exported=[
                experiments_pb2.ExportedExperiment(experiment_id=r.experiment_id, mlflow_run_id=run_id)
                for r, run_id in exported
            ]
        )


def experiments_service(experiments: Callable[[], Experiments]) -> ServiceRegistration:
    servicer = ExperimentServicer(experiments)
    return ServiceRegistration(
        service_name=experiments_pb2.DESCRIPTOR.services_by_name["ExperimentService"].full_name,
        register=lambda server: experiments_pb2_grpc.add_ExperimentServiceServicer_to_server(servicer, server),
    )
