"""What a trained model leaves on disk, and the checks made when it is read back.

A version directory (``ArtifactStore.version_dir(model_type, version)``) holds:

- ``weights/``: the files ``TrainedModel.save`` wrote (``ModelFamily.load`` reads them);
- ``model.onnx``: the exported graph;
- ``model_h{H}.meta.json``: the sidecar - features in order (``enabled_factors``), data
  provenance (lake, builds, schedule hash), config hash, git commit, data range, horizon,
  window, normalisation summary, ONNX signature and the SHA-256 of every file above;
- ``model_card.md``: a human-readable card (architecture, hyper-parameters, data, intended
  use, limits, metrics).

Loading checks every recorded digest first: a model file that does not match its sidecar is
refused with FailedPrecondition naming the file.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ghtrader.application.errors import FailedPrecondition
from ghtrader.application.ports.models import (
    CLASS_NAMES,
    ArtifactStore,
    ModelFamilies,
    OnnxSignature,
    TrainedModel,
)

__all__ = [
    "CARD_FILE",
    "META_FORMAT",
    "ONNX_FILE",
    "ONNX_INPUT_MODEL",
    "ONNX_INPUT_RAW",
    "WEIGHTS_DIR",
    "ModelMeta",
    "canonical_json",
    "config_hash",
    "load_model",
    "meta_file_name",
    "model_card",
    "read_meta",
    "verify_files",
]

META_FORMAT = "ghtrader.model_meta/1"
ONNX_FILE = "model.onnx"
WEIGHTS_DIR = "weights"
CARD_FILE = "model_card.md"
#: The graph takes the frame's raw features (tabular models that normalise inside the graph).
ONNX_INPUT_RAW = "raw_features"
#: The graph takes ``TrainedModel.inputs(frame)`` (normalised windows of deep models).
ONNX_INPUT_MODEL = "model_inputs"
_META_RE = re.compile(r"^model_h([0-9]+)\.meta\.json$")


def meta_file_name(horizon: int) -> str:
    return f"model_h{int(horizon)}.meta.json"


def _plain(value: Any) -> Any:
    """JSON-ready value: NumPy scalars / arrays, tuples, paths; non-finite floats -> None."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        return _plain(value.item())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, (str, int, bool)):
        return value
    return str(value)


def canonical_json(value: Any) -> str:
    """Sorted-key compact JSON of ``value`` (what hashes are computed over)."""
    return json.dumps(_plain(value), sort_keys=True, separators=(",", ":"), allow_nan=False)


