"""Segment-safe windows over a feature matrix, the training Dataset, and train-only normalization.

A window ending at row ``t`` is rows ``t - window + 1 .. t``; it exists only when all of them
share ``t``'s segment id (a contract roll or a new day never leaks into a window). Everything
here is vectorized NumPy / torch indexing: no per-row Python loops.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

__all__ = [
    "Normalizer",
    "WindowData",
    "WindowDataset",
    "evenly_spaced",
    "gather_windows",
    "labelled_window_ends",
    "window_ends",
]


def window_ends(segment_id: np.ndarray, window: int) -> np.ndarray:
    """Row positions (int64, ascending) that end a full window inside one segment."""
    if window < 1:
        raise ValueError(f"invalid window={window}: expected >= 1")
    seg = np.asarray(segment_id)
    n = int(seg.shape[0])
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.ones(n, dtype=bool)
    starts[1:] = seg[1:] != seg[:-1]
    # Position of each row inside its run: index minus the index of the run's first row.
    run_start = np.maximum.accumulate(np.where(starts, np.arange(n), 0))
    pos = np.arange(n) - run_start
    return np.flatnonzero(pos >= window - 1).astype(np.int64)


def labelled_window_ends(segment_id: np.ndarray, labels: np.ndarray, window: int) -> np.ndarray:
    """:func:`window_ends` restricted to rows whose label is 0, 1 or 2."""
    ends = window_ends(segment_id, window)
    y = np.asarray(labels, dtype=np.float64)[ends]
    return ends[np.isfinite(y) & (y >= 0) & (y <= 2)]


def evenly_spaced(index: np.ndarray, limit: int | None) -> np.ndarray:
    """At most ``limit`` entries of ``index`` spread evenly over it (all of it when None)."""
    if limit is None or index.shape[0] <= limit:
        return index
    if limit < 1:
        raise ValueError(f"invalid limit={limit}: expected >= 1")
    pick = np.unique(np.linspace(0, index.shape[0] - 1, num=limit).round().astype(np.int64))
    return index[pick]


def gather_windows(features: np.ndarray, ends: np.ndarray, window: int) -> np.ndarray:
    """``(len(ends), window, f)`` float32 copy of the windows ending at ``ends``."""
    offsets = np.arange(-window + 1, 1, dtype=np.int64)
    return np.ascontiguousarray(features[ends[:, None] + offsets[None, :]], dtype=np.float32)


@dataclass(frozen=True)
class Normalizer:
    """Per-feature standardization fitted on training rows only.

    ``apply`` maps ``(x - mean) / std``, clips to ``+-clip`` and sets NaN (missing values and
    features never observed in training) to 0, the training mean.
    """

    mean: np.ndarray  # float32 (f,)
    std: np.ndarray  # float32 (f,)
    clip: float = 10.0

    @classmethod
    def fit(cls, features: np.ndarray, clip: float = 10.0) -> Normalizer:
        """Statistics of ``features`` (n, f), NaN ignored; constant or empty columns get std 1."""
        x = np.asarray(features, dtype=np.float64)
        if x.ndim != 2:
            raise ValueError(f"invalid features of shape {x.shape}: expected (n, f)")
        finite = np.isfinite(x)
        count = finite.sum(axis=0)
        safe = np.where(finite, x, 0.0)
        mean = np.divide(safe.sum(axis=0), count, out=np.zeros(x.shape[1]), where=count > 0)
        var = np.divide(
            (np.where(finite, x - mean, 0.0) ** 2).sum(axis=0), count, out=np.zeros(x.shape[1]), where=count > 0
        )
        std = np.sqrt(var)
        std = np.where(std > 1e-12, std, 1.0)
        return cls(mean=mean.astype(np.float32), std=std.astype(np.float32), clip=float(clip))

    def apply(self, features: np.ndarray) -> np.ndarray:
        """Normalized float32 copy of ``features`` (n, f)."""
        x = (np.asarray(features, dtype=np.float32) - self.mean) / self.std
        np.clip(x, -self.clip, self.clip, out=x)
        x[~np.isfinite(x)] = 0.0
        return x

    def save(self, path: Path) -> Path:
        np.savez(path, mean=self.mean, std=self.std, clip=np.float64(self.clip))
        return path

    @classmethod
    def load(cls, path: Path) -> Normalizer:
        with np.load(path) as z:
            return cls(mean=z["mean"].astype(np.float32), std=z["std"].astype(np.float32), clip=float(z["clip"]))

    def summary(self, feature_names: tuple[str, ...]) -> dict[str, dict[str, float]]:
        """``{name: {"mean", "std"}}`` for a model card."""
        return {
            name: {"mean": float(m), "std": float(s)}
            for name, m, s in zip(feature_names, self.mean, self.std, strict=False)
        }


@dataclass(frozen=True)
class WindowData:
    """What the training loop learns from: normalized features, window end rows and labels."""

    features: np.ndarray  # float32 (n, f), already normalized
    ends: np.ndarray  # int64 rows ending a full, labelled window
    labels: np.ndarray  # float64 (n,): 0/1/2 or NaN


class WindowDataset(Dataset):
    """Labelled windows over a normalized feature matrix held once as a tensor.

    Item ``i`` is the window ending at ``ends[i]`` and its label; :meth:`batch` gathers many at
    once with one indexing op (what the training loop uses), ``__getitem__`` serves samplers
    and DataLoaders that want single items.
    """

    def __init__(self, features: torch.Tensor, ends: np.ndarray, labels: np.ndarray, window: int) -> None:
        if features.ndim != 2:
            raise ValueError(f"invalid features of shape {tuple(features.shape)}: expected (n, f)")
        self.features = features
        self.window = int(window)
        self.ends = torch.as_tensor(np.asarray(ends, dtype=np.int64), device=features.device)
        self.labels = torch.as_tensor(
            np.asarray(labels, dtype=np.float64)[ends].astype(np.int64), device=features.device
        )
        self._offsets = torch.arange(-self.window + 1, 1, dtype=torch.int64, device=features.device)

    def __len__(self) -> int:
        return int(self.ends.shape[0])

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = self.batch(torch.as_tensor([i], device=self.features.device))
        return x[0], y[0]

    def batch(self, items: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(x, y)``: x (len(items), window, f) and the int64 labels of dataset items ``items``."""
        items = items.to(self.ends.device)
        rows = self.ends[items][:, None] + self._offsets[None, :]
        return self.features[rows], self.labels[items]

    def class_counts(self) -> np.ndarray:
        """Number of windows per class (DOWN, FLAT, UP)."""
        return np.bincount(self.labels.cpu().numpy(), minlength=3)[:3]
