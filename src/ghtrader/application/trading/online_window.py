"""Windowed (deep) models served one tick at a time.

A model whose ONNX graph takes normalised windows (``meta.onnx_input`` not raw: TCN, DeepLOB, ...)
is loaded through its family (the port the backtest uses, ``ModelFamilies.get(family).load``).
The backtest predicts with ``Predictor.predict_frame(frame, model.inputs)``: windows of the last
``window`` normalised rows that never cross a segment (contract roll). :class:`OnlineWindow` keeps
those rows live: each tick's factor row is normalised by the model's ``normalize_rows`` and shifted
into a preallocated ``(1, window, f)`` input; a roll (``reset``) empties it, and until it holds
``window`` rows there is no input (the backtest's rows without a full window are NaN too).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ghtrader.application.errors import FailedPrecondition
from ghtrader.application.ports.models import ArtifactStore, ModelFamilies, RowNormalizer, TrainedModel
from ghtrader.application.research.artifacts import ONNX_INPUT_RAW, ModelMeta, load_model

__all__ = ["OnlineWindow", "windowed_model"]


def windowed_model(
    families: ModelFamilies | None, store: ArtifactStore, meta: ModelMeta, directory: Path
) -> TrainedModel | None:
    """The trained model behind a windowed graph (None for a raw-feature one), its weights checked
    against the meta and loaded through its family, as the backtest loads it."""
    if meta.onnx_input == ONNX_INPUT_RAW and meta.window == 1:
        return None
    if families is None:
        raise FailedPrecondition(f"{meta.model_id} takes normalised windows and no model families are set")
    return load_model(store, families, Path(directory), meta.horizon)[0]


class OnlineWindow:
    """The last ``window`` normalised feature rows of one series, oldest first."""

    def __init__(self, model: TrainedModel) -> None:
        if not isinstance(model, RowNormalizer):
            raise FailedPrecondition(f"the {model.family} model cannot normalise one row at a time")
        self._normalize = model.normalize_rows
        self.window = int(model.window)
        self.names = tuple(model.feature_names)
        self._buf = np.zeros((1, self.window, len(self.names)), dtype=np.float32)
        self._rows = 0

    def reset(self) -> None:
        """A new series (a roll): no row is kept."""
        self._rows = 0

    def push(self, features: np.ndarray) -> None:
        """Shift one tick's raw factor row (in the model's feature order) into the window."""
        buf = self._buf[0]
        buf[:-1] = buf[1:]  # NumPy copies overlapping slices safely
        buf[-1] = self._normalize(features[None, :])[0]
        self._rows += 1

    @property
    def full(self) -> bool:
        return self._rows >= self.window

    def input(self) -> np.ndarray | None:
        """The model input ``(1, window, f)`` (a view: valid until the next push), or None until
        the window is full."""
        return self._buf if self._rows >= self.window else None
