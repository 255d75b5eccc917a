"""``Predictor``: the serving guard around one trained model's ONNX graph.

It loads a version directory's meta sidecar and ``model.onnx`` (through the InferenceRuntime)
and refuses, with FailedPrecondition, anything that does not match what the model was trained
on: a graph whose bytes differ from the digest in the meta, feature names in another order, a
different feature count, or a window of another length.

A regime-conditional ensemble (its meta has a ``regime_ensemble`` block) is served through
:attr:`Predictor.regime`: :meth:`Predictor.predict_frame` recombines the graph's member outputs
with the rows' causal regime probabilities (the backtest's path), and a decision pipeline keeps
its own online filter (:mod:`ghtrader.application.research.regime_mix`). The stateless
:meth:`Predictor.predict` returns the graph's output, the vote with the regimes' mean weights.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ghtrader.application.errors import FailedPrecondition, NotFound
from ghtrader.application.ports.models import (
    ArtifactStore,
    FeatureFrame,
    InferenceRuntime,
    InferenceSession,
    ModelRegistry,
    RegistryEntry,
)
from ghtrader.application.research.artifacts import (
    ONNX_FILE,
    ONNX_INPUT_RAW,
    ModelMeta,
    read_meta,
    verify_files,
)
from ghtrader.application.research.regime_mix import RegimeMix

__all__ = ["InputsFn", "Predictor", "registry_entry"]


def registry_entry(registry: ModelRegistry, model_id: str, version: str | None) -> RegistryEntry:
    """A model's registry entry: ``version``, or the newest one when it is None or empty."""
    if version:
        e = registry.get(model_id, version)
        if e is None:
            raise NotFound(f"no model {model_id} version {version} in the registry")
        return e
    entries = [e for e in registry.list() if e.model_id == model_id]
    if not entries:
        raise NotFound(f"no model {model_id!r} in the registry")
    return max(entries, key=lambda e: int(e.version))


InputsFn = Callable[[FeatureFrame], tuple[np.ndarray, np.ndarray]]


