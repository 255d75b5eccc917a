"""Port: a trading run's account snapshots as columns (read-only; what equity curves are drawn from)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class EquityColumns:
    """One value per snapshot, in the order written: market time, equity and balance."""

    time_ns: np.ndarray  # int64
    equity: np.ndarray  # float64
    balance: np.ndarray  # float64


class RunSnapshots(Protocol):
    def equity_columns(self, run_id: str) -> EquityColumns | None:
        """The run's snapshots (empty columns when it has none yet); None when there is no such run."""
        ...
