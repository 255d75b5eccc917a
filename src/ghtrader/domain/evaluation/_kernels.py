"""Numba kernels of the evaluation package: arrays in, arrays out, no state, no I/O."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def on_signal_entries(can_enter: np.ndarray, horizon: int) -> np.ndarray:
    """Row indices of non-overlapping trades taken at the first row that can enter, held
    ``horizon`` rows; the next entry is considered from the exit row on.

    ``can_enter[t]`` must already be False where the exit ``t + horizon`` leaves the run.
    """
    n = can_enter.shape[0]
    out = np.empty(n, dtype=np.int64)
    k = 0
    t = 0
    while t < n:
        if can_enter[t]:
            out[k] = t
            k += 1
            t += horizon
        else:
            t += 1
    return out[:k]
