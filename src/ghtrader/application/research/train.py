"""``TrainModel``: read a frame, split it by time, fit a family, write the artifacts, export
and check ONNX, and register the model (status ``development``).

Nothing is half-written: every file goes to a private staging directory first; the version
is published with one rename and registered last. A failure at any step removes what this run
wrote (a registry error un-publishes the version) and re-raises. Bad input is refused before
anything is written, with InvalidArgument naming what is wrong.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from ghtrader.application.errors import FailedPrecondition, InvalidArgument
from ghtrader.application.ports.clock import Clock
from ghtrader.application.ports.models import (
    CLASS_NAMES,
    ArtifactStore,
    FeatureFrame,
    FrameProvenance,
    FrameSource,
    InferenceRuntime,
    ModelFamilies,
    ModelRegistry,
    RegistryEntry,
    TrainConfig,
    TrainedModel,
)
from ghtrader.application.ports.stores import TICKS_LAKES
from ghtrader.application.progress import ProgressCallback, no_progress
from ghtrader.application.research.artifacts import (
    CARD_FILE,
    META_FORMAT,
    ONNX_FILE,
    ONNX_INPUT_MODEL,
    ONNX_INPUT_RAW,
    WEIGHTS_DIR,
    canonical_json,
    config_hash,
    meta_file_name,
    model_card,
)
from ghtrader.application.research.regime_mix import META_KEY as REGIME_META_KEY
from ghtrader.application.research.tabular import (
    check_training_data,
    labelled_rows,
    select_features,
)
from ghtrader.domain.evaluation import classification_metrics

__all__ = ["TrainModel", "TrainRequest", "TrainResult", "split_by_time", "validation_metrics"]

#: Extra validation metrics (e.g. by regime / session): ``(valid frame, probabilities) -> dict``.
MetricsHook = Callable[[FeatureFrame, np.ndarray], Mapping[str, Any]]
_PUBLISH_ATTEMPTS = 5


@dataclass(frozen=True)
class TrainRequest:
    """What to train. ``config.horizon`` is replaced by ``horizon``; ``purge_gap`` (ticks between
    the last training row and the first validation row) defaults to, and may not be below,
    ``horizon``; ``model_id`` defaults to ``<family>-<symbol>-h<horizon>``."""

    family: str
    symbol: str
    start_day: date
    end_day: date
    horizon: int
    feature_names: tuple[str, ...]
    ticks_lake: str = "main_l5"
    config: TrainConfig | None = None
    valid_fraction: float = 0.2
    purge_gap: int | None = None
    model_id: str | None = None

    def checked(self) -> TrainRequest:
        """This request with defaults filled; InvalidArgument when a field is unusable."""
        if not isinstance(self.horizon, int) or self.horizon < 1:
            raise InvalidArgument(f"horizon must be a whole number of ticks >= 1 (got {self.horizon!r})")
        if self.start_day > self.end_day:
            raise InvalidArgument(f"start_day {self.start_day} is after end_day {self.end_day}")
        if self.ticks_lake not in TICKS_LAKES:
            raise InvalidArgument(f"unknown ticks_lake {self.ticks_lake!r}: expected one of {TICKS_LAKES}")
        if not 0.0 < self.valid_fraction < 1.0:
            raise InvalidArgument(f"valid_fraction must be between 0 and 1 (got {self.valid_fraction})")
        if not self.symbol:
            raise InvalidArgument("symbol must not be empty")
        gap = self.horizon if self.purge_gap is None else int(self.purge_gap)
        if gap < self.horizon:
            raise InvalidArgument(f"purge_gap {gap} is shorter than the horizon {self.horizon}: labels would leak")
        config = replace(self.config or TrainConfig(horizon=self.horizon), horizon=self.horizon)
        model_id = self.model_id or f"{self.family}-{self.symbol}-h{self.horizon}"
        return replace(self, feature_names=tuple(self.feature_names), purge_gap=gap, config=config, model_id=model_id)


@dataclass(frozen=True)
class TrainResult:
    entry: RegistryEntry
    artifact_dir: Path
    meta_path: Path
    onnx_path: Path
    metrics: Mapping[str, Any]
    # The data it trained on, as in its meta: lake, feature / label build ids, schedule hash,
    # dataset config hash, days and row counts (what a run manifest records and compares).
    provenance: Mapping[str, Any] = field(default_factory=dict)
    # Per-epoch losses of a deep family (epoch, train_loss, valid_loss ...); empty for tabular ones.
    learning_curve: tuple[Mapping[str, Any], ...] = ()


def split_by_time(frame: FeatureFrame, valid_fraction: float, purge_gap: int) -> tuple[FeatureFrame, FeatureFrame]:
    """Earlier rows train, the last ``valid_fraction`` validate; the ``purge_gap`` rows before
    the validation start are dropped so no training label looks into the validation period."""
    n = len(frame)
    horizon = max(frame.horizon, 1)
    if n == 0:
        raise InvalidArgument("the frame has no rows: nothing to train on")
    if np.any(np.diff(frame.datetime_ns) < 0):
        raise InvalidArgument("the frame's rows are not in time order (datetime_ns decreases)")
    if purge_gap >= n or horizon >= n:
        raise InvalidArgument(
            f"the horizon / purge gap ({max(horizon, purge_gap)} ticks) is longer than the data ({n} rows)"
        )
    cut = round(n * (1.0 - valid_fraction))
    train_end = cut - purge_gap
    if train_end < 1 or cut >= n:
        raise InvalidArgument(
            f"{n} rows are too few for a time split with valid_fraction {valid_fraction} and a purge gap of "
            f"{purge_gap} ticks: widen the date range"
        )
    return frame.take(np.arange(train_end)), frame.take(np.arange(cut, n))


def validation_metrics(frame: FeatureFrame, probabilities: np.ndarray) -> dict[str, Any]:
    """Accuracy, macro-F1 (and per class), log-loss, Brier, ECE and the majority-class baseline
    on the labelled rows with finite probabilities. Every score is the domain's
    :func:`classification_metrics`, the definition the benchmark uses too."""
    rows = labelled_rows(frame)
    p = np.asarray(probabilities, dtype=np.float64)[rows]
    ok = np.isfinite(p).all(axis=1)
    y = frame.labels[rows][ok]
    if y.shape[0] == 0:
        return {"n_valid": 0}
    m = classification_metrics(y, p[ok])
    counts = m.support
    return {
        "n_valid": m.n,
        "accuracy": m.accuracy,
        "macro_f1": m.macro_f1,
        "f1_by_class": {name: float(m.f1[k]) for k, name in enumerate(CLASS_NAMES)},
        "classes_absent": list(m.classes_absent),
        "log_loss": m.log_loss,
        "brier": m.brier,
        "ece": m.ece,
        "majority_accuracy": float(counts.max() / counts.sum()),
        "valid_class_share": (counts / counts.sum()).tolist(),
    }


def _nan_max_abs(a: np.ndarray, b: np.ndarray) -> float:
    diff = np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))
    finite = np.isfinite(diff)
    if not finite.any():
        return 0.0
    if (np.isfinite(a) != np.isfinite(b)).any():
        return float("inf")
    return float(diff[finite].max())


class TrainModel:
    """The train use case (see module docstring).

    Args:
        families, frames, artifacts, registry, clock: the ports it needs (``frames`` may be None
            when callers only use :meth:`train_frame`).
        runtime: checks the exported graph against the model on validation rows (skipped when None).
        code_version: recorded as ``git_commit`` (the container passes the checkout's commit).
        code_dirty: recorded as ``git_dirty`` (tracked files changed; None when unknown).
        extra_metrics: adds metrics (e.g. by regime / session) to the validation metrics.
        parity_rows / parity_atol: rows checked and the largest |ONNX - model| probability
            difference accepted.
    """

    def __init__(
        self,
        families: ModelFamilies,
        frames: FrameSource | None,
        artifacts: ArtifactStore,
        registry: ModelRegistry,
        clock: Clock,
        *,
        runtime: InferenceRuntime | None = None,
        code_version: str = "unknown",
        code_dirty: bool | None = None,
        extra_metrics: MetricsHook | None = None,
        parity_rows: int = 2048,
        parity_atol: float = 1e-4,
    ) -> None:
        self._families = families
        self._frames = frames
        self._artifacts = artifacts
        self._registry = registry
        self._clock = clock
        self._runtime = runtime
        self._code_version = code_version
        self._code_dirty = code_dirty
        self._extra_metrics = extra_metrics
        self._parity_rows = int(parity_rows)
        self._parity_atol = float(parity_atol)

    def __call__(self, request: TrainRequest, progress: ProgressCallback = no_progress) -> TrainResult:
        request = request.checked()
        self._families.get(request.family)  # unknown family: fail before reading data
        if self._frames is None:
            raise FailedPrecondition("TrainModel has no frame source; call train_frame with a frame")
        progress(0, 100, f"loading {request.symbol} {request.start_day}..{request.end_day} h={request.horizon}")
        frame, provenance = self._frames.load(
            request.symbol,
            request.ticks_lake,
            request.start_day,
            request.end_day,
            request.horizon,
            request.feature_names,
        )
        return self.train_frame(request, frame, provenance, progress)

    def train_frame(
        self,
        request: TrainRequest,
        frame: FeatureFrame,
        provenance: FrameProvenance,
        progress: ProgressCallback = no_progress,
    ) -> TrainResult:
        """Train on an already loaded ``frame`` (its columns are selected by ``request.feature_names``)."""
        request = request.checked()
        assert request.config is not None and request.purge_gap is not None and request.model_id is not None
        family = self._families.get(request.family)
        if frame.horizon not in (0, request.horizon):
            raise InvalidArgument(f"the frame holds labels of horizon {frame.horizon}, not {request.horizon}")
        frame = select_features(frame, request.feature_names)
        frame = replace(frame, horizon=request.horizon)
        train, valid = split_by_time(frame, request.valid_fraction, request.purge_gap)
        check_training_data(train, valid)

        params = {**family.default_params(), **dict(request.config.params)}
        train_config = {k: v for k, v in dataclasses.asdict(request.config).items() if k != "params"}
        hashed = {
            "family": family.name,
            "params": params,
            "train_config": train_config,
            "symbol": request.symbol,
            "ticks_lake": request.ticks_lake,
            "start_day": request.start_day.isoformat(),
            "end_day": request.end_day.isoformat(),
            "features": list(request.feature_names),
            "valid_fraction": request.valid_fraction,
            "purge_gap": request.purge_gap,
            "provenance": dataclasses.asdict(provenance),
        }
        digest = config_hash(hashed)

        staged = self._artifacts.stage(family.name)
        published: Path | None = None
        try:

            def fit_progress(done: int, total: int, message: str) -> None:
                progress(5 + int(75 * done / max(total, 1)), 100, message)

            progress(5, 100, f"fitting {family.name} on {len(train)} rows, validating on {len(valid)}")
            model = family.fit(train, valid, request.config, fit_progress)
            if tuple(model.feature_names) != tuple(request.feature_names):
                raise FailedPrecondition(f"{family.name} returned a model with other features than it was given")
            progress(80, 100, "evaluating and exporting")
            probabilities = model.predict_proba(valid)
            metrics = validation_metrics(valid, probabilities)
            metrics["n_train"] = int(labelled_rows(train).shape[0])
            if self._extra_metrics is not None:
                metrics.update(self._extra_metrics(valid, probabilities))

            weight_files = model.save(staged / WEIGHTS_DIR)
            weights = {self._relative(p, staged): self._artifacts.digest(p) for p in weight_files}
            signature = model.export_onnx(staged / ONNX_FILE)
            onnx_input, parity = self._check_onnx(model, valid, staged / ONNX_FILE)
            description = model.describe()
            progress(90, 100, "writing artifacts")
            meta: dict[str, Any] = {
                "format": META_FORMAT,
                "model_id": request.model_id,
                "version": "",
                "family": family.name,
                "kind": family.kind,
                "symbol": request.symbol,
                "horizon": request.horizon,
                "window": int(model.window),
                "enabled_factors": list(request.feature_names),
                "class_names": list(CLASS_NAMES),
                "ticks_lake": provenance.ticks_lake,
                "lake_version": provenance.lake_version,
                "feature_build_id": provenance.feature_build_id,
                "label_build_id": provenance.label_build_id,
                "schedule_hash": provenance.schedule_hash,
                "dataset_config_hash": provenance.config_hash,
                "config_hash": digest,
                "git_commit": self._code_version,
                "git_dirty": self._code_dirty,
                "created_at_ns": int(self._clock.now_ns()),
                "data": self._data_range(request, frame, train, valid),
                "train_config": train_config,
                "params": params,
                "normalization": description.get("normalization"),
                # The calibrator on the probability output (also in weights/calibration.json,
                # digested with the weights, and inside model.onnx); None for an unwrapped family.
                "calibration": description.get("calibration"),
                "onnx": {
                    "file": ONNX_FILE,
                    "sha256": self._artifacts.digest(staged / ONNX_FILE),
                    "input_name": signature.input_name,
                    "input_shape": list(signature.input_shape),
                    "output_name": signature.output_name,
                    "opset": signature.opset,
                    "input": onnx_input,
                    "parity_max_abs_diff": parity,
                },
                "weights": {"dir": WEIGHTS_DIR, "files": weights},
                "metrics": metrics,
            }
            if description.get(REGIME_META_KEY):  # a regime ensemble: W and its regime model for serving
                meta[REGIME_META_KEY] = description[REGIME_META_KEY]
            published, version = self._publish(
                staged, request.model_id, family.name, meta, description, request.horizon
            )
            entry = RegistryEntry(
                model_id=request.model_id,
                version=version,
                model_type=family.name,
                status="development",
                artifact_path=str(published),
                config_hash=digest,
                metrics=metrics,
                created_at_ns=meta["created_at_ns"],
            )
            self._registry.register(entry)
        except BaseException:
            self._artifacts.discard(published if published is not None else staged)
            raise
        progress(
            100, 100, f"registered {request.model_id} v{version} ({metrics.get('accuracy', float('nan')):.3f} accuracy)"
        )
        return TrainResult(
            entry=entry,
            artifact_dir=published,
            meta_path=published / meta_file_name(request.horizon),
            onnx_path=published / ONNX_FILE,
            metrics=metrics,
            provenance={
                k: meta[k]
                for k in (
                    "symbol",
                    "ticks_lake",
                    "lake_version",
                    "feature_build_id",
                    "label_build_id",
                    "schedule_hash",
                    "dataset_config_hash",
                )
            }
            | {k: meta["data"][k] for k in ("start_day", "end_day", "rows", "train_rows", "valid_rows")},
            learning_curve=_learning_curve(description),
        )

    # --- steps ------------------------------------------------------------------------------------
    @staticmethod
    def _relative(path: Path, root: Path) -> str:
        try:
            return Path(path).relative_to(root).as_posix()
        except ValueError:
            raise FailedPrecondition(f"the model saved {path} outside its artifact directory {root}") from None

    def _check_onnx(self, model: TrainedModel, valid: FeatureFrame, onnx_path: Path) -> tuple[str, float | None]:
        """Which input the graph takes, and the largest |ONNX - model| on the first validation rows."""
        sample = valid.take(np.arange(min(len(valid), self._parity_rows + max(model.window, 1) - 1)))
        x, rows = model.inputs(sample)
        raw = np.asarray(sample.features, dtype=np.float32)
        is_raw = x.shape == raw.shape and rows.shape[0] == len(sample) and np.array_equal(x, raw, equal_nan=True)
        kind = ONNX_INPUT_RAW if is_raw else ONNX_INPUT_MODEL
        if self._runtime is None or x.shape[0] == 0:
            return kind, None
        session = self._runtime.load(onnx_path, prefer_gpu=False)
        # a model whose served probabilities are not its graph's output (a regime ensemble)
        # says what its graph outputs; serving's recombination is tested where it is done
        reference = getattr(model, "graph_probabilities", None) or model.predict_proba
        expected = reference(sample)[rows]
        diff = _nan_max_abs(session.run(x), expected)
        if not diff <= self._parity_atol:
            raise FailedPrecondition(
                f"the exported ONNX graph disagrees with the model: max |probability difference| {diff:.3g} "
                f"> {self._parity_atol:g} on {x.shape[0]} validation rows"
            )
        return kind, diff

    @staticmethod
    def _data_range(
        request: TrainRequest, frame: FeatureFrame, train: FeatureFrame, valid: FeatureFrame
    ) -> dict[str, Any]:
        def span(part: FeatureFrame) -> dict[str, Any]:
            return {
                "first_datetime_ns": int(part.datetime_ns[0]),
                "last_datetime_ns": int(part.datetime_ns[-1]),
                "first_trading_day": str(part.trading_day[0]),
                "last_trading_day": str(part.trading_day[-1]),
            }

        return {
            "start_day": request.start_day.isoformat(),
            "end_day": request.end_day.isoformat(),
            "rows": len(frame),
            "train_rows": len(train),
            "valid_rows": len(valid),
            "train_labelled": int(labelled_rows(train).shape[0]),
            "valid_labelled": int(labelled_rows(valid).shape[0]),
            "purge_gap": request.purge_gap,
            "valid_fraction": request.valid_fraction,
            "train": span(train),
            "valid": span(valid),
        }

    def _next_version(self, model_type: str, model_id: str) -> int:
        """Above every version of the family's artifacts and of the model id (a model id may hold
        versions of several families, e.g. daily-train's candidates)."""
        known = [int(v) for v in self._artifacts.versions(model_type) if v.isdigit()]
        known += [int(e.version) for e in self._registry.list() if e.model_type == model_type or e.model_id == model_id]
        return max(known, default=0) + 1

    def _publish(
        self,
        staged: Path,
        model_id: str,
        model_type: str,
        meta: dict[str, Any],
        description: Mapping[str, Any],
        horizon: int,
    ) -> tuple[Path, str]:
        """Write meta + card with the next free version and publish; retries when another run
        took that version first."""
        last_error: FailedPrecondition | None = None
        tried = 0
        for _ in range(_PUBLISH_ATTEMPTS):
            tried = max(self._next_version(model_type, model_id), tried + 1)
            version = str(tried)
            meta["version"] = version
            self._artifacts.write_text(
                staged, meta_file_name(horizon), json.dumps(json.loads(canonical_json(meta)), indent=2, sort_keys=True)
            )
            self._artifacts.write_text(staged, CARD_FILE, model_card(meta, description))
            try:
                return self._artifacts.publish(staged, model_type, version), version
            except FailedPrecondition as exc:  # the version appeared meanwhile
                last_error = exc
        raise FailedPrecondition(f"could not claim a version for {model_id}: {last_error}")


def _learning_curve(description: Mapping[str, Any]) -> tuple[Mapping[str, Any], ...]:
    """The per-epoch history a model describes under ``training.history`` (deep families)."""
    training = description.get("training")
    history = training.get("history") if isinstance(training, Mapping) else None
    if not isinstance(history, list | tuple):
        return ()
    return tuple(dict(row) for row in history if isinstance(row, Mapping))
