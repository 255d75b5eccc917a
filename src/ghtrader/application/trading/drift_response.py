"""The drift rungs of a trading run's anomaly monitor: recalibrate, then fall back to a simpler model.

:class:`RuntimeAlerts` (``alerts.py``) grades each check; a drift type (``DRIFT_TYPES``) below
CRITICAL is handed to :meth:`DriftResponse.on_drift`, which answers by how long the drift lasts:

- every drift event: ``recalibrate``: the run's online calibrator (when it has one) is reset and
  refitted at once from its recent labelled rows (:meth:`OnlineCalibration.recalibrate`); the
  ``recalibrate`` run event says how many rows and the mode before and after;
- ``fallback_after`` drift events of one type in a row (no clean window of that type between
  them; 0 = never) and a
  fallback model named by the request: ``fallback``: from the next decision tick on the run
  executes the fallback model's decisions (``model_fallback`` event with the reason; state.json's
  ``drift.fallback``). The fallback model has its own factor engine (advanced on every tick, so
  it is warm when it takes over), a policy fitted on the same days as production's, and no
  online calibrator: it is the simple model to trust while production's inputs have moved.
- The operator's ``resume_model`` command (``ghtrader trade resume-model``) hands the decisions
  back to production (``model_resumed``) and restarts the count.

CRITICAL stays the monitor's own rung: the run halts through the risk engine.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import numpy as np

from ghtrader.application.trading.decision import Decision, DecisionPipeline
from ghtrader.application.trading.online_calibration import OnlineCalibration
from ghtrader.domain.anomaly import AnomalyEvent

__all__ = ["DriftResponse", "FallbackModel"]

Journal = Callable[..., Any]  # RunJournal.event(kind, time_ns, **fields)


class FallbackModel:
    """A registered model that decides once production's drift persists (module docstring)."""

    def __init__(self, pipeline: DecisionPipeline, model: dict[str, Any]) -> None:
        self.pipeline = pipeline
        self.model = {k: model[k] for k in ("model_id", "version", "status") if k in model}
        self.ticks = 0  # decision ticks it decided

    def features(self, tick: np.void, trading_day: date) -> None:
        self.pipeline.features(tick, trading_day)

    def decide(self, tick: np.void, trading_day: date) -> Decision:
        self.ticks += 1
        return self.pipeline.on_tick(tick, trading_day)


class DriftResponse:
    """The recalibrate / fallback rungs of one run (module docstring).

    ``calibration``: a callable giving the production pipeline's online calibration (None: none).
    """

    def __init__(
        self,
        journal: Journal,
        calibration: Callable[[], OnlineCalibration | None] = lambda: None,
        fallback: FallbackModel | None = None,
        fallback_after: int = 3,
    ) -> None:
        if fallback_after < 0:
            raise ValueError(f"fallback_after must be >= 0, got {fallback_after}")
        self._journal = journal
        self._calibration = calibration
        self.fallback = fallback
        self.fallback_after = int(fallback_after)
        self.streak = 0  # the longest run of drift events of one type since its last clean window
        self._streaks: dict[str, int] = {}  # per drift type
        self.active: dict[str, Any] | None = None  # the fallback in force (None: production decides)
        self.recalibrations = 0
        self.fallbacks = 0

    # --- the rungs ---------------------------------------------------------------------------------
    def on_drift(self, event: AnomalyEvent, ns: int) -> str:
        """Answer one drift event below CRITICAL; returns the response (``fallback`` |
        ``recalibrate``) for the ``anomaly`` event."""
        self._streaks[event.anomaly_type] = self._streaks.get(event.anomaly_type, 0) + 1
        self.streak = max(self._streaks.values())
        what = f"{event.anomaly_type} {event.drift_score:.3g} ({event.severity.name})"
        if (
            self.fallback is not None and self.active is None and self.fallback_after > 0
            and self.streak >= self.fallback_after
        ):  # fmt: skip
            self.active = {"reason": f"drift persisted: {self.streak} drift events in a row, last {what}",
                           "at_ns": int(ns), "model": self.fallback.model}  # fmt: skip
            self.fallbacks += 1
            self._journal("model_fallback", ns, **self.active)
            return "fallback"
        calibration = self._calibration()
        if calibration is None:
            self._journal("recalibrate", ns, reason=what, done=False, why="the run has no online calibrator")
        else:
            done, events = calibration.recalibrate()
            self._journal("recalibrate", ns, reason=what, done=True, **done)
            for kind, fields in events:
                self._journal(kind, ns, **fields)
        self.recalibrations += 1
        return "recalibrate"

    def on_clear(self, kind: str = "") -> None:
        """A drift window of ``kind`` judged clean: its run of drift events is over ("": every
        type's)."""
        if kind:
            self._streaks.pop(kind, None)
        else:
            self._streaks.clear()
        self.streak = max(self._streaks.values(), default=0)

    def resume(self, ns: int, reason: str = "") -> bool:
        """The operator hands decisions back to production; False when no fallback was in force."""
        self.streak = 0
        self._streaks.clear()
        if self.active is None:
            return False
        self._journal("model_resumed", ns, reason=reason or "operator resume_model", model=self.active["model"],
                      fallback_since_ns=self.active["at_ns"])  # fmt: skip
        self.active = None
        return True

    # --- the loop's hooks --------------------------------------------------------------------------
    def warm(self, tick: np.void, trading_day: date) -> None:
        """A warm-up tick: the fallback's factor engine only."""
        if self.fallback is not None:
            self.fallback.features(tick, trading_day)

    def route(self, decision: Decision, tick: np.void, trading_day: date) -> Decision:
        """The decision the run executes: the fallback's while a fallback is in force, else
        ``decision`` (the fallback's factor engine still sees the tick)."""
        if self.fallback is None:
            return decision
        if self.active is None:
            self.fallback.features(tick, trading_day)
            return decision
        return self.fallback.decide(tick, trading_day)

    def on_roll(self) -> None:
        if self.fallback is not None:
            self.fallback.pipeline.reset()

    def state(self) -> dict[str, Any]:
        """state.json's ``drift`` block."""
        return {
            "streak": self.streak, "fallback_after": self.fallback_after, "recalibrations": self.recalibrations,
            "fallback_model": None if self.fallback is None else self.fallback.model,
            "fallback": self.active, "fallbacks": self.fallbacks,
            "deciding": "production" if self.active is None else "fallback",
            "fallback_ticks": 0 if self.fallback is None else self.fallback.ticks,
        }  # fmt: skip
