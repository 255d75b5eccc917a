"""Per-stage latency of the trading loop's decision path, tick by tick.

A :class:`StageTimer` takes ``time.perf_counter_ns`` laps: ``begin()`` when a tick enters the
runner, ``lap(stage)`` after each stage (the time since the previous lap goes to ``stage``;
several laps of one stage in a tick add up), ``add(stage, ns)`` for a piece measured inside the
current lap (it is moved out of that lap into ``stage``), and ``end()`` once the decision is made
and ``end()`` once its orders are out; ``decided()`` marks the decision (the target) in between:
``tick_to_decision`` = ``decided - begin``, ``tick_to_orders`` = ``end - begin``; ``after(stage)``
times work done once the orders are out (the online calibrator's learning, a shadow model). A tick that never
reaches ``end`` (warm-up, a roll's drain) is not recorded. A stage that no tick laps (the calibrator until one is wired, risk and
executor in paper mode) is left out of the summary.

Storage is one preallocated ring of int64 (``capacity`` ticks x stages, an ``array.array``):
the per-tick path only writes integers into it. Percentiles and maxima cover the last
``capacity`` recorded ticks; ``ticks`` counts them all.
"""

from __future__ import annotations

import math
from array import array
from time import perf_counter_ns
from typing import Any

import numpy as np

__all__ = [
    "AFTER_STAGES",
    "CALIBRATOR",
    "CANARY",
    "CANARY_LEARN",
    "EXECUTOR",
    "FEATURES",
    "FEED",
    "INFERENCE",
    "LEARN",
    "POLICY",
    "RISK",
    "SHADOW",
    "SIDE_STAGES",
    "STAGES",
    "TICK_TO_DECISION",
    "TICK_TO_ORDERS",
    "VENUE",
    "StageTimer",
    "nearest_rank",
]

#: Stage names in path order; the constants below are their indices.
STAGES = (
    "feed",  # the runner's intake: de-duplication, trading day, roll / drain checks
    "venue",  # the execution venue's events of the tick (sim: the simulated exchange steps)
    "risk",  # the risk engine: the account check of every tick and each order's pre-trade check
    "features",  # the online factor engine
    "inference",  # the model's ONNX graph through the Predictor
    "calibrator",  # the online calibrator (only when one is wired and laps it)
    "policy",  # the cost-aware policy, the hold and the flat window
    "canary",  # a canary run: the candidate's decision and the split's routing (on the decision path)
    "executor",  # orders that reach the target (paper: the virtual book)
    "learn",  # after the orders: the online calibrator learns from the row resolved at the tick
    "canary_learn",  # after the orders: the candidate's calibrator, the arms' books, the fallback check
    "shadow",  # after the orders: the shadow model's decision, its virtual book and the agreement
    "tick_to_decision",  # begin() to decided(): the tick's target is known
    "tick_to_orders",  # begin() to end(): its orders (paper: the virtual book's move) are out
)
(
    FEED, VENUE, RISK, FEATURES, INFERENCE, CALIBRATOR, POLICY, CANARY, EXECUTOR, LEARN, CANARY_LEARN, SHADOW,
    TICK_TO_DECISION, TICK_TO_ORDERS,
) = range(len(STAGES))  # fmt: skip
#: Stages timed only when a run has a canary or a shadow model.
SIDE_STAGES = frozenset({"canary", "canary_learn", "shadow"})
#: Stages timed after the orders are out (in neither total).
AFTER_STAGES = frozenset({"learn", "canary_learn", "shadow"})
DEFAULT_CAPACITY = 32_768


def _rank(n: int, q: float) -> int:
    """0-based position of the ``q``-th nearest-rank percentile among ``n`` sorted values."""
    return min(max(1, math.ceil(q / 100.0 * n)), n) - 1


