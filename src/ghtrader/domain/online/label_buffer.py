"""Delayed event-time labels for online learning: rows wait until their horizon has elapsed.

Each tick the runner pushes ``(tick_index, mid, probabilities, features)`` with the tick's
segment (main-contract segment, changes on a roll) and trading day. The row pushed at tick
``t`` resolves when tick ``t + H`` arrives, with exactly the training label rule
(:func:`ghtrader.domain.labels.move_label`, the per-row rule of
:func:`~ghtrader.domain.labels.direction_labels`): ``dmid = mid[t + H] - mid[t]``, UP (2) when
``dmid >= k`` price ticks, DOWN (0) when ``dmid <= -k`` ticks, else FLAT (1). ``mid`` is
:func:`~ghtrader.domain.labels.mid_price` of the tick (NaN for an empty side).

- Memory is bounded: ``H`` slots, ring-indexed by ``tick_index % H``; the slot a new row takes
  is the one of tick ``t - H``, which resolves (or is found stale) right before.
- Tick indexes must increase. When they skip (a gap in the feed), rows whose ``t + H`` was
  skipped cannot be labelled like the batch rule (it counts rows): they are dropped when their
  slot is reused (counted in :attr:`BufferStats.dropped_gap`; until then they count as pending).
- A segment change (roll) clears every pending row: no label spans a roll, as in the batch
  rule. A trading-day change clears them too by default (``clear_on_new_day``); the batch rule
  does not cut there, so with that option the buffer's labels equal the batch labels computed
  with ``segment_id`` = (segment, trading day).
- Rows whose ``mid`` at ``t`` or ``t + H`` is NaN resolve to no label and are dropped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ghtrader.domain.labels import LabelConfig, move_label
from ghtrader.domain.online.errors import OnlineError

__all__ = ["BufferStats", "DelayedLabelBuffer", "ResolvedRow"]


@dataclass(frozen=True, slots=True)
class ResolvedRow:
    """A row ready to learn from: what was known at ``tick_index`` and what happened after."""

    tick_index: int
    features: np.ndarray  # (n_features,) float64, the vector pushed at tick_index (a copy)
    probs: np.ndarray  # (n_classes,) float64, the model probabilities pushed at tick_index (a copy)
    label: int  # 0 DOWN, 1 FLAT, 2 UP
    dmid: float  # mid[tick_index + H] - mid[tick_index]


@dataclass(frozen=True, slots=True)
class BufferStats:
    """Counters of a :class:`DelayedLabelBuffer` since construction."""

    pushed: int
    resolved: int
    dropped_gap: int  # t + H was skipped by the tick index
    dropped_nan: int  # mid NaN at t or t + H
    cleared: int  # pending rows cleared by a roll, a new trading day or reset()
    pending: int


class DelayedLabelBuffer:
    """Pending rows of the last ``horizon`` ticks, resolved with the training label rule.

    Args:
        horizon: ``H``, the label horizon in ticks (rows).
        price_tick: the contract's price tick.
        k: direction threshold in price ticks (:attr:`LabelConfig.k`).
        n_features: length of the feature vector pushed each tick.
        n_classes: length of the probability vector (3: DOWN, FLAT, UP).
        clear_on_new_day: a trading-day change clears pending rows (module docstring).
    """

    def __init__(
        self,
        horizon: int,
        price_tick: float,
        k: float,
        n_features: int,
        n_classes: int = 3,
        clear_on_new_day: bool = True,
    ) -> None:
        if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 1:
            raise OnlineError(f"invalid horizon={horizon!r}: expected an int >= 1")
        for name, value in (("price_tick", price_tick), ("k", k)):
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not (math.isfinite(value) and value > 0)
            ):
                raise OnlineError(f"invalid {name}={value!r}: expected a finite number > 0")
        for name, count in (("n_features", n_features), ("n_classes", n_classes)):
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise OnlineError(f"invalid {name}={count!r}: expected an int >= 0")
        self.horizon = horizon
        self.price_tick = float(price_tick)
        self.k = float(k)
        self.n_features = n_features
        self.n_classes = n_classes
        self.clear_on_new_day = bool(clear_on_new_day)
        self._tick = np.full(horizon, -1, dtype=np.int64)  # tick index held by each slot; -1 empty
        self._mid = np.full(horizon, np.nan)
        self._probs = np.zeros((horizon, n_classes))
        self._features = np.zeros((horizon, n_features))
        self._last_index: int | None = None
        self._segment: int | None = None
        self._day: int | None = None
        self._pending = 0
        self._pushed = self._resolved = self._dropped_gap = self._dropped_nan = self._cleared = 0

    @classmethod
    def from_label_config(
        cls, config: LabelConfig, horizon: int, price_tick: float, n_features: int, clear_on_new_day: bool = True
    ) -> DelayedLabelBuffer:
        """A buffer with the training configuration's ``k``; ``horizon`` must be one of its
        direction horizons."""
        if horizon not in config.direction_horizons:
            raise OnlineError(f"invalid horizon={horizon!r}: expected one of {config.direction_horizons}")
        return cls(horizon, price_tick, config.k, n_features, clear_on_new_day=clear_on_new_day)

    @property
    def pending(self) -> int:
        """Rows waiting for their label."""
        return self._pending

    def stats(self) -> BufferStats:
        """Counters since construction."""
        return BufferStats(
            self._pushed, self._resolved, self._dropped_gap, self._dropped_nan, self._cleared, self._pending
        )

    def clear(self) -> None:
        """Drop every pending row (the next push starts fresh; counters are kept)."""
        self._cleared += self._pending
        self._pending = 0
        self._tick.fill(-1)
        self._last_index = None

    def push(
        self,
        tick_index: int,
        mid: float,
        probs: np.ndarray,
        features: np.ndarray,
        segment_id: int = 0,
        trading_day: int = 0,
    ) -> ResolvedRow | None:
        """Add the row of tick ``tick_index``; return the row of tick ``tick_index - H`` if it
        resolves now (at most one per push), else ``None``.

        ``segment_id`` and ``trading_day`` are int codes (e.g. a date's ordinal); a change of
        either (the day only with ``clear_on_new_day``) clears pending rows first.
        """
        if self._segment != segment_id or (self.clear_on_new_day and self._day != trading_day):
            if self._pending:
                self.clear()
            self._segment, self._day = segment_id, trading_day
            self._last_index = None
        if self._last_index is not None and tick_index <= self._last_index:
            raise OnlineError(f"invalid tick_index={tick_index}: expected > {self._last_index} (time order)")
        p = np.asarray(probs, dtype=np.float64)
        f = np.asarray(features, dtype=np.float64)
        if p.shape != (self.n_classes,) or f.shape != (self.n_features,):
            raise OnlineError(
                f"invalid row shapes probs {p.shape}, features {f.shape}: "
                f"expected ({self.n_classes},) and ({self.n_features},)"
            )
        self._last_index = tick_index
        self._pushed += 1
        slot = tick_index % self.horizon
        out: ResolvedRow | None = None
        held = int(self._tick[slot])
        if held >= 0:
            self._pending -= 1
            if held != tick_index - self.horizon:
                self._dropped_gap += 1
            else:
                d = float(mid) - float(self._mid[slot])
                label = move_label(d, self.price_tick, self.k)
                if math.isnan(label):
                    self._dropped_nan += 1
                else:
                    self._resolved += 1
                    out = ResolvedRow(held, self._features[slot].copy(), self._probs[slot].copy(), int(label), d)
        self._tick[slot] = tick_index
        self._mid[slot] = float(mid)
        self._probs[slot] = p
        self._features[slot] = f
        self._pending += 1
        return out
