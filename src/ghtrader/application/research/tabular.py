"""Checks and row selection shared by the tabular families and TrainModel (no ML library here).

A tabular model sees one row of features per labelled tick; rows whose label is NaN are not
trained on. Every check raises InvalidArgument with a message naming what is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from ghtrader.application.errors import FailedPrecondition, InvalidArgument
from ghtrader.application.ports.models import CLASS_NAMES, FeatureFrame

__all__ = [
    "check_frame_shape",
    "check_training_data",
    "class_weights",
    "even_subsample",
    "labelled_rows",
    "nan_only_columns",
    "select_features",
    "tabular_xy",
]


def check_frame_shape(frame: FeatureFrame, what: str = "frame") -> None:
    """Raise InvalidArgument unless features are (n, len(feature_names)) and labels are (n,)."""
    features = frame.features
    if features.ndim != 2 or features.shape[1] != len(frame.feature_names):
        raise InvalidArgument(
            f"{what}: features have shape {features.shape} but {len(frame.feature_names)} feature names"
        )
    if frame.labels.shape != (features.shape[0],):
        raise InvalidArgument(f"{what}: {frame.labels.shape[0]} labels for {features.shape[0]} feature rows")


def select_features(frame: FeatureFrame, names: Sequence[str]) -> FeatureFrame:
    """``frame`` with exactly the columns ``names`` in that order; raises InvalidArgument
    naming the features the frame lacks (and duplicates in ``names``)."""
    names = tuple(names)
    if not names:
        raise InvalidArgument("no feature names given: name at least one feature column")
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InvalidArgument(f"feature names repeated: {', '.join(duplicates)}")
    position = {name: i for i, name in enumerate(frame.feature_names)}
    missing = [n for n in names if n not in position]
    if missing:
        raise InvalidArgument(
            f"features not in the frame: {', '.join(missing)} (the frame has {len(frame.feature_names)} "
            f"columns: {', '.join(frame.feature_names[:20])}{' ...' if len(frame.feature_names) > 20 else ''})"
        )
    if names == tuple(frame.feature_names):
        return frame
    index = np.array([position[n] for n in names], dtype=np.int64)
    features = np.ascontiguousarray(frame.features[:, index])
    return replace(frame, features=features, feature_names=names)


def labelled_rows(frame: FeatureFrame) -> np.ndarray:
    """Positions of rows with a label; raises InvalidArgument on a label outside 0/1/2/NaN."""
    labels = np.asarray(frame.labels, dtype=np.float64)
    finite = np.isfinite(labels)
    bad = ~np.isnan(labels) & ~np.isin(labels, (0.0, 1.0, 2.0))
    if bad.any():
        values = np.unique(labels[bad])[:5]
        raise InvalidArgument(f"labels must be 0 (DOWN), 1 (FLAT), 2 (UP) or NaN; found {values.tolist()}")
    return np.flatnonzero(finite)


def even_subsample(rows: np.ndarray, max_rows: int | None) -> np.ndarray:
    """At most ``max_rows`` of ``rows``, evenly spaced over time (all of them when None)."""
    if max_rows is None or rows.shape[0] <= max_rows:
        return rows
    if max_rows < 1:
        raise InvalidArgument(f"max_train_rows must be >= 1 (got {max_rows})")
    pick = np.linspace(0, rows.shape[0] - 1, num=max_rows).round().astype(np.int64)
    return rows[np.unique(pick)]


def nan_only_columns(features: np.ndarray, names: Sequence[str]) -> list[str]:
    """Names of the columns of ``features`` without a single finite value."""
    if features.shape[0] == 0:
        return list(names)
    finite_any = np.isfinite(features).any(axis=0)
    return [names[int(i)] for i in np.flatnonzero(~finite_any)]


def check_training_data(train: FeatureFrame, valid: FeatureFrame | None = None) -> None:
    """Raise InvalidArgument when ``train`` / ``valid`` cannot train a direction classifier:
    shape mismatch, no labelled rows, a single class, or a feature that is NaN on every
    labelled training row."""
    check_frame_shape(train, "training data")
    rows = labelled_rows(train)
    if rows.shape[0] == 0:
        raise InvalidArgument(f"the training data has no labelled rows ({len(train)} rows, every label NaN or none)")
    classes = np.unique(train.labels[rows]).astype(np.int64)
    if classes.shape[0] < 2:
        raise InvalidArgument(
            f"the training data holds a single class ({CLASS_NAMES[int(classes[0])]}, {rows.shape[0]} rows): "
            "a direction model needs at least two; use a longer range or another label threshold"
        )
    empty = nan_only_columns(train.features[rows], train.feature_names)
    if empty:
        raise InvalidArgument(f"features that are NaN on every labelled training row: {', '.join(empty)}")
    if valid is not None:
        check_frame_shape(valid, "validation data")
        if tuple(valid.feature_names) != tuple(train.feature_names):
            raise InvalidArgument("the validation data has other feature columns than the training data")
        if labelled_rows(valid).shape[0] == 0:
            raise InvalidArgument(f"the validation data has no labelled rows ({len(valid)} rows)")


def tabular_xy(frame: FeatureFrame, max_rows: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Labelled rows as ``(x float32 (m, f), y int64 (m,))``, evenly subsampled to ``max_rows``."""
    rows = even_subsample(labelled_rows(frame), max_rows)
    x = np.ascontiguousarray(frame.features[rows], dtype=np.float32)
    return x, frame.labels[rows].astype(np.int64)


def class_weights(y: np.ndarray, mode: str | None) -> np.ndarray | None:
    """Per-row weights: None for ``mode`` None / "none"; ``"balanced"`` weighs each class by
    ``m / (3 * count)`` (classes absent from ``y`` get no weight)."""
    if mode is None or mode == "none":
        return None
    if mode != "balanced":
        raise InvalidArgument(f"class_weight must be 'balanced' or None (got {mode!r})")
    counts = np.bincount(y, minlength=len(CLASS_NAMES)).astype(np.float64)
    per_class = np.divide(y.shape[0], len(CLASS_NAMES) * counts, out=np.zeros_like(counts), where=counts > 0)
    return per_class[y]


def family_params(family: str, defaults: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """``defaults`` updated with ``given``; a name not in ``defaults`` is InvalidArgument naming the known ones."""
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise InvalidArgument(f"unknown {family} params {unknown}; known: {sorted(defaults)}")
    return dict(defaults) | dict(given)


def check_model_features(model_features: Sequence[str], frame: FeatureFrame) -> None:
    """FailedPrecondition unless ``frame`` holds the model's features, same names in the same order."""
    if tuple(frame.feature_names) != tuple(model_features):
        raise FailedPrecondition(
            f"the frame's features {list(frame.feature_names)[:8]}... differ from the model's "
            f"{len(model_features)} features (names and order must match)"
        )
