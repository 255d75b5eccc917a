"""RegimeService: fit and decode market regimes (jobs) and list them."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import grpc

from ghtrader.application.errors import InvalidArgument
from ghtrader.application.regimes import (
    DecodeRegimes,
    DecodeRequest,
    FitRegimeModel,
    FitRequest,
    ListRegimes,
)
from ghtrader.application.reporting import to_jsonable
from ghtrader.domain.regimes import ObservationConfig
from ghtrader.interfaces.grpc.jobs import InThreadLauncher, JobLauncher, JobSpec, Stop
from ghtrader.interfaces.grpc.server import ServiceRegistration
from ghtrader.interfaces.grpc.servicers.data import optional_field, parse_day
from ghtrader.interfaces.grpc.streaming import RunOutcome, Work
from ghtrader.v1 import regimes_pb2, regimes_pb2_grpc, runs_pb2

__all__ = ["RegimeServicer", "RegimeUseCases", "regime_service"]


@dataclass(frozen=True)
class RegimeUseCases:
    fit: Callable[[], FitRegimeModel]
    decode: Callable[[], DecodeRegimes]
    overview: Callable[[], ListRegimes]


def _observation(request: Any) -> ObservationConfig:
    window = optional_field(request, "window")
    if window is None:
        return ObservationConfig()
    if window < 2:
        raise InvalidArgument("window must be >= 2")
    return ObservationConfig(window=int(window), min_periods=max(1, int(window) // 6))


def _required_symbol(request: Any) -> str:
    if not request.symbol:
        raise InvalidArgument("symbol is required (e.g. KQ.m@SHFE.cu)")
    return str(request.symbol)


def _regime_locks(request: Any) -> tuple[str, ...]:
    return (f"regime:symbol={request.symbol}",)


class RegimeServicer(regimes_pb2_grpc.RegimeServiceServicer):
    def __init__(self, use_cases: RegimeUseCases, launcher: JobLauncher | None = None) -> None:
        self._uc = use_cases
        self._launcher = launcher or InThreadLauncher()
        self._specs = {s.command: s for s in self.job_specs()}

    def job_specs(self) -> tuple[JobSpec, ...]:
        """Fit and decode run as jobs; decode writes the symbol's regime states."""
        return (
            JobSpec("FitRegimes", regimes_pb2.FitRegimesRequest, self._fit_work),
            JobSpec("DecodeRegimes", regimes_pb2.DecodeRegimesRequest, self._decode_work, _regime_locks),
        )

    def FitRegimes(
        self, request: regimes_pb2.FitRegimesRequest, context: grpc.ServicerContext
    ) -> Iterator[runs_pb2.RunEvent]:
        return self._launcher.run(self._specs["FitRegimes"], request, context)

    def _fit_work(self, request: regimes_pb2.FitRegimesRequest, stop: Stop) -> Work:
        states = optional_field(request, "states")
        n_iter = optional_field(request, "n_iter")
        req = FitRequest(
            symbol=_required_symbol(request),
            start_day=parse_day(request.start_day, "start_day"),
            end_day=parse_day(request.end_day, "end_day"),
            n_states=3 if states is None else int(states),
            seeds=tuple(int(s) for s in request.seeds) or (0, 1, 2),
            n_iter=50 if n_iter is None else int(n_iter),
            features=tuple(request.features),
            observation=_observation(request),
            model_id=request.model_id,
        )
        fit = self._uc.fit

        def work(progress: Callable[[int, int, str], None]) -> RunOutcome:
            r = fit()(req, progress)
            summary = (
                f"regime model {r.model_id}: {r.n_states} states on {r.rows_used:,} of {r.rows:,} rows of "
                f"{r.symbol} {r.start_day}..{r.end_day}, log-likelihood {r.log_likelihood:,.1f}"
                f"{'' if r.converged else ' (not converged)'}, {r.fit_seconds:.1f}s"
            )
            return RunOutcome(True, summary, r)

        return work

    def DecodeRegimes(
        self, request: regimes_pb2.DecodeRegimesRequest, context: grpc.ServicerContext
    ) -> Iterator[runs_pb2.RunEvent]:
        return self._launcher.run(self._specs["DecodeRegimes"], request, context)

    def _decode_work(self, request: regimes_pb2.DecodeRegimesRequest, stop: Stop) -> Work:
        stride = optional_field(request, "stride")
        expected_run = optional_field(request, "expected_run")
        buckets = optional_field(request, "buckets")
        clusters = optional_field(request, "clusters")
        bootstraps = optional_field(request, "bootstraps")
        req = DecodeRequest(
            symbol=_required_symbol(request),
            start_day=parse_day(request.start_day, "start_day"),
            end_day=parse_day(request.end_day, "end_day"),
            method=request.method or "hmm-filter",
            model_id=request.model_id,
            feature=request.feature or "log_rvol",
            stride=0 if stride is None else int(stride),
            expected_run=200.0 if expected_run is None else float(expected_run),
            penalty=optional_field(request, "penalty"),
            n_buckets=3 if buckets is None else int(buckets),
            n_clusters=3 if clusters is None else int(clusters),
            bootstraps=8 if bootstraps is None else int(bootstraps),
            observation=_observation(request),
        )
        if stride is not None and stride < 1:
            raise InvalidArgument("stride must be >= 1")
        if expected_run is not None and not (math.isfinite(expected_run) and expected_run > 1):
            raise InvalidArgument("expected_run must be > 1")
        decode = self._uc.decode

        def work(progress: Callable[[int, int, str], None]) -> RunOutcome:
            r = decode()(req, progress)
            shares = ", ".join(
                f"{k}: {v['share']:.0%} (dwell {v['mean_dwell_ticks']:,.0f})" for k, v in r.stats["regimes"].items()
            )
            summary = (
                f"{r.method} regimes of {r.symbol} {r.start_day}..{r.end_day}: {r.written:,} rows stored "
                f"(hash {r.model_config_hash}), {r.stats['switches']:,} switches; {shares}; {r.decode_seconds:.2f}s"
            )
            if "stability_ari_mean" in r.stats:
                summary += (
                    f"; stability ARI mean {r.stats['stability_ari_mean']:.3f}, min {r.stats['stability_ari_min']:.3f} "
                    f"over {len(r.stats['stability_ari'])} bootstrap refits"
                )
            return RunOutcome(True, summary, r)

        return work

    def ListRegimes(
        self, request: regimes_pb2.ListRegimesRequest, context: grpc.ServicerContext
    ) -> regimes_pb2.ListRegimesResponse:
        view = self._uc.overview()(request.symbol)
        models = [
            regimes_pb2.RegimeModelInfo(
                model_id=m["model_id"],
                symbol=m["symbol"],
                start_day=m["start_day"],
                end_day=m["end_day"],
                n_states=m["n_states"],
                features=m["features"],
                model_config_hash=m["model_config_hash"],
                created_at_ns=m["created_at_ns"],
                fit_json=json.dumps(to_jsonable(m["fit"]), sort_keys=True),
                states=[
                    regimes_pb2.RegimeState(
                        regime_id=s["regime_id"],
                        occupancy=s["occupancy"],
                        expected_dwell_ticks=s["expected_dwell_ticks"],
                        means=s["means"],
                    )
                    for s in m["states"]
                ],
            )
            for m in view.models
        ]
        series = [
            regimes_pb2.RegimeSeries(
                symbol=s.symbol,
                detection_method=s.detection_method,
                model_config_hash=s.model_config_hash,
                rows=s.rows,
                first_ns=s.first_ns,
                last_ns=s.last_ns,
                counts={int(k): int(v) for k, v in s.counts.items()},
            )
            for s in view.series
        ]
        return regimes_pb2.ListRegimesResponse(models=models, series=series)


def regime_service(use_cases: RegimeUseCases, launcher: JobLauncher | None = None) -> ServiceRegistration:
    servicer = RegimeServicer(use_cases, launcher)
    return ServiceRegistration(
        service_name=regimes_pb2.DESCRIPTOR.services_by_name["RegimeService"].full_name,
        register=lambda server: regimes_pb2_grpc.add_RegimeServiceServicer_to_server(servicer, server),
    )
