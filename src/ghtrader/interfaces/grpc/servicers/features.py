"""FeatureService: feature selection (a subprocess job) and the named feature sets."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import grpc

from ghtrader.application.errors import InvalidArgument, NotFound
from ghtrader.application.ports.feature_sets import FeatureSet, FeatureSetStore
from ghtrader.application.reporting import to_jsonable
from ghtrader.application.research.feature_selection import SelectFeatures, SelectRequest
from ghtrader.domain.factors import factor_names
from ghtrader.interfaces.grpc.jobs import InThreadLauncher, JobLauncher, JobSpec, Stop
from ghtrader.interfaces.grpc.server import ServiceRegistration
from ghtrader.interfaces.grpc.servicers.data import optional_field, parse_day
from ghtrader.interfaces.grpc.streaming import RunOutcome, Work
from ghtrader.v1 import features_pb2, features_pb2_grpc, runs_pb2

__all__ = ["FeatureServicer", "FeatureUseCases", "feature_service", "select_request"]

DEFAULT_SYMBOL = "KQ.m@SHFE.cu"


@dataclass(frozen=True)
class FeatureUseCases:
    select: Callable[[], SelectFeatures]
    store: Callable[[], FeatureSetStore]


def _opt(message: Any, name: str, default: Any) -> Any:
    value = optional_field(message, name)
    return default if value is None else value


def select_request(request: features_pb2.SelectFeaturesRequest) -> SelectRequest:
    """The use case's request from the gRPC one (defaults for unset optional fields)."""
    if not request.name:
        raise InvalidArgument("name is required (the feature set is stored under it)")
    try:
        params = json.loads(request.params_json) if request.params_json else {}
    except json.JSONDecodeError as exc:
        raise InvalidArgument(f"params_json is not JSON: {exc}") from None
    if not isinstance(params, dict):
        raise InvalidArgument("params_json must be a JSON object of hyper-parameters")
    candidates = tuple(request.candidates)
    if candidates == ("all",):
        candidates = tuple(factor_names())
    return SelectRequest(
        name=request.name,
        symbol=request.symbol or DEFAULT_SYMBOL,
        start_day=parse_day(request.start_day, "start_day"),
        end_day=parse_day(request.end_day, "end_day"),
        horizon=int(_opt(request, "horizon", 10)),
        candidates=candidates,
        ticks_lake="main_l5" if (request.symbol or DEFAULT_SYMBOL).startswith("KQ.m@") else "raw",
        generate=bool(request.generate),
        max_pairs=int(_opt(request, "max_pairs", 20)),
        min_mi=float(_opt(request, "min_mi", 0.0)),
        max_corr=float(_opt(request, "max_corr", 0.95)),
        family=request.family or "lightgbm",
        n_splits=int(_opt(request, "n_splits", 3)),
        min_features=int(_opt(request, "min_features", 5)),
        rfe_drop=float(_opt(request, "rfe_drop", 0.25)),
        max_rows=int(_opt(request, "max_rows", 50_000)),
        params=params,
        seed=int(request.seed),
    ).checked()


def _message(s: FeatureSet, with_selection: bool) -> features_pb2.FeatureSetMessage:
    return features_pb2.FeatureSetMessage(
        name=s.name,
        features=list(s.features),
        created_at_ns=int(s.created_at_ns),
        symbol=s.symbol,
        horizon=int(s.horizon),
        selection_json=json.dumps(to_jsonable(dict(s.selection)), sort_keys=True) if with_selection else "",
    )


class FeatureServicer(features_pb2_grpc.FeatureServiceServicer):
    def __init__(self, use_cases: FeatureUseCases, launcher: JobLauncher | None = None) -> None:
        self._uc = use_cases
        self._launcher = launcher or InThreadLauncher()
        self._specs = {s.command: s for s in self.job_specs()}

    def job_specs(self) -> tuple[JobSpec, ...]:
        """Selection writes one named set (last writer wins) and feature-registry rows (idempotent): no locks."""
        return (JobSpec("SelectFeatures", features_pb2.SelectFeaturesRequest, self._select_work),)

    def SelectFeatures(
        self, request: features_pb2.SelectFeaturesRequest, context: grpc.ServicerContext
    ) -> Iterator[runs_pb2.RunEvent]:
        return self._launcher.run(self._specs["SelectFeatures"], request, context)

    def _select_work(self, request: features_pb2.SelectFeaturesRequest, stop: Stop) -> Work:
        req = select_request(request)

        def work(progress: Callable[[int, int, str], None]) -> RunOutcome:
            r = self._uc.select()(req, progress)
            best = r.rounds[r.best_round]
            summary = (
                f"feature set {r.name}: {len(r.features)} of {r.candidates} candidates "
                f"(CV log-loss {best['cv_log_loss']:.4f}, round {r.best_round + 1} of {len(r.rounds)}): "
                + ", ".join(r.features[:8])
                + (" ..." if len(r.features) > 8 else "")
            )
            return RunOutcome(True, summary, r.to_payload(), r.stored_at)

        return work

    def ListFeatureSets(
        self, request: features_pb2.ListFeatureSetsRequest, context: grpc.ServicerContext
    ) -> features_pb2.ListFeatureSetsResponse:
        return features_pb2.ListFeatureSetsResponse(sets=[_message(s, False) for s in self._uc.store().list()])

    def GetFeatureSet(
        self, request: features_pb2.GetFeatureSetRequest, context: grpc.ServicerContext
    ) -> features_pb2.FeatureSetMessage:
        if not request.name:
            raise InvalidArgument("name is required")
        found = self._uc.store().get(request.name)
        if found is None:
            raise NotFound(f"no feature set {request.name!r} (see `ghtrader features sets`)")
        return _message(found, True)


def feature_service(use_cases: FeatureUseCases, launcher: JobLauncher | None = None) -> ServiceRegistration:
    servicer = FeatureServicer(use_cases, launcher)
    return ServiceRegistration(
        service_name=features_pb2.DESCRIPTOR.services_by_name["FeatureService"].full_name,
        register=lambda server: features_pb2_grpc.add_FeatureServiceServicer_to_server(servicer, server),
    )