def config_hash(payload: Mapping[str, Any]) -> str:
    """sha256 hex of :func:`canonical_json` of ``payload``."""
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ModelMeta:
    """The parts of a meta sidecar the serving guard and loaders rely on (``raw``: all of it)."""

    model_id: str
    version: str
    family: str
    kind: str
    horizon: int
    window: int
    feature_names: tuple[str, ...]
    onnx: OnnxSignature
    onnx_sha256: str
    onnx_input: str
    weights: Mapping[str, str]  # path relative to the version dir -> digest
    config_hash: str
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "meta") -> ModelMeta:
        """Parse a sidecar; FailedPrecondition naming the first missing or malformed field."""
        if data.get("format") != META_FORMAT:
            raise FailedPrecondition(f"{source}: format {data.get('format')!r} is not {META_FORMAT!r}")
        try:
            onnx = data["onnx"]
            signature = OnnxSignature(
                input_name=str(onnx["input_name"]),
                input_shape=tuple(onnx["input_shape"]),
                output_name=str(onnx["output_name"]),
                opset=int(onnx["opset"]),
            )
            meta = cls(
                model_id=str(data["model_id"]),
                version=str(data["version"]),
                family=str(data["family"]),
                kind=str(data["kind"]),
                horizon=int(data["horizon"]),
                window=int(data["window"]),
                feature_names=tuple(str(n) for n in data["enabled_factors"]),
                onnx=signature,
                onnx_sha256=str(onnx["sha256"]),
                onnx_input=str(onnx["input"]),
                weights={str(k): str(v) for k, v in data["weights"]["files"].items()},
                config_hash=str(data["config_hash"]),
                raw=dict(data),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise FailedPrecondition(f"{source}: malformed model meta ({type(exc).__name__}: {exc})") from exc
        if meta.onnx_input not in (ONNX_INPUT_RAW, ONNX_INPUT_MODEL):
            raise FailedPrecondition(f"{source}: unknown ONNX input kind {meta.onnx_input!r}")
        if len(meta.feature_names) == 0 or meta.window < 1:
            raise FailedPrecondition(f"{source}: a model needs features and a window >= 1")
        return meta


def read_meta(store: ArtifactStore, directory: Path, horizon: int | None = None) -> ModelMeta:
    """The sidecar of ``directory`` (``model_h{horizon}.meta.json``; with ``horizon`` None the
    only one there). FailedPrecondition when it is missing, ambiguous or malformed."""
    if horizon is None:
        names = [n for n in store.files(directory) if _META_RE.match(n)]
        if len(names) != 1:
            found = ", ".join(names) or "none"
            raise FailedPrecondition(
                f"{directory}: expected one model_h<H>.meta.json (found {found}); name the horizon"
            )
        name = names[0]
    else:
        name = meta_file_name(horizon)
        if name not in store.files(directory):
            raise FailedPrecondition(f"{directory} has no {name}: the model was not trained for horizon {horizon}")
    text = store.read_text(directory, name)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FailedPrecondition(f"{directory / name} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise FailedPrecondition(f"{directory / name} does not hold a JSON object")
    return ModelMeta.from_dict(data, str(directory / name))


def verify_files(
    store: ArtifactStore, directory: Path, meta: ModelMeta, *, onnx: bool = True, weights: bool = True
) -> None:
    """Raise FailedPrecondition unless every file the sidecar records has the recorded digest."""
    expected: dict[str, str] = {}
    if onnx:
        expected[ONNX_FILE] = meta.onnx_sha256
    if weights:
        expected.update(meta.weights)
    for relative, digest in expected.items():
        try:
            actual = store.digest(directory / relative)
        except Exception as exc:  # NotFound from the store, or an OS error
            raise FailedPrecondition(f"{directory / relative} named in the meta cannot be read: {exc}") from exc
        if actual != digest:
            raise FailedPrecondition(
                f"{directory / relative} does not match its meta sidecar (digest {actual}, the meta records {digest}); "
                "the artifacts were changed after training - retrain or restore them"
            )


def load_model(
    store: ArtifactStore, families: ModelFamilies, directory: Path, horizon: int | None = None
) -> tuple[TrainedModel, ModelMeta]:
    """Verify the weights against the sidecar and restore the trained model."""
    meta = read_meta(store, directory, horizon)
    verify_files(store, directory, meta, onnx=False)
    family = families.get(meta.family)
    model = family.load(directory / WEIGHTS_DIR)
    if tuple(model.feature_names) != meta.feature_names or int(model.window) != meta.window:
        raise FailedPrecondition(
            f"{directory / WEIGHTS_DIR} does not match its meta sidecar: features/window "
            f"{len(model.feature_names)}/{model.window} vs {len(meta.feature_names)}/{meta.window}"
        )
    return model, meta


# --- model card ----------------------------------------------------------------------------------
def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)) and len(value) > 12:
        return f"[{', '.join(_fmt(v) for v in value[:12])}, ... ({len(value)} values)]"
    if isinstance(value, (list, tuple)):
        return f"[{', '.join(_fmt(v) for v in value)}]"
    return str(value)


def _table(rows: Sequence[tuple[str, Any]], head: tuple[str, str] = ("", "")) -> list[str]:
    lines = [f"| {head[0]} | {head[1]} |", "|---|---|"]
    lines.extend(f"| {k} | {_fmt(v).replace('|', '/')} |" for k, v in rows)
    return lines


