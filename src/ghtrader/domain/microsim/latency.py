"""Latency models: a constant, or draws from an empirical sample (seeded, so runs repeat)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Latency"]


@dataclass(frozen=True)
class Latency:
    """A latency in nanoseconds: ``constant_ns``, or uniform draws from ``samples_ns`` when given.

    Empirical draws pick one recorded latency per event with equal probability (a bootstrap of
    measured round trips); the simulator's seed makes them repeatable.
    """

    constant_ns: int = 0
    samples_ns: np.ndarray | None = field(default=None)

    def __post_init__(self) -> None:
        if self.constant_ns < 0:
            raise ValueError(f"latency must be >= 0 ns, got {self.constant_ns}")
        if self.samples_ns is not None:
            s = np.asarray(self.samples_ns, dtype=np.int64)
            if s.ndim != 1 or s.size == 0 or (s < 0).any():
                raise ValueError("latency samples must be a non-empty 1-D array of ns >= 0")
            object.__setattr__(self, "samples_ns", s)

    def table(self) -> np.ndarray:
        """The draw table a kernel samples from: the samples, or the constant alone."""
        if self.samples_ns is None:
            return np.array([self.constant_ns], dtype=np.int64)
        return self.samples_ns

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` latencies (int64 ns)."""
        t = self.table()
        if t.size == 1:
            return np.full(n, t[0], dtype=np.int64)
        return t[rng.integers(0, t.size, size=n)]
