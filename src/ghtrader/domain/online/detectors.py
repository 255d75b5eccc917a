"""Streaming drift detectors: ADWIN, DDM and Page-Hinkley behind one interface.

Every detector consumes one float per :meth:`~DriftDetector.update` and answers whether a
drift is detected *now*. After a detection it restarts on its own (ADWIN by dropping the old
part of its window, DDM and Page-Hinkley by resetting their statistics), so it can fire again.
Non-finite inputs are ignored (not counted, never fire). Nothing here reads a clock: the
sample count is the only time.

- :class:`Adwin` (adaptive windowing, Bifet & Gavalda 2007, the bucket variant): keeps the
  recent window ``W`` in an exponential histogram (at most ``max_buckets`` buckets of each size
  ``2^i``, each bucket holding its sum and its sum of squared deviations), so memory and the
  cut check are ``O(max_buckets * log |W|)``. Every ``clock`` updates it tests each bucket
  boundary splitting ``W`` into an older part ``W0`` (``n0`` rows, mean ``mu0``) and a newer
  part ``W1`` (``n1``, ``mu1``), both at least ``min_sub_window`` rows, and drops the oldest
  bucket while some split has ``|mu0 - mu1| > eps_cut`` with
  ``m = 1 / (1/n0 + 1/n1)``, ``d' = delta / |W|`` and
  ``eps_cut = sqrt(2 / m * var_W * ln(2 / d')) + 2 / (3 m) * ln(2 / d')``
  (``var_W`` the window's variance). Any drop is a detection.
- :class:`Ddm` (drift detection method, Gama et al. 2004) on a 0/1 error stream (values in
  [0, 1]): ``p_i`` the running error rate after ``i`` rows, ``s_i = sqrt(p_i (1 - p_i) / i)``.
  From ``min_samples`` rows on it records ``(p_min, s_min)`` at the smallest ``p_i + s_i``
  seen (only once ``s_i > 0``, so an error-free start does not pin the minimum at zero).
  Warning when ``p_i + s_i >= p_min + warning_level * s_min`` (default 2), drift when
  ``p_i + s_i >= p_min + drift_level * s_min`` (default 3); a drift resets the statistics.
- :class:`PageHinkley`: running mean ``xbar_T``, cumulative deviation
  ``m_T = alpha * m_{T-1} + (x_T - xbar_T - delta)`` and ``M_T = min_{t <= T} m_t``; drift
  when ``m_T - M_T > threshold`` (the lambda of the test) after ``min_samples`` rows. That
  detects an increase of the mean; ``direction="down"`` mirrors it
  (``m_T = alpha * m_{T-1} + (xbar_T - x_T - delta)``) and ``"both"`` runs the two.
  ``alpha`` < 1 fades old deviations (1 is the classic test).

Costs per update: DDM and Page-Hinkley ``O(1)``; ADWIN ``O(log |W|)`` amortised (bucket
merges, plus the cut check every ``clock`` updates).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections import deque

from ghtrader.domain.online.errors import OnlineError

__all__ = ["Adwin", "Ddm", "DriftDetector", "PageHinkley"]


def _positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value > 0):
        raise OnlineError(f"invalid {name}={value!r}: expected a finite number > 0")
    return float(value)


def _count(name: str, value: int, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise OnlineError(f"invalid {name}={value!r}: expected an int >= {minimum}")
    return value


class DriftDetector(ABC):
    """One float in per update; ``True`` when a drift is detected at this update."""

    #: Short name used in reasons and logs (``"adwin"``, ``"ddm"``, ``"page_hinkley"``).
    name: str = "detector"

    def __init__(self) -> None:
        self._detected = False
        self._n_detections = 0

    @abstractmethod
    def _update(self, x: float) -> bool:
        """Consume one finite value; ``True`` on a drift (the subclass restarts itself)."""

    @abstractmethod
    def _reset_state(self) -> None:
        """Forget every statistic."""

    @property
    @abstractmethod
    def n(self) -> int:
        """Rows the detector currently summarises (since its last reset or drift; ADWIN: |W|)."""

    def update(self, x: float) -> bool:
        """Feed one value; ``True`` when a drift is detected now. Non-finite values are ignored."""
        x = float(x)
        if not math.isfinite(x):
            self._detected = False
            return False
        self._detected = self._update(x)
        if self._detected:
            self._n_detections += 1
        return self._detected

    def reset(self) -> None:
        """Forget everything, detection count included."""
        self._reset_state()
        self._detected = False
        self._n_detections = 0

    @property
    def detected(self) -> bool:
        """Whether the latest update detected a drift."""
        return self._detected

    @property
    def n_detections(self) -> int:
        """Drifts detected since construction or the last :meth:`reset`."""
        return self._n_detections


class Adwin(DriftDetector):
    """ADWIN change detector over an exponential histogram of buckets (module docstring).

    Args:
        delta: confidence of the cut test (smaller: fewer false alarms, slower detection).
        max_buckets: buckets kept per size before two merge (``M`` of the paper).
        clock: run the cut check every ``clock`` updates.
        min_window: no check before the window holds this many rows.
        min_sub_window: each side of a split needs at least this many rows.
    """

    name = "adwin"

    def __init__(
        self, delta: float = 0.002, max_buckets: int = 5, clock: int = 32, min_window: int = 32, min_sub_window: int = 8
    ) -> None:
        super().__init__()
        self.delta = _positive("delta", delta)
        if self.delta >= 1:
            raise OnlineError(f"invalid delta={delta!r}: expected a number in (0, 1)")
        self.max_buckets = _count("max_buckets", max_buckets, 2)
        self.clock = _count("clock", clock)
        self.min_window = _count("min_window", min_window, 2)
        self.min_sub_window = _count("min_sub_window", min_sub_window)
        self._reset_state()

    def _reset_state(self) -> None:
        # _levels[i]: buckets of 2**i rows, oldest first, each [sum, sum of squared deviations]
        self._levels: list[deque[list[float]]] = []
        self._last_shift = 0.0
        self._width = 0
        self._total = 0.0
        self._m2 = 0.0
        self._tick = 0

    @property
    def n(self) -> int:
        return self._width

    @property
    def last_shift(self) -> float:
        """``mu1 - mu0`` of the latest cut (newer minus older mean; 0 before any): its sign says
        whether the stream moved up or down."""
        return self._last_shift

    @property
    def mean(self) -> float:
        """Mean of the current window (NaN when empty)."""
        return self._total / self._width if self._width else math.nan

    @property
    def variance(self) -> float:
        """Population variance of the current window (NaN when empty)."""
        return max(self._m2 / self._width, 0.0) if self._width else math.nan

    def _update(self, x: float) -> bool:
        if self._width:
            mean = self._total / self._width
            self._m2 += self._width / (self._width + 1.0) * (x - mean) ** 2
        self._width += 1
        self._total += x
        if not self._levels:
            self._levels.append(deque())
        self._levels[0].append([x, 0.0])
        self._compress()
        self._tick += 1
        if self._tick % self.clock or self._width < self.min_window:
            return False
        return self._cut()

    def _compress(self) -> None:
        level = 0
        while level < len(self._levels) and len(self._levels[level]) > self.max_buckets:
            size = float(2**level)
            b1 = self._levels[level].popleft()  # the two oldest of this size
            b2 = self._levels[level].popleft()
            diff = b1[0] / size - b2[0] / size
            merged = [b1[0] + b2[0], b1[1] + b2[1] + size / 2.0 * diff * diff]
            if level + 1 == len(self._levels):
                self._levels.append(deque())
            self._levels[level + 1].append(merged)
            level += 1

    def _drop_oldest(self) -> None:
        top = len(self._levels) - 1
        bucket = self._levels[top].popleft()
        size = float(2**top)
        rest = self._width - size
        if rest <= 0:
            self._reset_state()
            return
        rest_mean = (self._total - bucket[0]) / rest
        diff = bucket[0] / size - rest_mean
        self._m2 = max(self._m2 - bucket[1] - size * rest / self._width * diff * diff, 0.0)
        self._total -= bucket[0]
        self._width = int(rest)
        while self._levels and not self._levels[-1]:
            self._levels.pop()

    def _cut(self) -> bool:
        dropped = False
        while self._width >= self.min_window and self._split_differs():
            self._drop_oldest()
            dropped = True
        return dropped

    def _split_differs(self) -> bool:
        width = float(self._width)
        var_w = max(self._m2 / width, 0.0)
        log_term = math.log(2.0 * width / self.delta)
        n0 = 0.0
        s0 = 0.0
        for level in range(len(self._levels) - 1, -1, -1):
            size = float(2**level)
            for bucket in self._levels[level]:
                n0 += size
                s0 += bucket[0]
                n1 = width - n0
                if n1 < self.min_sub_window:
                    return False
                if n0 < self.min_sub_window:
                    continue
                m = 1.0 / (1.0 / n0 + 1.0 / n1)
                eps = math.sqrt(2.0 / m * var_w * log_term) + 2.0 / (3.0 * m) * log_term
                shift = (self._total - s0) / n1 - s0 / n0
                if abs(shift) > eps:
                    self._last_shift = shift
                    return True
        return False


class Ddm(DriftDetector):
    """Drift detection method on an error stream of values in [0, 1] (module docstring).

    Args:
        min_samples: rows before the minimum is recorded and any alarm can sound.
        warning_level: ``k`` of the warning zone ``p + s >= p_min + k s_min``.
        drift_level: ``k`` of the drift alarm (must exceed ``warning_level``).
    """

    name = "ddm"

    def __init__(self, min_samples: int = 100, warning_level: float = 2.0, drift_level: float = 3.0) -> None:
        super().__init__()
        self.min_samples = _count("min_samples", min_samples)
        self.warning_level = _positive("warning_level", warning_level)
        self.drift_level = _positive("drift_level", drift_level)
        if self.drift_level <= self.warning_level:
            raise OnlineError(f"invalid drift_level={drift_level!r}: expected > warning_level={warning_level!r}")
        self._reset_state()

    def _reset_state(self) -> None:
        self._n = 0
        self._p = 0.0
        self._p_min = math.inf
        self._s_min = math.inf
        self._warning = False

    @property
    def n(self) -> int:
        return self._n

    @property
    def warning(self) -> bool:
        """Whether the latest update was in the warning zone (or detected a drift)."""
        return self._warning

    @property
    def error_rate(self) -> float:
        """Running error rate ``p`` since the last reset (NaN before the first row)."""
        return self._p if self._n else math.nan

    def _update(self, x: float) -> bool:
        if not 0.0 <= x <= 1.0:
            raise OnlineError(f"invalid DDM input {x!r}: expected an error indicator in [0, 1]")
        self._n += 1
        self._p += (x - self._p) / self._n
        s = math.sqrt(self._p * (1.0 - self._p) / self._n)
        self._warning = False
        if self._n < self.min_samples:
            return False
        if s > 0.0 and self._p + s < self._p_min + self._s_min:
            self._p_min, self._s_min = self._p, s
        if not math.isfinite(self._s_min):
            return False
        level = self._p + s
        if level >= self._p_min + self.drift_level * self._s_min:
            self._reset_state()
            self._warning = True
            return True
        self._warning = level >= self._p_min + self.warning_level * self._s_min
        return False


class PageHinkley(DriftDetector):
    """Page-Hinkley test for a change of the mean (module docstring).

    Args:
        delta: magnitude of change tolerated per row (in the units of ``x``).
        threshold: the test's lambda: alarm when the cumulative deviation exceeds it.
        alpha: fading factor of the cumulative deviation in (0, 1]; 1 is the classic test.
        min_samples: rows before any alarm.
        direction: ``"up"`` (mean increases), ``"down"`` or ``"both"``.
    """

    name = "page_hinkley"

    def __init__(
        self,
        delta: float = 0.005,
        threshold: float = 50.0,
        alpha: float = 1.0,
        min_samples: int = 30,
        direction: str = "up",
    ) -> None:
        super().__init__()
        if isinstance(delta, bool) or not isinstance(delta, (int, float)) or not (math.isfinite(delta) and delta >= 0):
            raise OnlineError(f"invalid delta={delta!r}: expected a finite number >= 0")
        self.delta = float(delta)
        self.threshold = _positive("threshold", threshold)
        self.alpha = _positive("alpha", alpha)
        if self.alpha > 1:
            raise OnlineError(f"invalid alpha={alpha!r}: expected a number in (0, 1]")
        self.min_samples = _count("min_samples", min_samples)
        if direction not in ("up", "down", "both"):
            raise OnlineError(f"invalid direction={direction!r}: expected 'up', 'down' or 'both'")
        self.direction = direction
        self._up = direction in ("up", "both")
        self._down = direction in ("down", "both")
        self._reset_state()

    def _reset_state(self) -> None:
        self._n = 0
        self._mean = 0.0
        self._m_up = 0.0
        self._min_up = 0.0
        self._m_down = 0.0
        self._min_down = 0.0

    @property
    def n(self) -> int:
        return self._n

    @property
    def statistic(self) -> float:
        """Current ``m_T - M_T`` (the larger of both directions for ``"both"``)."""
        return max(self._m_up - self._min_up if self._up else 0.0, self._m_down - self._min_down if self._down else 0.0)

    def _update(self, x: float) -> bool:
        self._n += 1
        self._mean += (x - self._mean) / self._n
        if self._up:
            self._m_up = self.alpha * self._m_up + (x - self._mean - self.delta)
            self._min_up = min(self._min_up, self._m_up)
        if self._down:
            self._m_down = self.alpha * self._m_down + (self._mean - x - self.delta)
            self._min_down = min(self._min_down, self._m_down)
        if self._n < self.min_samples:
            return False
        if self.statistic > self.threshold:
            self._reset_state()
            return True
        return False