class Predictor:
    """Probabilities from a published model, with its inputs checked against its meta."""

    def __init__(self, meta: ModelMeta, session: InferenceSession, directory: Path | None = None) -> None:
        self.meta = meta
        self.session = session
        self.directory = directory
        # a regime ensemble's combiner (None for any other model)
        self.regime: RegimeMix | None = RegimeMix.from_meta(meta.raw)
        if self.regime is not None and "member_probabilities" not in getattr(session, "detail_outputs", ()):
            raise FailedPrecondition(
                f"{meta.model_id} v{meta.version} is a regime ensemble but its graph has no member_probabilities output"
            )

    @classmethod
    def open(
        cls,
        store: ArtifactStore,
        runtime: InferenceRuntime,
        directory: Path,
        *,
        horizon: int | None = None,
        prefer_gpu: bool = True,
    ) -> Predictor:
        """Read the meta, check ``model.onnx`` against its recorded digest, load the graph."""
        directory = Path(directory)
        meta = read_meta(store, directory, horizon)
        verify_files(store, directory, meta, onnx=True, weights=False)
        return cls(meta, runtime.load(directory / ONNX_FILE, prefer_gpu=prefer_gpu), directory)

    @property
    def feature_names(self) -> tuple[str, ...]:
        return self.meta.feature_names

    @property
    def window(self) -> int:
        return self.meta.window

    @property
    def providers(self) -> tuple[str, ...]:
        return tuple(self.session.providers)

    def check_features(self, feature_names: Sequence[str]) -> None:
        """FailedPrecondition unless ``feature_names`` are the model's, in the model's order."""
        given, expected = tuple(feature_names), self.meta.feature_names
        if given == expected:
            return
        if len(given) != len(expected):
            raise FailedPrecondition(
                f"feature count {len(given)} does not match the model's {len(expected)} "
                f"({self.meta.model_id} v{self.meta.version})"
            )
        if sorted(given) == sorted(expected):
            first = next(i for i, (a, b) in enumerate(zip(given, expected, strict=True)) if a != b)
            raise FailedPrecondition(
                f"features are in another order than the model's: position {first} is {given[first]!r}, "
                f"the model expects {expected[first]!r}"
            )
        unknown = [n for n in given if n not in expected]
        missing = [n for n in expected if n not in given]
        raise FailedPrecondition(f"features do not match the model's: unexpected {unknown}, missing {missing}")

    def predict(self, x: np.ndarray, feature_names: Sequence[str]) -> np.ndarray:
        """(batch, 3) probabilities for model inputs ``x``: (f,) or (batch, f) for window 1,
        (window, f) or (batch, window, f) otherwise; ``feature_names`` name the last axis."""
        self.check_features(feature_names)
        x = np.asarray(x, dtype=np.float32)
        f, window = len(self.meta.feature_names), self.meta.window
        single = 1 if window == 1 else 2
        if x.ndim == single:
            x = x[None, ...]
        expected_ndim = 2 if window == 1 else 3
        if x.ndim != expected_ndim:
            raise FailedPrecondition(
                f"input of shape {x.shape} does not fit the model: expected (batch, {'' if window == 1 else f'{window}, '}{f})"
            )
        if x.shape[-1] != f:
            raise FailedPrecondition(f"input has {x.shape[-1]} features per row; the model takes {f}")
        if window > 1 and x.shape[1] != window:
            raise FailedPrecondition(
                f"input window of {x.shape[1]} ticks does not match the model's window of {window}"
            )
        return np.asarray(self.session.run(x), dtype=np.float64)

    def predict_checked(self, x: np.ndarray) -> np.ndarray:
        """(1, 3) probabilities of one input already in the graph's exact shape and dtype (float32
        ``(1, f)``, or ``(1, window, f)``) whose features the caller checked once with
        :meth:`check_features`: the per-tick call of a trading loop, without :meth:`predict`'s
        per-call checks."""
        return np.asarray(self.session.run(x), dtype=np.float64)

    @property
    def member_names(self) -> tuple[str, ...]:
        """An ensemble graph's member names (its meta's ``params.members``) when the graph outputs
        per-member probabilities; () for a single model."""
        if "member_probabilities" not in getattr(self.session, "detail_outputs", ()):
            return ()
        params = self.meta.raw.get("params") or {}
        members = params.get("members") if isinstance(params, dict) else None
        return tuple(str(m) for m in members) if isinstance(members, list) else ()

    def predict_checked_detail(self, x: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """:meth:`predict_checked` plus an ensemble graph's ``disagreement`` (1,) and
        ``member_probabilities`` (1, K, 3) from the same run (empty for a single model)."""
        run_detail = getattr(self.session, "run_detail", None)
        if run_detail is None:
            return self.predict_checked(x), {}
        probs, detail = run_detail(x)
        return np.asarray(probs, dtype=np.float64), detail

    def predict_frame(self, frame: FeatureFrame, inputs: InputsFn | None = None) -> np.ndarray:
        """(n, 3) probabilities for every row of ``frame`` (NaN where a row has no full window).

        A graph that takes raw features needs nothing else; one that takes normalised windows
        needs ``inputs`` (the trained model's ``inputs``) to build them.
        """
        self.check_features(frame.feature_names)
        if self.regime is not None:
            return self._regime_frame(frame)
        out = np.full((len(frame), 3), np.nan)
        if inputs is not None:
            x, rows = inputs(frame)
        elif self.meta.onnx_input == ONNX_INPUT_RAW:
            x, rows = frame.features, np.arange(len(frame))
        else:
            raise FailedPrecondition(
                f"{self.meta.model_id} v{self.meta.version} takes normalised windows: pass the model's inputs()"
            )
        if len(rows):
            out[rows] = self.predict(x, frame.feature_names)
        return out

    def _regime_frame(self, frame: FeatureFrame) -> np.ndarray:
        """A regime ensemble's (n, 3): its graph's member outputs voted with each row's
        ``pi @ W`` (the regime filter started at the frame's first row), then calibrated."""
        assert self.regime is not None
        if len(frame) == 0:
            return np.full((0, 3), np.nan)
        x = np.ascontiguousarray(frame.features, dtype=np.float32)
        _, detail = self.predict_checked_detail(x)
        return self.regime.combine(detail["member_probabilities"], self.regime.batch_probabilities(frame))
