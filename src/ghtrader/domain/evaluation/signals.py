"""From class probabilities to a trading direction (+1 long, -1 short, 0 no trade).

Two rules:

- ``"argmax"``: the most probable class: UP -> +1, DOWN -> -1, FLAT -> 0; with ``threshold > 0``
  the winning class must also have probability >= ``threshold`` to trade.
- ``"edge"``: the score ``p_up - p_down``: +1 when ``score > threshold``, -1 when
  ``score < -threshold``, 0 otherwise.

Rows with any NaN probability never trade. Ties in argmax go to the lowest class index (DOWN
before FLAT before UP), as ``numpy.argmax`` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from ghtrader.domain.evaluation._checks import EvaluationError, as_probs, check_finite

__all__ = ["SignalRule", "edge_score", "positions_from_probs"]

SignalMode = Literal["argmax", "edge"]


@dataclass(frozen=True)
class SignalRule:
    """How probabilities become a direction; see the module docstring."""

    mode: SignalMode = "argmax"
    threshold: float = 0.0

    def __post_init__(self) -> None:
        if self.mode not in ("argmax", "edge"):
            raise EvaluationError(f"invalid signal mode {self.mode!r}: expected 'argmax' or 'edge'")
        t = check_finite(self.threshold, "threshold", minimum=0.0)
        if t >= 1.0:
            raise EvaluationError(f"invalid threshold={self.threshold!r}: expected a number in [0, 1)")


def edge_score(probs: np.ndarray) -> np.ndarray:
    """``p_up - p_down`` per row (NaN where a probability is NaN)."""
    p = as_probs(probs)
    return p[:, 2] - p[:, 0]


def positions_from_probs(probs: np.ndarray, rule: SignalRule = SignalRule()) -> np.ndarray:
    """int8 direction per row under ``rule``."""
    p = as_probs(probs)
    ok = ~np.isnan(p).any(axis=1)
    out = np.zeros(p.shape[0], dtype=np.int8)
    if rule.mode == "argmax":
        filled = np.where(ok[:, None], p, 0.0)
        cls = filled.argmax(axis=1)
        top = filled.max(axis=1)
        trade = ok & (top >= rule.threshold)
        out[trade & (cls == 2)] = 1
        out[trade & (cls == 0)] = -1
    else:
        score = np.where(ok, p[:, 2] - p[:, 0], 0.0)
        out[ok & (score > rule.threshold)] = 1
        out[ok & (score < -rule.threshold)] = -1
    return out
