"""Model ports: families (train), trained models (predict, save, export), ONNX inference,
the model registry and artifact storage.

A new model family plugs in by implementing :class:`ModelFamily` in one adapter and being
registered in the container; trainer, benchmark, registry and inference never change.
Labels are the direction classes ``0 = DOWN, 1 = FLAT, 2 = UP`` (NaN = no label).
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from ghtrader.application.progress import ProgressCallback
from ghtrader.domain.promotion import ModelStatus

CLASS_NAMES: tuple[str, str, str] = ("DOWN", "FLAT", "UP")
ModelKind = Literal["tabular", "deep"]


@dataclass(frozen=True)
class FeatureFrame:
    """Time-ordered rows of one symbol: features, the label of one horizon, and context.

    Arrays are aligned (length n). ``features`` is float32 (n, f) with NaN allowed; deep models
    build windows of ``window`` consecutive rows that never cross a ``segment_id`` change.
    ``mid`` and ``spread`` (price units) let the benchmark cost the signal.
    """

    features: np.ndarray
    feature_names: tuple[str, ...]
    labels: np.ndarray  # float64: 0/1/2 or NaN
    segment_id: np.ndarray  # int64
    datetime_ns: np.ndarray  # int64
    trading_day: np.ndarray  # datetime64[D]
    mid: np.ndarray  # float64
    spread: np.ndarray  # float64
    symbol: str = ""
    horizon: int = 0
    price_tick: float = 1.0
    extras: Mapping[str, np.ndarray] = field(default_factory=dict)  # e.g. "oracle_direction", "dmid"

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def take(self, index: np.ndarray) -> FeatureFrame:
        """Rows at ``index`` (int positions or a boolean mask), order kept."""
        return replace(
            self,
            features=self.features[index],
            labels=self.labels[index],
            segment_id=self.segment_id[index],
            datetime_ns=self.datetime_ns[index],
            trading_day=self.trading_day[index],
            mid=self.mid[index],
            spread=self.spread[index],
            extras={k: v[index] for k, v in self.extras.items()},
        )


@dataclass(frozen=True)
class TrainConfig:
    """What every family's ``fit`` receives; ``params`` holds family-specific hyper-parameters."""

    horizon: int
    seed: int = 0
    max_epochs: int = 20
    patience: int = 3
    batch_size: int = 512
    learning_rate: float = 1e-3
    window: int = 50  # deep models: ticks per input window
    device: str = "auto"  # "auto" | "cpu" | "cuda"
    amp: bool = True  # mixed precision when on a GPU
    max_train_rows: int | None = None  # subsample (evenly) for quick runs
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OnnxSignature:
    """The exported graph's single input and output."""

    input_name: str
    input_shape: tuple[int | str, ...]  # e.g. ("batch", 50, 40) or ("batch", 40)
    output_name: str  # probabilities (batch, 3)
    opset: int


class TrainedModel(Protocol):
    family: str
    kind: ModelKind
    feature_names: tuple[str, ...]
    window: int  # 1 for tabular models

    def predict_proba(self, frame: FeatureFrame) -> np.ndarray:
        """(n, 3) class probabilities; rows without a full window (deep) are NaN."""
        ...

    def inputs(self, frame: FeatureFrame) -> tuple[np.ndarray, np.ndarray]:
        """The exact normalized model inputs for ``frame`` (what the ONNX graph takes) and the
        row positions they belong to: ``(x, rows)`` with x (m, f) or (m, window, f)."""
        ...

    def save(self, directory: Path) -> list[Path]:
        """Write weights and fitted normalization; returns the files written."""
        ...

    def export_onnx(self, path: Path) -> OnnxSignature: ...

    def describe(self) -> dict[str, Any]:
        """Architecture, hyper-parameters, parameter count, training history (for the card)."""
        ...


@runtime_checkable
class RowNormalizer(Protocol):
    """A windowed model that normalises raw feature rows one at a time (online serving)."""

    def normalize_rows(self, features: np.ndarray) -> np.ndarray:
        """(n, f) float32: raw ``features`` (n, f), in the model's feature order, normalised exactly
        as the rows :meth:`TrainedModel.inputs` gathers into windows."""
        ...