def nearest_rank(values: np.ndarray, qs: tuple[float, ...]) -> list[float]:
    """The ``qs``-th percentiles (0 < q <= 100) of ``values`` (non-empty) by nearest rank: the
    smallest value with at least q % of the values at or below it (a partition, no full sort)."""
    n = int(values.shape[0])
    ks = [_rank(n, q) for q in qs]
    part = np.partition(values, sorted(set(ks)))
    return [float(part[k]) for k in ks]


class StageTimer:
    """Lap timer of the decision path (see the module docstring)."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.capacity = int(capacity)
        self._width = len(STAGES)
        self._ring = array("q", [-1]) * (self.capacity * self._width)  # -1: stage not lapped that tick
        self._blank = array("q", [-1]) * self._width
        self._cur = array("q", self._blank)  # the tick in progress, copied into the ring at end()
        self._start = 0
        self._mark = 0
        self._nested = 0
        self.ticks = 0  # ticks recorded (end() calls)

    def begin(self) -> None:
        """A tick enters the runner."""
        self._cur[:] = self._blank
        self._nested = 0
        self._start = self._mark = perf_counter_ns()

    @staticmethod
    def now() -> int:
        """The timer's clock (ns): measure a piece for :meth:`add` with it."""
        return perf_counter_ns()

    def lap(self, stage: int) -> None:
        """The time since the last lap (less what ``add`` moved out of it) goes to ``stage``."""
        now = perf_counter_ns()
        cur = self._cur
        v = cur[stage]
        cur[stage] = (v if v > 0 else 0) + now - self._mark - self._nested
        self._mark = now
        self._nested = 0

    def add(self, stage: int, ns: int) -> None:
        """``ns`` measured inside the current lap goes to ``stage`` instead of the lap's stage."""
        cur = self._cur
        v = cur[stage]
        cur[stage] = (v if v > 0 else 0) + ns
        self._nested += ns

    def decided(self) -> None:
        """The tick's decision (its target) is known."""
        self._cur[TICK_TO_DECISION] = perf_counter_ns() - self._start

    def end(self) -> None:
        """The tick's orders are out: record the tick."""
        self._mark = now = perf_counter_ns()
        self._cur[TICK_TO_ORDERS] = now - self._start
        b = (self.ticks % self.capacity) * self._width
        self._ring[b : b + self._width] = self._cur
        self.ticks += 1

    def after(self, stage: int) -> None:
        """Work done after ``end()`` (off the decision path, in neither total): the time since
        ``end()`` (or the previous ``after``) goes to ``stage`` of the tick just recorded."""
        if self.ticks:
            b = ((self.ticks - 1) % self.capacity) * self._width
            now = perf_counter_ns()
            self._ring[b + stage] = now - self._mark
            self._mark = now

    def samples(self, stage: int) -> np.ndarray:
        """The recorded nanoseconds of ``stage`` over the ring (ticks that lapped it; a copy)."""
        n = min(self.ticks, self.capacity)
        rows = np.frombuffer(self._ring, dtype=np.int64).reshape(self.capacity, self._width)[:n, stage]
        return rows[rows >= 0]  # boolean indexing copies: a later tick cannot change it

    def summary(self) -> dict[str, Any]:
        """``{"ticks", "window", "stages": {name: {"n", "p50_us", "p99_us", "max_us"}}}`` for every
        stage with samples, in :data:`STAGES` order (the two totals last)."""
        stages: dict[str, dict[str, float | int]] = {}
        for i, name in enumerate(STAGES):
            v = self.samples(i)
            if v.shape[0] == 0:
                continue
            p50, p99, top = nearest_rank(v, (50.0, 99.0, 100.0))
            stages[name] = {
                "n": int(v.shape[0]),
                "p50_us": round(p50 / 1e3, 2),
                "p99_us": round(p99 / 1e3, 2),
                "max_us": round(top / 1e3, 2),
            }
        return {"ticks": self.ticks, "window": min(self.ticks, self.capacity), "stages": stages}
