"""One model's decision pipeline as a trading run sets it up: the trained model behind a windowed
graph, the cost-aware policy fitted on the days before the start (as the backtest fits it), the
online calibrator when the run has one, and the :class:`DecisionPipeline` over them. Production,
shadow and canary models are all set up here."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from ghtrader.application.ports.datasets import DatasetStore
from ghtrader.application.ports.models import ArtifactStore, ModelFamilies
from ghtrader.application.ports.stores import TickStore
from ghtrader.application.research.serving import Predictor
from ghtrader.application.trading.decision import DecisionPipeline, FittedPolicy, fit_decision_policy
from ghtrader.application.trading.online_calibration import CalibrationSetup, OnlineCalibration, calibration_setup
from ghtrader.application.trading.online_window import OnlineWindow, windowed_model
from ghtrader.application.trading.request import TradingRunRequest
from ghtrader.domain.calendar import TradingCalendar
from ghtrader.domain.evaluation import CostModel
from ghtrader.domain.instruments import ContractSpec

__all__ = ["ModelPipeline", "PipelineParts", "build_pipeline"]


@dataclass(frozen=True)
class PipelineParts:
    """What a run's pipeline is built from (the run's stores and calibrator settings)."""

    artifacts: ArtifactStore
    ticks: TickStore
    families: ModelFamilies | None
    datasets: DatasetStore | None
    calibrator_config: Mapping[str, Any]
    calibration_factory: Callable[[CalibrationSetup], OnlineCalibration]


@dataclass(frozen=True)
class ModelPipeline:
    """A model's pipeline with the policy it was fitted with and its online calibration."""

    pipeline: DecisionPipeline
    fitted: FittedPolicy
    calibration: OnlineCalibration | None


def build_pipeline(
    parts: PipelineParts,
    predictor: Predictor,
    artifact_path: str,
    request: TradingRunRequest,
    calendar: TradingCalendar,
    symbol: str,
    spec: ContractSpec,
    start_day: date,
) -> ModelPipeline:
    """The decision pipeline of ``predictor``'s model for a run of ``request`` starting ``start_day``."""
    meta = predictor.meta
    model = windowed_model(parts.families, parts.artifacts, meta, Path(artifact_path))
    fitted = fit_decision_policy(
        predictor, parts.ticks, calendar, symbol, spec, start_day, request.policy_fit_days,
        CostModel(request.commission_bp, 0.0, request.aggressive), model.inputs if model else None,
    )  # fmt: skip
    calibration = None
    if request.online_calibration:
        setup = calibration_setup(meta, spec.price_tick, parts.datasets, dict(parts.calibrator_config))
        calibration = parts.calibration_factory(setup)
    pipeline = DecisionPipeline(predictor, fitted.policy, spec, calendar, hold_rows=request.hold_rows,
                                flat_s=request.flat_s, calibration=calibration,
                                window=OnlineWindow(model) if model else None)  # fmt: skip
    return ModelPipeline(pipeline, fitted, calibration)
