"""Shadow mode: a candidate model decides beside production on the same ticks, never executes.

The runner calls :meth:`ShadowRunner.on_tick` once a decision tick's orders are out (the
``shadow`` latency stage, off the decision path), with production's direction target (before
sizing; 0 while the operator disabled signals). The shadow holds no executor and no reference to
one: its decisions go only into

- the agreement: decision ticks where its target equals production's, over all decision ticks;
- a virtual book per model (:class:`ArmBook`: one lot in the model's direction at mid), so both
  models' PnL over the same ticks is in ``state.json``'s ``shadow`` block;
- a ``shadow_decision`` event each time the pair (production, shadow) changes to one where they
  differ (a disagreement starts or changes), with both targets and probabilities.

A roll closes both books at the old contract's last mid and resets the shadow's online state, as
production's.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import numpy as np

from ghtrader.application.trading.arm_book import ArmBook
from ghtrader.application.trading.decision import Decision, DecisionPipeline

__all__ = ["ShadowRunner"]

Events = tuple[tuple[str, dict[str, Any]], ...]


def _mid(tick: np.void) -> float:
    bid, ask = float(tick["bid_price1"]), float(tick["ask_price1"])
    return (bid + ask) / 2.0 if bid > 0.0 and ask > 0.0 else math.nan


class ShadowRunner:
    """One shadow model of a run (see the module docstring)."""

    def __init__(self, pipeline: DecisionPipeline, multiplier: float, *, model: dict[str, Any]) -> None:
        self.pipeline = pipeline
        self.model = {k: model[k] for k in ("model_id", "version", "status") if k in model}
        self.production = ArmBook(multiplier)
        self.shadow = ArmBook(multiplier)
        self.ticks = 0  # decision ticks seen
        self.agreed = 0  # of them, where both targets were equal
        self.disagreements = 0  # shadow_decision events (a disagreement started or changed)
        self.target = 0  # the shadow's last target
        self._pair = (0, 0)

    def warm(self, tick: np.void, trading_day: date) -> None:
        """A warm-up tick (before the run's start): the factor engine only."""
        self.pipeline.features(tick, trading_day)

    def on_tick(self, tick: np.void, trading_day: date, symbol: str, production: int, decision: Decision) -> Events:
        """The shadow's decision at ``tick``; ``production``: production's direction target there,
        ``decision``: production's decision (its probabilities go into a ``shadow_decision``)."""
        d = self.pipeline.on_tick(tick, trading_day)
        if self.pipeline.calibration is not None:
            self.pipeline.learn()  # its mode changes are in the shadow block's state, not the run's events
        mid = _mid(tick)
        self.production.follow(symbol, production, mid)
        self.shadow.follow(symbol, d.target, mid)
        self.ticks += 1
        self.target = d.target
        if d.target == production:
            self.agreed += 1
        pair = (production, d.target)
        changed, self._pair = pair != self._pair, pair
        if not changed or d.target == production:
            return ()
        self.disagreements += 1
        fields = {
            "symbol": symbol, "production_target": production, "shadow_target": d.target,
            "shadow_signal": d.signal, "flat": d.flat,
            "production_probs": [float(p) for p in decision.probs], "shadow_probs": [float(p) for p in d.probs],
            "agreement": round(self.agreement, 6),
        }  # fmt: skip
        if d.member_probs is not None:  # the shadow is an ensemble: its members' view of this tick
            fields["shadow_ensemble"] = d.ensemble_fields()
        return (("shadow_decision", fields),)

    @property
    def agreement(self) -> float:
        """Share of decision ticks where the shadow's target equalled production's (NaN before any)."""
        return self.agreed / self.ticks if self.ticks else math.nan

    def on_roll(self, mid: float) -> None:
        """Close both books at the old contract's last ``mid`` and forget the online state."""
        self.production.flatten(mid)
        self.shadow.flatten(mid)
        self.pipeline.reset()
        self._pair = (0, 0)
        self.target = 0

    def state(self) -> dict[str, Any]:
        """``state.json``'s ``shadow`` block."""
        calibration = self.pipeline.calibration
        return {
            "model": self.model, "ticks": self.ticks, "agreed": self.agreed,
            "agreement": None if not self.ticks else round(self.agreement, 6),
            "disagreements": self.disagreements, "target": self.target,
            "virtual_pnl": {"production": self.production.state(), "shadow": self.shadow.state()},
            **({} if calibration is None else {"online_calibration": calibration.state()}),
        }  # fmt: skip
