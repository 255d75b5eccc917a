"""Explain ports: per-feature attributions of one trained model's raw output.

An :class:`Attributor` is owned by the adapter that knows the model's library (TreeSHAP inside
LightGBM / XGBoost, integrated gradients through torch); the explain use case only sees arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ghtrader.application.ports.models import TrainedModel

__all__ = ["AttentionMap", "AttentionProbe", "Attribution", "Attributor"]


@dataclass(frozen=True)
class Attribution:
    """Attributions of ``m`` model inputs, one per input element and class.

    ``values`` has the input's shape plus a class axis: ``(m, f, 3)`` for a tabular model,
    ``(m, window, f, 3)`` for a windowed one. ``base`` (m, 3) is where they start from (the
    trees' expected value for TreeSHAP, the output at the baseline for integrated gradients);
    ``output`` (m, 3) is the explained output, so ``values`` summed over the input axes plus
    ``base`` is ``output`` (exactly for TreeSHAP, up to the integration error for IG).
    ``output_space`` names that output: ``"raw_margin"`` (trees, before softmax) or
    ``"logit"`` (a deep model's pre-softmax output).
    """

    values: np.ndarray
    base: np.ndarray
    output: np.ndarray
    method: str
    output_space: str

    @classmethod
    def tree_contributions(cls, contrib: np.ndarray, margin: np.ndarray, method: str) -> Attribution:
        """From a tree library's per-class contributions ``(m, k, f + 1)`` (the last column the
        expected value) and its raw margin ``(m, k)``."""
        c = np.asarray(contrib, dtype=np.float64)
        m, k, f1 = c.shape
        return cls(
            values=np.ascontiguousarray(c[:, :, : f1 - 1].transpose(0, 2, 1)),
            base=c[:, :, f1 - 1],
            output=np.asarray(margin, dtype=np.float64).reshape(m, k),
            method=method,
            output_space="raw_margin",
        )

    def per_feature(self) -> np.ndarray:
        """(m, f, 3): windows summed over their ticks (a tabular model's values unchanged)."""
        v = np.asarray(self.values, dtype=np.float64)
        return v.sum(axis=1) if v.ndim == 4 else v

    def completeness_error(self) -> float:
        """max |sum of values + base - output| over rows and classes (0 when there are no rows)."""
        v = np.asarray(self.values, dtype=np.float64)
        if v.shape[0] == 0:
            return 0.0
        total = v.reshape(v.shape[0], -1, v.shape[-1]).sum(axis=1) + self.base
        return float(np.max(np.abs(total - self.output)))


class Attributor(Protocol):
    """Attributions for the models of one family (the base model, before calibration)."""

    method: str  # "treeshap" | "ig"

    def attribute(self, model: TrainedModel, x: np.ndarray, steps: int = 32) -> Attribution:
        """Attributions of the model inputs ``x`` (what ``model.inputs`` returns); ``steps``:
        integration steps of a path method (exact methods ignore it). Raises FailedPrecondition
        when ``model`` is not one this attributor explains."""
        ...


@dataclass(frozen=True)
class AttentionMap:
    """One attention layer's weights over ``m`` model inputs, averaged over its heads.

    ``weights`` is ``(m, queries, keys)`` with every row summing to 1 (a softmax). ``kind`` is
    ``"temporal"`` (tokens are ticks, or patches of ticks, oldest first) or ``"feature"``
    (tokens are input features). ``labels`` names the key tokens (``queries`` == ``keys`` for
    self-attention). ``readout`` is the query row the model's output is read from (a CLS token,
    the newest tick), ``None`` when every row feeds the output. ``step_of`` maps each temporal
    token to the lag (0 = the newest tick) its keys end at, ``-1`` for a token with no tick (CLS).
    """

    name: str
    kind: str
    layer: int
    weights: np.ndarray
    labels: tuple[str, ...]
    readout: int | None = None
    step_of: tuple[int, ...] = ()
    note: str = ""


class AttentionProbe(Protocol):
    """The attention weights of a model's attention layers during one eval-mode forward pass."""

    def attention(self, model: TrainedModel, x: np.ndarray) -> list[AttentionMap] | None:
        """Maps for the inputs ``x`` (what ``model.inputs`` returns), one per attention layer
        (and kind); ``None`` when the model has no attention layers."""
        ...
