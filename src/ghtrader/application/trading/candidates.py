"""The candidate models of a trading run: a shadow model and a canary candidate.

Each candidate gets a :class:`DecisionPipeline` of its own (its own factor engine, policy fitted
on the same days as production's, its own online calibrator when the run has one), so it decides
exactly as it would in production. Versions: the one asked for, else the model's version in
status ``shadow`` (a canary also takes one in ``staging``); a model with none is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from ghtrader.application.errors import FailedPrecondition
from ghtrader.application.ports.datasets import DatasetStore
from ghtrader.application.ports.models import (
    ArtifactStore,
    InferenceRuntime,
    ModelFamilies,
    ModelRegistry,
    RegistryEntry,
)
from ghtrader.application.ports.stores import TickStore
from ghtrader.application.research.serving import Predictor, registry_entry
from ghtrader.application.trading.canary import CanaryRouter
from ghtrader.application.trading.decision import DecisionPipeline
from ghtrader.application.trading.drift_response import FallbackModel
from ghtrader.application.trading.online_calibration import CalibrationSetup, OnlineCalibration
from ghtrader.application.trading.pipeline_setup import PipelineParts, build_pipeline
from ghtrader.application.trading.request import TradingRunRequest
from ghtrader.application.trading.shadow import ShadowRunner
from ghtrader.domain.calendar import TradingCalendar
from ghtrader.domain.errors import DomainError
from ghtrader.domain.instruments import ContractSpec, contract_spec

__all__ = ["SHADOW_STATUSES", "CANARY_STATUSES", "CandidateEntries", "Candidates", "SideModels", "candidate_entry"]

SHADOW_STATUSES = ("shadow",)
CANARY_STATUSES = ("shadow", "staging")


def candidate_entry(
    registry: ModelRegistry, model_id: str, version: str | None, statuses: tuple[str, ...], role: str
) -> RegistryEntry:
    """``version`` of ``model_id``, or its newest version in the first of ``statuses`` that has one."""
    if version:
        return registry_entry(registry, model_id, version)
    entries = [e for e in registry.list() if e.model_id == model_id]
    for status in statuses:
        found = [e for e in entries if e.status == status]
        if found:
            return max(found, key=lambda e: int(e.version))
    have = ", ".join(f"{e.version}:{e.status}" for e in sorted(entries, key=lambda e: int(e.version))) or "none"
    raise FailedPrecondition(
        f"{role} model {model_id!r} has no version in status {' or '.join(statuses)} (versions: {have}); "
        f"move one there (`ghtrader models --model-id {model_id} --version V --set-status shadow`) or name a version"
    )


def _check_variety(model_id: str, model_symbol: str, spec: ContractSpec) -> None:
    """A candidate trained on another variety would decide on ticks it never saw: refused."""
    if not model_symbol:
        return
    try:
        theirs = contract_spec(model_symbol).key
    except DomainError:
        return  # a symbol the specs do not know: its features are checked against the run's anyway
    if theirs != spec.key:
        raise FailedPrecondition(f"candidate {model_id} was trained on {theirs}, the run trades {spec.key}")


@dataclass(frozen=True)
class CandidateEntries:
    """The registry entries a run's request names (None: no such candidate)."""

    shadow: RegistryEntry | None = None
    canary: RegistryEntry | None = None
    fallback: RegistryEntry | None = None  # the drift fallback model (drift_response.py)


@dataclass(frozen=True)
class SideModels:
    """The opened candidates and what run_config records of them."""

    shadow: ShadowRunner | None
    canary: CanaryRouter | None
    config: dict[str, Any]
    fallback: FallbackModel | None = None