class ModelFamily(Protocol):
    name: str
    kind: ModelKind

    def default_params(self) -> dict[str, Any]: ...

    def fit(
        self, train: FeatureFrame, valid: FeatureFrame, config: TrainConfig, progress: ProgressCallback
    ) -> TrainedModel:
        """Train with early stopping on ``valid``; raise InvalidArgument on unusable data."""
        ...

    def load(self, directory: Path) -> TrainedModel:
        """Restore a model written by ``TrainedModel.save``."""
        ...


class InferenceSession(Protocol):
    providers: tuple[str, ...]

    def run(self, x: np.ndarray) -> np.ndarray:
        """(batch, 3) probabilities for a batch of model inputs."""
        ...


class InferenceRuntime(Protocol):
    def load(self, onnx_path: Path, prefer_gpu: bool = True) -> InferenceSession:
        """CUDA execution provider when present, CPU otherwise."""
        ...


@dataclass(frozen=True)
class RegistryEntry:
    model_id: str
    version: str
    model_type: str
    status: ModelStatus
    artifact_path: str
    config_hash: str
    metrics: Mapping[str, Any]
    created_at_ns: int = 0
    promoted_at_ns: int | None = None
    retired_at_ns: int | None = None


@dataclass(frozen=True)
class StatusChange:
    """One recorded status change of a model version (``ghtrader_model_status_changes_v2``).

    ``from_status`` is the status the version must be in when the change applies (a
    compare-and-set); ``decision`` is the promotion gate's decision as JSON (``{}`` when none).
    """

    model_id: str
    version: str
    from_status: ModelStatus
    to_status: ModelStatus
    reason: str
    actor: str  # who asked: "cli", "daily-train", "scheduler", "api" ...
    at_ns: int
    decision: Mapping[str, Any] = field(default_factory=dict)


class ModelRegistry(Protocol):
    """``ghtrader_model_registry_v2`` plus its status change log
    (``ghtrader_model_status_changes_v2``)."""

    def register(self, entry: RegistryEntry) -> None:
        """Insert a new (model_id, version); refuses to overwrite an existing one."""
        ...

    def get(self, model_id: str, version: str) -> RegistryEntry | None: ...

    def list(self, model_type: str | None = None, status: str | None = None) -> list[RegistryEntry]: ...

    def set_status(self, model_id: str, version: str, status: ModelStatus, at_ns: int) -> RegistryEntry:
        """Move one version to ``status`` without a change-log record (low level: use
        :meth:`change_statuses`); FailedPrecondition when that would make a second production
        version of the model."""
        ...

    def change_statuses(self, changes: Sequence[StatusChange]) -> builtins.list[RegistryEntry]:
        """Apply ``changes`` (one model_id) in order, all or none, each recorded in the change log.

        Each version must be registered (NotFound) and in its ``from_status`` when its change
        applies (FailedPrecondition otherwise: someone else changed it). Afterwards at most one
        version of the model is in production (FailedPrecondition otherwise). Returns the
        updated entries in the order of ``changes``."""
        ...

    def history(self, model_id: str) -> builtins.list[StatusChange]:
        """Every recorded status change of ``model_id``, oldest first ([] when none)."""
        ...


class ModelFamilies(Protocol):
    """Name -> family lookup filled by the container."""

    def get(self, name: str) -> ModelFamily: ...

    def names(self) -> Sequence[str]: ...


# --- training inputs and artifact storage (TrainModel) ------------------------------------------
@dataclass(frozen=True)
class FrameProvenance:
    """Which stored data a FeatureFrame was read from (recorded in the model's meta)."""

    feature_build_id: str
    label_build_id: str
    schedule_hash: str  # main_l5 schedule; "" for the raw lake
    ticks_lake: str
    lake_version: str
    config_hash: str  # of the feature / label build config