def _grouped(title: str, groups: Any) -> list[str]:
    if not isinstance(groups, Mapping) or not groups:
        return []
    keys: list[str] = []
    for metrics in groups.values():
        if isinstance(metrics, Mapping):
            keys.extend(k for k, v in metrics.items() if k not in keys and not isinstance(v, (Mapping, list)))
    lines = ["", f"### {title}", "", "| group | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    for name, metrics in groups.items():
        metrics = metrics if isinstance(metrics, Mapping) else {}
        lines.append(f"| {name} | " + " | ".join(_fmt(metrics.get(k, "")) for k in keys) + " |")
    return lines


def model_card(meta: Mapping[str, Any], description: Mapping[str, Any]) -> str:
    """Markdown card of a trained model from its meta dict and ``TrainedModel.describe()``."""
    metrics = dict(meta.get("metrics") or {})
    data = dict(meta.get("data") or {})
    lines = [
        f"# Model card: {meta['model_id']} v{meta['version']}",
        "",
        (
            f"{meta['family']} ({meta['kind']}) predicting the mid-price direction "
            f"({' / '.join(CLASS_NAMES)}) {meta['horizon']} ticks ahead for {meta.get('symbol', '?')}."
        ),
        "",
        "## Intended use",
        "",
        (
            "Research only: studying short-horizon direction signals on SHFE futures. Not a trading "
            "system; any use beyond research needs the benchmark, backtest and promotion gate first."
        ),
        "",
        "## Architecture",
        "",
        f"{description.get('architecture', meta['family'])}",
        "",
        (
            f"Parameters: {description.get('parameter_count', 'n/a')}; window: {meta['window']} tick(s); "
            f"features: {len(meta['enabled_factors'])}."
        ),
        "",
        "## Hyper-parameters",
        "",
        *_table(
            sorted(dict(description.get("hyper_parameters") or meta.get("params") or {}).items()), ("name", "value")
        ),
        "",
        "Training config: "
        + ", ".join(f"{k}={_fmt(v)}" for k, v in sorted(dict(meta.get("train_config") or {}).items())),
        "",
        "## Data",
        "",
        *_table(
            [
                ("symbol", meta.get("symbol")),
                ("ticks lake", meta.get("ticks_lake")),
                ("lake version", meta.get("lake_version")),
                ("trading days", f"{data.get('start_day')} .. {data.get('end_day')}"),
                ("train rows (labelled)", f"{data.get('train_rows')} ({data.get('train_labelled')})"),
                ("valid rows (labelled)", f"{data.get('valid_rows')} ({data.get('valid_labelled')})"),
                ("purge gap (ticks)", data.get("purge_gap")),
                ("feature build", meta.get("feature_build_id")),
                ("label build", meta.get("label_build_id")),
                ("schedule hash", meta.get("schedule_hash") or "-"),
            ],
            ("item", "value"),
        ),
        "",
        "Features, in model order: " + ", ".join(f"`{n}`" for n in meta["enabled_factors"]),
        "",
        "Normalisation: " + canonical_json(_summary(meta.get("normalization"))),
        "",
        "Calibration: " + _calibration_line(description.get("calibration")),
        "",
        "## Validation metrics",
        "",
        *_table(
            [(k, v) for k, v in sorted(metrics.items()) if not isinstance(v, (Mapping, list))], ("metric", "value")
        ),
    ]
    lines += _grouped("By regime", metrics.get("by_regime"))
    lines += _grouped("By session", metrics.get("by_session"))
    onnx = dict(meta.get("onnx") or {})
    lines += [
        "",
        "## ONNX",
        "",
        (
            f"`{ONNX_FILE}`: input `{onnx.get('input_name')}` {onnx.get('input_shape')} ({onnx.get('input')}), "
            f"output `{onnx.get('output_name')}` (batch, 3), opset {onnx.get('opset')}, "
            f"max |ONNX - model| on validation rows {onnx.get('parity_max_abs_diff')}."
        ),
        "",
        "## Limits",
        "",
        "- One chronological train / validation split; the walk-forward benchmark gives the honest estimate.",
        "- Metrics are before trading costs; a direction hit rate is not a profit.",
        f"- Trained on {data.get('start_day')} .. {data.get('end_day')} only; regimes outside it are untested.",
        "- Labels come from mid-price moves over a fixed tick horizon; queue position and fills are not modelled.",
        "",
        "## Provenance",
        "",
        (
            f"config hash `{meta.get('config_hash')}`, git commit `{meta.get('git_commit')}`, "
            f"dataset config hash `{meta.get('dataset_config_hash')}`, created at {meta.get('created_at_ns')} ns."
        ),
        "",
    ]
    return "\n".join(lines)


def _calibration_line(calibration: Any) -> str:
    """One line on the probability calibrator of ``describe()["calibration"]``."""
    if not isinstance(calibration, Mapping):
        return "none (raw model probabilities)"
    method = calibration.get("method")
    if method == "identity":
        return f"none ({calibration.get('note') or 'identity'})"
    detail = f", T = {_fmt(calibration['temperature'])}" if calibration.get("temperature") is not None else ""
    return (
        f"{method}{detail} on {calibration.get('rows')} held-out tail rows of the training fold; "
        f"there, log-loss {_fmt(calibration.get('log_loss_before'))} -> {_fmt(calibration.get('log_loss_after'))}, "
        f"ECE {_fmt(calibration.get('ece_before'))} -> {_fmt(calibration.get('ece_after'))}."
    )


def _summary(normalization: Any) -> Any:
    """Normalisation dict with long arrays shortened for the card."""
    if not isinstance(normalization, Mapping):
        return normalization
    out: dict[str, Any] = {}
    for k, v in normalization.items():
        out[k] = f"{len(v)} values" if isinstance(v, (list, tuple)) and len(v) > 6 else v
    return out
