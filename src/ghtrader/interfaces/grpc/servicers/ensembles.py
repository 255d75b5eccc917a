"""EnsembleService: create, list, show and roll back ensemble configurations (unary RPCs)."""

from __future__ import annotations

import json
from collections.abc import Callable

import grpc

from ghtrader.application.errors import InvalidArgument
from ghtrader.application.ports.ensembles import EnsembleConfig
from ghtrader.application.research.ensemble_configs import PREFIX, EnsembleConfigs
from ghtrader.interfaces.grpc.server import ServiceRegistration
from ghtrader.v1 import ensembles_pb2, ensembles_pb2_grpc

__all__ = ["EnsembleServicer", "config_message", "ensembles_service"]


def config_message(c: EnsembleConfig) -> ensembles_pb2.EnsembleConfig:
    return ensembles_pb2.EnsembleConfig(
        ensemble_id=c.ensemble_id,
        version=c.version,
        member_models=list(c.member_models),
        strategy=c.strategy,
        weights=list(c.weights),
        performance_window_days=c.performance_window_days,
        params_json=json.dumps(dict(c.params), sort_keys=True),
        config_hash=c.config_hash,
        created_at_ns=c.created_at_ns,
        active=c.active,
        note=c.note,
        family=f"{PREFIX}{c.ensemble_id}@{c.version}",
        registered=bool(c.params.get("registered")),
    )


class EnsembleServicer(ensembles_pb2_grpc.EnsembleServiceServicer):
    def __init__(self, configs: Callable[[], EnsembleConfigs]) -> None:
        self._configs = configs

    def CreateEnsemble(
        self, request: ensembles_pb2.CreateEnsembleRequest, context: grpc.ServicerContext
    ) -> ensembles_pb2.EnsembleConfig:
        try:
            params = json.loads(request.params_json) if request.params_json else {}
        except json.JSONDecodeError as exc:
            raise InvalidArgument(f"params_json is not JSON: {exc}") from exc
        if not isinstance(params, dict):
            raise InvalidArgument("params_json must be a JSON object")
        if request.dynamic_metric:
            params["dynamic_metric"] = request.dynamic_metric
        saved = self._configs().create(
            request.ensemble_id,
            list(request.member_models),
            request.strategy,
            weights=list(request.weights),
            performance_window_days=request.performance_window_days,
            params=params,
            note=request.note,
            registered=list(request.registered_models),
        )
        return config_message(saved)

    def ListEnsembles(
        self, request: ensembles_pb2.ListEnsemblesRequest, context: grpc.ServicerContext
    ) -> ensembles_pb2.ListEnsemblesResponse:
        rows = self._configs().list(request.ensemble_id or None)
        return ensembles_pb2.ListEnsemblesResponse(ensembles=[config_message(c) for c in rows])

    def GetEnsemble(
        self, request: ensembles_pb2.GetEnsembleRequest, context: grpc.ServicerContext
    ) -> ensembles_pb2.EnsembleConfig:
        version = request.version if request.HasField("version") else None
        return config_message(self._configs().show(request.ensemble_id, version))

    def RollbackEnsemble(
        self, request: ensembles_pb2.RollbackEnsembleRequest, context: grpc.ServicerContext
    ) -> ensembles_pb2.EnsembleConfig:
        return config_message(self._configs().rollback(request.ensemble_id, request.version))


def ensembles_service(configs: Callable[[], EnsembleConfigs]) -> ServiceRegistration:
    """``configs`` returns the use case (a provider: the store opens on the first call)."""
    servicer = EnsembleServicer(configs)
    return ServiceRegistration(
        service_name=ensembles_pb2.DESCRIPTOR.services_by_name["EnsembleService"].full_name,
        register=lambda server: ensembles_pb2_grpc.add_EnsembleServiceServicer_to_server(servicer, server),
    )