class FrameSource(Protocol):
    """Reads a training FeatureFrame from the dataset store."""

    def load(
        self,
        symbol: str,
        ticks_lake: str,
        start_day: date,
        end_day: date,
        horizon: int,
        feature_names: Sequence[str],
    ) -> tuple[FeatureFrame, FrameProvenance]:
        """Rows of ``start_day..end_day`` (inclusive) with ``feature_names`` in that order and the
        labels of ``horizon``; raises InvalidArgument / NotFound when they are not there."""
        ...


class ArtifactStore(Protocol):
    """Model artifacts under ``<root>/<model_type>/<version>/``.

    A writer fills a private staging directory (:meth:`stage`), then :meth:`publish` moves it
    under its version in one rename, so a reader never sees a half-written version.
    """

    root: Path

    def version_dir(self, model_type: str, version: str) -> Path:
        """Where ``version`` of ``model_type`` lives (whether or not it exists)."""
        ...

    def versions(self, model_type: str) -> list[str]:
        """Published versions of ``model_type`` (sorted, numeric ones numerically)."""
        ...

    def stage(self, model_type: str) -> Path:
        """A new empty private directory on the same file system as the versions."""
        ...

    def publish(self, staged: Path, model_type: str, version: str) -> Path:
        """Move ``staged`` to ``version_dir(model_type, version)`` atomically; raises
        FailedPrecondition when that version already exists (nothing is moved then)."""
        ...

    def discard(self, directory: Path) -> None:
        """Remove a staged or published directory (no error when it is already gone)."""
        ...

    def write_text(self, directory: Path, name: str, text: str) -> Path:
        """Write ``directory/name`` atomically (UTF-8); returns its path."""
        ...

    def read_text(self, directory: Path, name: str) -> str:
        """``directory/name`` as text; raises NotFound when it does not exist."""
        ...

    def files(self, directory: Path) -> list[str]:
        """Names of the files directly in ``directory`` (sorted; [] when it does not exist)."""
        ...

    def digest(self, path: Path) -> str:
        """``sha256:<hex>`` of the file's bytes; raises NotFound when it does not exist."""
        ...


# --- the signal oracle (benchmarks) -------------------------------------------------------------
class OracleSource(Protocol):
    """The data generator's own view of the future, where one exists (the synthetic market).

    Arrays are aligned row by row with the ticks of one contract-day (``symbol`` a dated
    contract, or a continuous alias meaning that day's main contract); None when the source
    knows nothing of that contract-day. A benchmark sets the oracle beside a model on the same
    test rows as an upper reference.
    """

    def oracle_direction(self, symbol: str, trading_day: date, horizon: int, threshold: float) -> np.ndarray | None:
        """Per tick, the class the oracle expects over ``horizon`` ticks as float64 label codes:
        2 (UP) where the expected mid move exceeds ``threshold`` (price units), 0 (DOWN) below
        ``-threshold``, 1 (FLAT) otherwise, NaN where the expectation is undefined."""
        ...

    def expected_move(self, symbol: str, trading_day: date, horizon: int) -> np.ndarray | None:
        """Per tick, the expected mid-price change over ``horizon`` ticks (price units; NaN
        where undefined)."""
        ...

    def class_probabilities(
        self, symbol: str, trading_day: date, horizon: int, k_ticks: float, rows: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """The Bayes class probabilities and their Monte Carlo standard errors at ticks ``rows``.

        ``(probs, se)``, both ``(len(rows), 3)`` in the label order DOWN, FLAT, UP: the chance
        of each class of the direction label over ``horizon`` ticks with threshold ``k_ticks``
        price ticks, given everything the generator knows at the tick; NaN rows where undefined
        (``i + horizon`` past the day). ``rows`` are int64 positions in the contract-day's ticks.
        None when the source knows nothing of that contract-day."""
        ...


# --- calibration inside the exported graph ------------------------------------------------------
class CalibrationGraphWriter(Protocol):
    """Appends a probability calibrator to an exported ONNX graph (the adapter owns onnx)."""

    def append(self, onnx_path: Path, weights: np.ndarray, bias: np.ndarray, eps: float) -> None:
        """Rewrite ``onnx_path`` in place so its probability output becomes
        ``softmax(log(max(p, eps)) @ weights.T + bias)``; output name and shape unchanged."""
        ...
