"""Feature, concept and prior drift of a trading run against the model's training reference.

:class:`OnlineDrift` is the runtime's step form of ``ScanModelDrift``'s drift checks; the run's
:class:`~ghtrader.application.trading.alerts.RuntimeAlerts` asks it for scores on every decision
tick and grades them with the run's thresholds, so the drift ladder (``drift_response.py``)
answers them like ``prediction_shift``:

- ``feature_drift``: the served factor vector of each decision fills a window of ``drift_window``
  rows; a full window is scored at once (:func:`ghtrader.domain.drift.psi_columns`, vectorised
  over rows and features) against the reference bins of the model's training window (the stored
  features ``ScanModelDrift`` reads, thinned the same way: :func:`training_reference`). Score:
  the worst feature's PSI; details: the ``top_k`` features by PSI and how many are at WARNING.
- ``concept_drift``: Page-Hinkley (mean increase) on the model's realised log-loss
  ``-ln p[label]`` of the online calibrator's labelled rows (the model's raw probabilities, the
  training label rule, ``horizon`` ticks late), one row in ``stride`` (= the horizon: labels of
  consecutive ticks overlap). A detection scores 1 (the batch scan's unit).
- ``prior_shift``: PSI of the label shares of each ``drift_window`` labelled rows against the
  training window's label shares.

Without an online calibrator the run has no realised labels: concept and prior drift are off
(feature drift still runs). A reference that cannot be built leaves the run without this monitor
(the caller logs why).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ghtrader.application.alerts_drift import label_shares, training_reference
from ghtrader.application.ports.models import FrameSource
from ghtrader.application.research.artifacts import ModelMeta
from ghtrader.domain.anomaly import AnomalyConfig
from ghtrader.domain.anomaly.model import class_psi
from ghtrader.domain.drift import psi_columns, reference_bins
from ghtrader.domain.online import PageHinkley

__all__ = ["DriftReference", "OnlineDrift", "drift_reference", "open_online_drift"]

_log = logging.getLogger("ghtrader.trading.drift")

TOP_K = 5  # features named in a feature_drift event
LOSS_FLOOR = 1e-6  # probability floor of the log-loss (a confident miss costs ~13.8, not inf)


@dataclass(frozen=True)
class DriftReference:
    """The training reference of one model: per-feature PSI bins and the label shares."""

    names: tuple[str, ...]
    edges: np.ndarray  # (features, bins - 1), +inf padded
    shares: np.ndarray  # (features, bins)
    label_shares: np.ndarray  # (3,)
    rows: int  # reference rows after thinning
    days: tuple[str, str] = ("", "")

    def describe(self) -> dict[str, Any]:
        return {"on": True, "features": len(self.names), "rows": self.rows, "train_days": list(self.days),
                "label_shares": [round(float(s), 4) for s in self.label_shares]}  # fmt: skip


def drift_reference(frames: FrameSource, meta: ModelMeta, bins: int) -> DriftReference:
    """The reference of ``meta``'s model from its stored training window (raises what
    :func:`~ghtrader.application.alerts_drift.training_reference` raises)."""
    ref = training_reference(frames, meta)
    edges, shares = reference_bins(ref.features, bins)
    return DriftReference(tuple(meta.feature_names), edges, shares, label_shares(ref.label_codes), int(ref.keep.shape[0]),
                          (ref.days[0].isoformat(), ref.days[1].isoformat()))  # fmt: skip


Labelled = Callable[[], "tuple[int, np.ndarray, int] | None"]  # (rows labelled so far, raw probs, label)


@dataclass
class _LossState:
    detector: PageHinkley
    seen: int = 0  # labelled rows consumed
    losses: list[float] = field(default_factory=list)  # since the last detection (for the details)


class OnlineDrift:
    """Feature / concept / prior drift scores of one run (module docstring).

    ``features``: the factor vector of the tick just decided; ``labelled``: the online
    calibrator's last labelled row as ``(count, raw probs, label)`` (None: no labels).
    """

    def __init__(
        self,
        reference: DriftReference,
        config: AnomalyConfig,
        features: Callable[[], np.ndarray | None],
        labelled: Labelled = lambda: None,
        stride: int = 1,
        page_hinkley: dict[str, float] | None = None,
    ) -> None:
        self.reference = reference
        self._cfg = config
        self._features = features
        self._labelled = labelled
        self._stride = max(1, int(stride))
        w, n = config.drift_window, len(reference.names)
        self._window = np.empty((w, n), dtype=np.float64)
        self._filled = 0
        self._labels = np.empty(w, dtype=np.int64)
        self._n_labels = 0
        ph = {"delta": 0.1, "threshold": 20.0, "min_samples": 30, **(page_hinkley or {})}
        self._loss = _LossState(PageHinkley(delta=ph["delta"], threshold=ph["threshold"],
                                            min_samples=int(ph["min_samples"])))  # fmt: skip
        self.details: dict[str, dict[str, Any]] = {}  # the details of the scores just returned

    def scores(self) -> dict[str, float]:
        """The drift scores due at this decision tick (type -> score); :attr:`details` has each
        one's details."""
        self.details = {}
        out: dict[str, float] = {}
        self._feature_step(out)
        self._label_step(out)
        return out

    def _feature_step(self, out: dict[str, float]) -> None:
        x = self._features()
        if x is None or np.shape(x)[-1] != self._window.shape[1]:
            return
        self._window[self._filled] = x
        self._filled += 1
        if self._filled < self._window.shape[0]:
            return
        self._filled = 0
        per = psi_columns(self._window, self.reference.edges, self.reference.shares, 1e-4)
        if not np.any(np.isfinite(per)):
            return
        order = np.argsort(np.where(np.isfinite(per), -per, np.inf))[:TOP_K]
        warn = self._cfg.threshold("feature_drift").warning
        names = self.reference.names
        out["feature_drift"] = float(per[order[0]])
        self.details["feature_drift"] = {
            "top": [{"feature": names[j], "psi": round(float(per[j]), 4)} for j in order if math.isfinite(per[j])],
            "n_drifted": int(np.sum(per >= warn)), "features": len(names), "rows": self._window.shape[0],
            "method": "psi",
        }  # fmt: skip

    def _label_step(self, out: dict[str, float]) -> None:
        got = self._labelled()
        if got is None:
            return
        count, probs, label = got
        if count <= self._loss.seen or not 0 <= label < 3:
            return
        self._loss.seen = count
        if count % self._stride == 0:
            p = float(np.asarray(probs, dtype=np.float64).reshape(-1)[label])
            loss = -math.log(max(p, LOSS_FLOOR)) if math.isfinite(p) else -math.log(LOSS_FLOOR)
            self._loss.losses.append(loss)
            if self._loss.detector.update(loss):
                recent = self._loss.losses[-self._loss.detector.min_samples :]
                out["concept_drift"] = 1.0
                self.details["concept_drift"] = {"method": "page_hinkley", "loss": "log_loss",
                                                 "rows": len(self._loss.losses),
                                                 "recent_mean_loss": round(float(np.mean(recent)), 4)}  # fmt: skip
                self._loss.losses.clear()
        self._labels[self._n_labels] = label
        self._n_labels += 1
        if self._n_labels == self._labels.shape[0]:
            self._n_labels = 0
            shares = label_shares(self._labels)
            psi, kl = class_psi(self.reference.label_shares, shares)
            out["prior_shift"] = psi
            self.details["prior_shift"] = {"method": "psi", "kl": round(kl, 4), "rows": self._labels.shape[0],
                                           "shares": shares.round(4).tolist(),
                                           "reference_shares": self.reference.label_shares.round(4).tolist()}  # fmt: skip


def open_online_drift(
    frames: FrameSource | None, meta: ModelMeta, config: AnomalyConfig, pipeline: Any, calibration: Any
) -> tuple[OnlineDrift | None, dict[str, Any]]:
    """The run's :class:`OnlineDrift` and its run_config block; ``(None, {"on": False, "why": ...})``
    when the reference cannot be built (logged; the run goes on without it). ``pipeline``: the
    production DecisionPipeline (its ``last_x``); ``calibration``: its OnlineCalibration or None."""
    if frames is None:
        why = "no stored features on this server (frame source)"
    else:
        try:
            reference = drift_reference(frames, meta, config.drift_bins)
        except Exception as exc:  # noqa: BLE001 - any failure to read the reference: the run goes on without it
            why = f"{type(exc).__name__}: {exc}"
        else:
            labelled = calibration.labelled if calibration is not None else (lambda: None)
            online = OnlineDrift(reference, config, lambda: pipeline.last_x, labelled, stride=int(meta.horizon))
            desc = reference.describe()
            desc["labels"] = "online_calibrator" if calibration is not None else "none: no online calibrator"
            return online, desc
    _log.warning("runtime drift vs the training reference off for %s v%s: %s", meta.model_id, meta.version, why)
    return None, {"on": False, "why": why}