class Candidates:
    """Resolves and opens a run's shadow and canary models (see the module docstring)."""

    def __init__(
        self,
        *,
        registry: ModelRegistry,
        artifacts: ArtifactStore,
        runtime: InferenceRuntime,
        ticks: TickStore,
        families: ModelFamilies | None,
        datasets: DatasetStore | None,
        calibrator_config: Mapping[str, Any],
        calibration_factory: Callable[[CalibrationSetup], OnlineCalibration],
    ) -> None:
        self._registry = registry
        self._artifacts = artifacts
        self._runtime = runtime
        self._ticks = ticks
        self._families = families
        self._datasets = datasets
        self._calibrator_config = calibrator_config
        self._calibration_factory = calibration_factory

    def resolve(self, request: TradingRunRequest) -> CandidateEntries:
        """The entries of the request's candidates (refused before the run has records)."""
        shadow = canary = None
        if request.shadow_model_id:
            shadow = candidate_entry(
                self._registry, request.shadow_model_id, request.shadow_version, SHADOW_STATUSES, "shadow"
            )
        if request.canary_model_id:
            canary = candidate_entry(
                self._registry, request.canary_model_id, request.canary_version, CANARY_STATUSES, "canary"
            )
        fallback = None
        if request.fallback_model_id:  # any registered version: the newest when none is named
            fallback = registry_entry(self._registry, request.fallback_model_id, request.fallback_version)
        return CandidateEntries(shadow, canary, fallback)

    def _pipeline(
        self, entry: RegistryEntry, request: TradingRunRequest, calendar: TradingCalendar, symbol: str,
        spec: ContractSpec, start_day: date,
    ) -> tuple[DecisionPipeline, dict[str, Any]]:  # fmt: skip
        predictor = Predictor.open(self._artifacts, self._runtime, Path(entry.artifact_path), prefer_gpu=False)
        meta = predictor.meta
        _check_variety(meta.model_id, str(meta.raw.get("symbol") or ""), spec)
        parts = PipelineParts(
            self._artifacts, self._ticks, self._families, self._datasets, self._calibrator_config,
            self._calibration_factory,
        )  # fmt: skip
        built = build_pipeline(parts, predictor, entry.artifact_path, request, calendar, symbol, spec, start_day)
        pipeline, fitted, calibration = built.pipeline, built.fitted, built.calibration
        record = {
            "model_id": meta.model_id, "version": meta.version, "status": entry.status, "family": meta.family,
            "horizon": meta.horizon, "features": list(meta.feature_names), "hold_rows": pipeline.hold_rows,
            "policy": {**fitted.policy.to_dict(), "fit_days": fitted.fit_days, "fit_rows": fitted.fit_rows},
            "online_calibration": calibration is not None,
        }  # fmt: skip
        return pipeline, record

    def open(
        self, entries: CandidateEntries, request: TradingRunRequest, calendar: TradingCalendar, symbol: str,
        spec: ContractSpec, start_day: date,
    ) -> SideModels:  # fmt: skip
        """Load, fit and wire the candidates; ``config`` holds run_config's ``shadow`` / ``canary``."""
        config: dict[str, Any] = {}
        shadow = canary = None
        if entries.shadow is not None:
            pipeline, record = self._pipeline(entries.shadow, request, calendar, symbol, spec, start_day)
            shadow = ShadowRunner(pipeline, spec.multiplier, model=record)
            config["shadow"] = record
        if entries.canary is not None:
            pipeline, record = self._pipeline(entries.canary, request, calendar, symbol, spec, start_day)
            canary = CanaryRouter(
                pipeline, spec.multiplier, share=request.canary_share, seed=request.canary_seed,
                fallback_blocks=request.canary_fallback_blocks, fallback_margin=request.canary_fallback_margin,
                model=record,
            )  # fmt: skip
            config["canary"] = {**record, **canary.settings()}
        fallback = None
        if entries.fallback is not None:  # the simple model: decided raw, no online calibrator
            simple = replace(request, online_calibration=False)
            pipeline, record = self._pipeline(entries.fallback, simple, calendar, symbol, spec, start_day)
            fallback = FallbackModel(pipeline, record)
            config["drift_fallback"] = {**record, "after": request.drift_fallback_after}
        return SideModels(shadow, canary, config, fallback)
