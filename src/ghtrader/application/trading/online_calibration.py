"""The online calibrator in the trading loop (docs/online_calibration.md, "In the trading loop").

Per decision tick, after the ONNX model, :meth:`OnlineCalibration.serve` gives the probabilities
the cost-aware policy sees: the calibrated ones once warmed up, the raw model's while warming up,
after a drift (fallback) or once disabled. Once the tick's orders are out,
:meth:`OnlineCalibration.learn` pushes the model's probabilities and the factor vector into a
:class:`~ghtrader.domain.online.DelayedLabelBuffer` with the model's own horizon ``H`` and label
threshold ``k``; the row of ``H`` ticks ago, resolved with the training label rule, trains the
:class:`~ghtrader.domain.online.OnlineCalibrator` (``detector_stride = H``: labels of consecutive
ticks overlap, and with stride 1 the drift detectors fire on that dependence alone). Learning is
off the decision path: the decision at tick ``t`` uses what was learned from the rows resolved
through tick ``t - 1`` (a label resolves ``H`` ticks after its row, so this delays learning by one
tick and looks no further ahead).

- A trading-day change clears the pending rows (the buffer's ``clear_on_new_day``); a roll
  (:meth:`OnlineCalibration.reset`) clears them and forgets what the calibrator learned, as it
  does the factor engine's state.
- Rows pushed before the factor vector was first finite (the factor engine warming up after
  the start or a roll) are not learned from: they are not bad inputs, only early ones, and
  would otherwise count towards the calibrator's ``non_finite_inputs`` limit.
- :meth:`OnlineCalibration.recalibrate` (the anomaly monitor's ``recalibrate`` response to a drift
  warning, ``drift_response.py``) forgets what the calibrator learned and refits it at once from
  the last ``recent_rows`` labelled rows it learned from (kept in a ring), so it serves what the
  recent ticks say instead of adapting slowly away from the pre-drift weights.
- A mode change of the calibrator becomes a run event: ``signals_disabled`` (reason
  ``worse_than_raw`` / ``non_finite_*`` / ``drift: ...``, the policy falls back to the raw
  model) and ``signals_enabled`` when it (re-)arms; both carry ``source="online_calibrator"``
  and never touch the operator's signal switch.

:func:`check_feature_vector` is the preflight check of the runner's factor vector against the
model sidecar.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import numpy as np

from ghtrader.application.errors import FailedPrecondition
from ghtrader.application.ports.datasets import DatasetStore
from ghtrader.application.research.artifacts import ModelMeta
from ghtrader.domain.labels import LabelConfig
from ghtrader.domain.online import (
    SIGNALS_DISABLED,
    CalibratorConfig,
    CalibratorEvent,
    DelayedLabelBuffer,
    DriftDetector,
    OnlineCalibrator,
)

__all__ = [
    "SOURCE",
    "CalibrationSetup",
    "OnlineCalibration",
    "calibration_event_record",
    "calibration_setup",
    "check_feature_vector",
    "label_threshold",
]

SOURCE = "online_calibrator"  # the ``source`` of the events this module makes


def check_feature_vector(names: Sequence[str], meta: ModelMeta) -> None:
    """FailedPrecondition unless the runner's factor vector ``names`` is the sidecar's
    ``enabled_factors`` in the same order, and the ONNX signature takes that many values."""
    given, expected = tuple(names), tuple(meta.feature_names)
    where = f"{meta.model_id} v{meta.version}"
    if given != expected:
        if sorted(given) == sorted(expected):
            i = next(i for i, (a, b) in enumerate(zip(given, expected, strict=True)) if a != b)
            raise FailedPrecondition(
                f"feature vector mismatch with the sidecar of {where}: position {i} is {given[i]!r}, "
                f"the model expects {expected[i]!r}"
            )
        unknown = [n for n in given if n not in expected]
        missing = [n for n in expected if n not in given]
        raise FailedPrecondition(
            f"feature vector mismatch with the sidecar of {where}: {len(given)} factors vs {len(expected)}, "
            f"unexpected {unknown}, missing {missing}"
        )
    shape = tuple(meta.onnx.input_shape)
    width = shape[-1] if shape else None
    if isinstance(width, int) and not isinstance(width, bool) and width > 0 and width != len(expected):
        raise FailedPrecondition(
            f"feature vector mismatch: the ONNX graph of {where} takes {width} values per row, "
            f"its sidecar names {len(expected)} factors"
        )


def _k_of(params: Mapping[str, Any] | None) -> float | None:
    if not isinstance(params, Mapping):
        return None
    config = params.get("label_config")
    k = config.get("k") if isinstance(config, Mapping) else params.get("label_k")
    if isinstance(k, (int, float)) and not isinstance(k, bool) and math.isfinite(k) and k > 0:
        return float(k)
    return None


def label_threshold(meta: ModelMeta, datasets: DatasetStore | None = None) -> tuple[float, str]:
    """``(k, source)``: the direction threshold (price ticks) of the labels the model was
    trained on. From the sidecar (``label_config.k`` or ``label_k``, source ``"meta"``), else
    from the label build it names (``label_build_id``, source ``"label_build"``), else the
    label default (source ``"default"``)."""
    k = _k_of(meta.raw)
    if k is not None:
        return k, "meta"
    build_id = meta.raw.get("label_build_id")
    if datasets is not None and build_id:
        try:
            build = datasets.get_build(str(build_id))
        except Exception:  # noqa: BLE001 - an unreadable store leaves the default (recorded as such)
            build = None
        k = _k_of(build.params) if build is not None else None
        if k is not None:
            return k, "label_build"
    return float(LabelConfig().k), "default"


@dataclass(frozen=True)
class CalibrationSetup:
    """What the online calibration of one run uses: the model's label horizon and threshold,
    the contract's price tick and the calibrator's parameters (``detector_stride`` = horizon)."""

    horizon: int
    k: float
    k_source: str
    price_tick: float
    config: CalibratorConfig

    def with_config(self, **changes: Any) -> CalibrationSetup:
        """The same setup with calibrator parameters changed."""
        return replace(self, config=replace(self.config, **changes))

    def to_dict(self) -> dict[str, Any]:
        c = self.config
        return {
            "on": True, "horizon": self.horizon, "k": self.k, "k_source": self.k_source,
            "price_tick": self.price_tick,
            "calibrator": {name: getattr(c, name) for name in c.__dataclass_fields__},
        }  # fmt: skip


def calibration_setup(
    meta: ModelMeta,
    price_tick: float,
    datasets: DatasetStore | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> CalibrationSetup:
    """The setup for ``meta``'s model on a contract of ``price_tick``: horizon from the
    sidecar, ``k`` by :func:`label_threshold`, ``detector_stride`` = horizon; ``overrides``
    change other calibrator parameters (``n_features`` always follows the sidecar)."""
    k, source = label_threshold(meta, datasets)
    horizon = int(meta.horizon)
    if horizon < 1:
        raise FailedPrecondition(f"{meta.model_id} v{meta.version}: horizon {horizon} in its sidecar")
    params: dict[str, Any] = {"detector_stride": horizon, **dict(overrides or {})}
    params["n_features"] = len(meta.feature_names)
    return CalibrationSetup(horizon, k, source, float(price_tick), CalibratorConfig(**params))


def calibration_event_record(event: CalibratorEvent, mode: str) -> tuple[str, dict[str, Any]]:
    """The run event of a calibrator mode change: ``(kind, fields)``."""
    if event.event == SIGNALS_DISABLED:
        code = event.reason.split(":", 1)[0]
        return "signals_disabled", {
            "source": SOURCE, "reason": event.reason, "code": code, "mode": mode, "serving": "raw",
            "n_updates": event.n_updates,
        }  # fmt: skip
    return "signals_enabled", {
        "source": SOURCE, "reason": event.reason, "mode": mode, "serving": "calibrated", "n_updates": event.n_updates,
    }  # fmt: skip


class OnlineCalibration:
    """Delayed-label buffer + online calibrator for one run (module docstring).

    ``loss_detectors`` / ``error_detectors`` replace the calibrator's default drift detectors.
    """

    def __init__(
        self,
        setup: CalibrationSetup,
        *,
        loss_detectors: Sequence[DriftDetector] | None = None,
        error_detectors: Sequence[DriftDetector] | None = None,
        recent_rows: int = 600,
    ) -> None:
        self.setup = setup
        self._recent: deque[tuple[np.ndarray, np.ndarray, int]] = deque(maxlen=max(1, int(recent_rows)))
        self._refits = 0
        n = setup.config.n_features
        self._buffer = DelayedLabelBuffer(setup.horizon, setup.price_tick, setup.k, n, setup.config.n_classes)
        self._calibrator = OnlineCalibrator(
            setup.config, loss_detectors=loss_detectors, error_detectors=error_detectors
        )
        self._index = 0
        self._segment = 0
        self._first_finite = -1  # tick index of the first finite factor vector since the last reset
        self._learned_from = 0  # rows handed to the calibrator
        self._not_warm = 0  # resolved rows from before the factor vector was finite
        self._resets = 0

    @property
    def calibrator(self) -> OnlineCalibrator:
        return self._calibrator

    def reset(self) -> None:
        """A roll: clear pending rows and forget what the calibrator learned."""
        self._buffer.clear()
        self._calibrator.reset()
        self._recent.clear()
        self._segment += 1
        self._first_finite = -1
        self._resets += 1

    def step(
        self, tick: np.void, trading_day: date, probs: np.ndarray, features: np.ndarray
    ) -> tuple[np.ndarray, tuple[tuple[str, dict[str, Any]], ...]]:
        """:meth:`learn` from ``tick``, then :meth:`serve` its probabilities (an offline replay's
        order; the trading loop serves first and learns once the tick's orders are out)."""
        events = self.learn(tick, trading_day, probs, features)
        return self.serve(probs, features), events

    def serve(self, probs: np.ndarray, features: np.ndarray) -> np.ndarray:
        """The probabilities to serve for this row: the calibrated ones when the calibrator is
        active, else the raw ``probs``."""
        return self._calibrator.predict(probs, features)

    def learn(
        self, tick: np.void, trading_day: date, probs: np.ndarray, features: np.ndarray
    ) -> tuple[tuple[str, dict[str, Any]], ...]:
        """Push the row of ``tick`` (the model's raw ``probs`` and its ``features``) and learn from
        the row that resolves at ``tick``; returns the run events of any mode change."""
        bid, ask = float(tick["bid_price1"]), float(tick["ask_price1"])
        mid = (bid + ask) / 2.0 if bid > 0.0 and ask > 0.0 else math.nan
        i = self._index
        self._index += 1
        if self._first_finite < 0 and np.isfinite(features).all():
            self._first_finite = i
        row = self._buffer.push(i, mid, probs, features, self._segment, trading_day.toordinal())
        if row is None:
            return ()
        if not 0 <= self._first_finite <= row.tick_index:
            self._not_warm += 1
            return ()
        self._learned_from += 1
        self._recent.append((row.probs, row.features, int(row.label)))
        event = self._calibrator.update(row.probs, row.features, row.label)
        return () if event is None else (calibration_event_record(event, self._calibrator.mode),)

    def labelled(self) -> tuple[int, np.ndarray, int] | None:
        """The last row learned from as ``(rows learned so far, the model's raw probs, label)``
        (None before the first): the realised labels of the runtime's concept / prior drift."""
        if not self._recent:
            return None
        probs, _, label = self._recent[-1]
        return self._learned_from, probs, label

    def recalibrate(self) -> tuple[dict[str, Any], tuple[tuple[str, dict[str, Any]], ...]]:
        """Reset the calibrator and refit it from the recent labelled rows (module docstring).

        Returns what was done (rows refitted, mode before and after) and the run events of the
        mode changes the refit made (e.g. ``signals_enabled`` when it re-armed)."""
        before = self._calibrator.mode
        rows = list(self._recent)
        self._calibrator.reset()
        events = []
        for probs, features, label in rows:
            event = self._calibrator.update(probs, features, label)
            if event is not None:
                events.append(calibration_event_record(event, self._calibrator.mode))
        self._refits += 1
        done = {"refit_rows": len(rows), "mode_before": before, "mode_after": self._calibrator.mode,
                "refits": self._refits}  # fmt: skip
        return done, tuple(events)

    def state(self) -> dict[str, Any]:
        """The calibrator's state (enabled, mode, reason, n_updates, rolling log-loss raw vs
        calibrated) and the buffer's counters, JSON-ready."""
        s = self._calibrator.state().as_dict()
        b = self._buffer.stats()
        s.update(
            resets=self._resets, refits=self._refits, rows_learned=self._learned_from, rows_before_warm_factors=self._not_warm,
            buffer={"pushed": b.pushed, "resolved": b.resolved, "pending": b.pending, "cleared": b.cleared,
                    "dropped_nan": b.dropped_nan, "dropped_gap": b.dropped_gap},
        )  # fmt: skip
        return s
