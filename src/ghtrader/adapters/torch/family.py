"""A generic deep model family: any ``nn.Module`` builder becomes a :class:`ModelFamily`.

Each architecture supplies only ``build(n_features, window, params) -> nn.Module`` and its default
hyper-parameters; windows, normalization (fitted on the training frame only), the training loop,
persistence and ONNX export are shared here.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ghtrader.adapters.torch.export import export_onnx
from ghtrader.adapters.torch.training import (
    LoopOptions,
    TrainResult,
    is_primary_process,
    predict_probabilities,
    seed_everything,
    train_module,
)
from ghtrader.adapters.torch.windows import (
    Normalizer,
    WindowData,
    gather_windows,
    labelled_window_ends,
    window_ends,
)
from ghtrader.application.errors import FailedPrecondition, InvalidArgument, NotFound
from ghtrader.application.ports.models import (
    FeatureFrame,
    ModelKind,
    OnnxSignature,
    TrainConfig,
)
from ghtrader.application.progress import ProgressCallback

__all__ = ["META_FILE", "NORMALIZER_FILE", "TRAINING_DEFAULTS", "WEIGHTS_FILE", "TorchModelFamily", "TorchTrainedModel"]

BuildModule = Callable[[int, int, Mapping[str, Any]], nn.Module]

#: Loop and preprocessing parameters every deep family accepts (beside its architecture's).
TRAINING_DEFAULTS: dict[str, Any] = {
    "class_weighting": "none",  # "balanced": cross-entropy weights n / (3 n_class)
    "weight_decay": 1e-4,
    "grad_clip": 1.0,
    "min_delta": 0.0,  # improvement of the valid macro loss that resets patience
    "amp_dtype": "float16",  # CUDA autocast dtype; "bfloat16" needs no loss scaling
    "eval_batch_size": 2048,
    "data_on_device": True,  # hold the training matrix on the GPU (one gather per batch)
    "normalization_clip": 10.0,  # normalized features are clipped to +- this
    "predict_device": "cpu",  # "cpu" | "auto" (CUDA when present) for predict_proba
}

FORMAT = "ghtrader.torch/1"
META_FILE = "torch_model.json"
WEIGHTS_FILE = "torch_weights.pt"
NORMALIZER_FILE = "torch_normalizer.npz"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


class TorchTrainedModel:
    """A trained deep model: module (CPU, eval mode), normalizer and the record of its training."""

    kind: ModelKind = "deep"

    def __init__(
        self,
        family: str,
        module: nn.Module,
        normalizer: Normalizer,
        feature_names: tuple[str, ...],
        window: int,
        horizon: int,
        architecture_params: Mapping[str, Any],
        train_params: Mapping[str, Any],
        training: Mapping[str, Any],
        description: str = "",
    ) -> None:
        self.family = family
        self.module = module.eval()
        self.normalizer = normalizer
        self.feature_names = tuple(feature_names)
        self.window = int(window)
        self.horizon = int(horizon)
        self.architecture_params = dict(architecture_params)
        self.train_params = dict(train_params)
        self.training = dict(training)
        self.description = description

    @property
    def n_parameters(self) -> int:
        return int(sum(p.numel() for p in self.module.parameters()))

    def _normalized(self, frame: FeatureFrame) -> np.ndarray:
        x = np.asarray(frame.features)
        if x.ndim != 2 or x.shape[0] != len(frame):
            raise InvalidArgument(f"invalid features of shape {x.shape}: expected ({len(frame)}, f)")
        if tuple(frame.feature_names) != self.feature_names:
            position = {name: i for i, name in enumerate(frame.feature_names)}
            missing = [n for n in self.feature_names if n not in position]
            if missing:
                raise InvalidArgument(
                    f"frame lacks {len(missing)} feature(s) the {self.family} model was trained on: {missing[:10]}"
                )
            x = x[:, [position[n] for n in self.feature_names]]
        return self.normalizer.apply(x)

    def normalize_rows(self, features: np.ndarray) -> np.ndarray:
        """(n, f) float32 normalized rows of raw ``features`` (n, f) in the model's feature order:
        the rows :meth:`inputs` windows (online serving normalises one tick's row at a time)."""
        x = np.asarray(features)
        if x.ndim != 2 or x.shape[1] != len(self.feature_names):
            raise InvalidArgument(f"invalid features of shape {x.shape}: expected (n, {len(self.feature_names)})")
        return self.normalizer.apply(x)

    def inputs(self, frame: FeatureFrame) -> tuple[np.ndarray, np.ndarray]:
        """``(x, rows)``: normalized windows (m, window, f) float32 and the rows they end at."""
        features = self._normalized(frame)
        rows = window_ends(frame.segment_id, self.window)
        return gather_windows(features, rows, self.window), rows

    def predict_proba(self, frame: FeatureFrame) -> np.ndarray:
        """(n, 3) probabilities; rows without a full window inside their segment are NaN."""
        features = self._normalized(frame)
        rows = window_ends(frame.segment_id, self.window)
        out = np.full((len(frame), 3), np.nan, dtype=np.float64)
        if rows.shape[0]:
            device = (
                "cuda" if self.train_params.get("predict_device") == "auto" and torch.cuda.is_available() else "cpu"
            )
            self.module.to(device)
            batch = int(self.train_params.get("eval_batch_size", 2048))
            out[rows] = predict_probabilities(self.module, features, rows, self.window, batch)
            self.module.to("cpu")
        return out

    def save(self, directory: Path) -> list[Path]:
        """Write weights, normalizer and ``torch_model.json``; a non-zero DDP rank writes nothing."""
        if not is_primary_process():
            return []
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        weights = directory / WEIGHTS_FILE
        torch.save(self.module.state_dict(), weights)
        normalizer = self.normalizer.save(directory / NORMALIZER_FILE)
        meta = directory / META_FILE
        meta.write_text(
            json.dumps(
                _jsonable(
                    {
                        "format": FORMAT,
                        **self.describe(),
                        "weights_file": WEIGHTS_FILE,
                        "weights_sha256": _sha256(weights),
                        "normalizer_file": NORMALIZER_FILE,
                        "torch_version": torch.__version__,
                    }
                ),
                indent=2,
            )
        )
        return [weights, normalizer, meta]

    def export_onnx(self, path: Path) -> OnnxSignature:
        """ONNX graph of normalized windows -> probabilities (see :meth:`inputs`)."""
        return export_onnx(self.module, Path(path), self.window, len(self.feature_names))

    def describe(self) -> dict[str, Any]:
        return {
            "family": self.family,
            "kind": self.kind,
            "architecture": type(self.module).__name__,
            "summary": self.description,
            "window": self.window,
            "horizon": self.horizon,
            "n_features": len(self.feature_names),
            "feature_names": list(self.feature_names),
            "architecture_params": dict(self.architecture_params),
            "train_params": dict(self.train_params),
            "n_parameters": self.n_parameters,
            "training": dict(self.training),
            "normalization": self.normalizer.summary(self.feature_names),
        }


class TorchModelFamily:
    """A :class:`ModelFamily` for one architecture.

    Args:
        name: family name (``"tcn"``...).
        build_module: ``(n_features, window, architecture_params) -> nn.Module`` returning logits
            ``(batch, 3)`` for input ``(batch, window, n_features)``.
        defaults: the architecture's hyper-parameters and their defaults; ``config.params`` may
            override them and :data:`TRAINING_DEFAULTS`, nothing else.
        description: one line for model cards.
    """

    kind: ModelKind = "deep"

    def __init__(
        self, name: str, build_module: BuildModule, defaults: Mapping[str, Any], description: str = ""
    ) -> None:
        clash = set(defaults) & set(TRAINING_DEFAULTS)
        if clash:
            raise ValueError(f"architecture parameters {sorted(clash)} clash with training parameters")
        self.name = name
        self._build = build_module
        self._defaults = dict(defaults)
        self.description = description

    def __repr__(self) -> str:
        return f"TorchModelFamily({self.name!r})"

    def default_params(self) -> dict[str, Any]:
        return {**self._defaults, **TRAINING_DEFAULTS}

    def _params(self, params: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        unknown = sorted(set(params) - set(self._defaults) - set(TRAINING_DEFAULTS))
        if unknown:
            raise InvalidArgument(
                f"unknown parameter(s) {unknown} for model family {self.name!r}; known: {sorted(self.default_params())}"
            )
        arch = {k: params.get(k, v) for k, v in self._defaults.items()}
        loop = {k: params.get(k, v) for k, v in TRAINING_DEFAULTS.items()}
        if loop["predict_device"] not in ("cpu", "auto"):
            raise InvalidArgument(f"invalid predict_device={loop['predict_device']!r}: expected 'cpu' or 'auto'")
        return arch, loop

    def build(self, n_features: int, window: int, params: Mapping[str, Any] | None = None) -> nn.Module:
        """The untrained module for ``params`` (architecture keys; defaults fill the rest)."""
        arch, _ = self._params(params or {})
        try:
            return self._build(n_features, window, arch)
        except (ValueError, TypeError) as exc:
            raise InvalidArgument(f"cannot build {self.name} with {arch}: {exc}") from exc

    def fit(
        self, train: FeatureFrame, valid: FeatureFrame, config: TrainConfig, progress: ProgressCallback
    ) -> TorchTrainedModel:
        arch, loop = self._params(config.params)
        try:
            options = LoopOptions(
                **{
                    k: loop[k]
                    for k in (
                        "class_weighting",
                        "weight_decay",
                        "grad_clip",
                        "min_delta",
                        "amp_dtype",
                        "eval_batch_size",
                        "data_on_device",
                    )
                }
            )
        except ValueError as exc:
            raise InvalidArgument(f"model family {self.name!r}: {exc}") from exc
        self._check(train, valid, config)
        if config.device == "cuda" and not torch.cuda.is_available():
            raise FailedPrecondition("device='cuda' asked for but torch sees no CUDA device; use 'auto' or 'cpu'")

        normalizer = Normalizer.fit(train.features, clip=float(loop["normalization_clip"]))
        train_data = WindowData(
            normalizer.apply(train.features),
            labelled_window_ends(train.segment_id, train.labels, config.window),
            np.asarray(train.labels, dtype=np.float64),
        )
        valid_x = valid.features
        if tuple(valid.feature_names) != tuple(train.feature_names):
            raise InvalidArgument(
                f"valid features {list(valid.feature_names)[:5]}... differ from train features "
                f"{list(train.feature_names)[:5]}...: both splits need the same columns in the same order"
            )
        valid_data = WindowData(
            normalizer.apply(valid_x),
            labelled_window_ends(valid.segment_id, valid.labels, config.window),
            np.asarray(valid.labels, dtype=np.float64),
        )
        seed_everything(config.seed)
        module = self.build(train.features.shape[1], config.window, arch)
        result: TrainResult = train_module(module, train_data, valid_data, config, options, progress)
        return TorchTrainedModel(
            family=self.name,
            module=result.module,
            normalizer=normalizer,
            feature_names=tuple(train.feature_names),
            window=config.window,
            horizon=config.horizon,
            architecture_params=arch,
            train_params={
                **loop,
                "seed": config.seed,
                "max_epochs": config.max_epochs,
                "patience": config.patience,
                "batch_size": config.batch_size,
                "learning_rate": config.learning_rate,
                "device": config.device,
                "amp": config.amp,
                "max_train_rows": config.max_train_rows,
            },
            training=result.summary(),
            description=self.description,
        )

    def _check(self, train: FeatureFrame, valid: FeatureFrame, config: TrainConfig) -> None:
        w = config.window
        if not (isinstance(w, int) and w >= 1):
            raise InvalidArgument(f"invalid window={w!r}: expected an int >= 1 (ticks per input window)")
        for label, frame in (("train", train), ("valid", valid)):
            x = np.asarray(frame.features)
            if x.ndim != 2 or x.shape[0] != len(frame) or x.shape[1] != len(frame.feature_names):
                raise InvalidArgument(
                    f"{label} features have shape {x.shape}: expected ({len(frame)}, {len(frame.feature_names)})"
                )
            if x.shape[1] == 0:
                raise InvalidArgument(f"{label} frame has no feature columns")
        for name, v in (("max_epochs", config.max_epochs), ("batch_size", config.batch_size)):
            if not (isinstance(v, int) and v >= 1):
                raise InvalidArgument(f"invalid {name}={v!r}: expected an int >= 1")
        if not (isinstance(config.patience, int) and config.patience >= 0):
            raise InvalidArgument(f"invalid patience={config.patience!r}: expected an int >= 0")
        if not (math.isfinite(config.learning_rate) and config.learning_rate > 0):
            raise InvalidArgument(f"invalid learning_rate={config.learning_rate!r}: expected > 0")
        if config.max_train_rows is not None and config.max_train_rows < 1:
            raise InvalidArgument(f"invalid max_train_rows={config.max_train_rows!r}: expected >= 1 or None")
        ends = labelled_window_ends(train.segment_id, train.labels, w)
        classes = np.unique(np.asarray(train.labels)[ends]).astype(int).tolist()
        if ends.shape[0] == 0:
            raise InvalidArgument(
                f"training frame ({len(train)} rows) has no labelled window of {w} ticks inside one segment"
            )
        if len(classes) < 2:
            raise InvalidArgument(f"training windows hold a single class {classes}: need at least two")
        if labelled_window_ends(valid.segment_id, valid.labels, w).shape[0] == 0:
            raise InvalidArgument(
                f"validation frame ({len(valid)} rows) has no labelled window of {w} ticks inside one segment"
            )

    def load(self, directory: Path) -> TorchTrainedModel:
        directory = Path(directory)
        meta_path = directory / META_FILE
        if not meta_path.is_file():
            raise NotFound(f"no {META_FILE} in {directory}: not a saved {self.name} model")
        try:
            meta = json.loads(meta_path.read_text())
        except json.JSONDecodeError as exc:
            raise FailedPrecondition(f"{meta_path} is not valid JSON: {exc}") from exc
        if meta.get("format") != FORMAT or meta.get("family") != self.name:
            raise FailedPrecondition(
                f"{meta_path} holds format {meta.get('format')!r} family {meta.get('family')!r}; "
                f"expected {FORMAT!r} family {self.name!r}"
            )
        weights = directory / str(meta.get("weights_file", WEIGHTS_FILE))
        normalizer_path = directory / str(meta.get("normalizer_file", NORMALIZER_FILE))
        for p in (weights, normalizer_path):
            if not p.is_file():
                raise NotFound(f"{p} is missing: the saved {self.name} model is incomplete")
        if _sha256(weights) != meta.get("weights_sha256"):
            raise FailedPrecondition(f"{weights} does not match the hash recorded in {meta_path}: refusing to load")
        feature_names = tuple(meta["feature_names"])
        normalizer = Normalizer.load(normalizer_path)
        if normalizer.mean.shape != (len(feature_names),):
            raise FailedPrecondition(
                f"{normalizer_path} has {normalizer.mean.shape[0]} features; {meta_path} names {len(feature_names)}"
            )
        module = self.build(len(feature_names), int(meta["window"]), meta["architecture_params"])
        try:
            module.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True), strict=True)
        except RuntimeError as exc:
            raise FailedPrecondition(f"{weights} does not fit the architecture in {meta_path}: {exc}") from exc
        return TorchTrainedModel(
            family=self.name,
            module=module,
            normalizer=normalizer,
            feature_names=feature_names,
            window=int(meta["window"]),
            horizon=int(meta.get("horizon", 0)),
            architecture_params=meta["architecture_params"],
            train_params=meta.get("train_params", {}),
            training=meta.get("training", {}),
            description=meta.get("summary", self.description),
        )
