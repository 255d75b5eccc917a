"""Probabilities to directions: argmax and edge rules, thresholds, NaN rows."""

from __future__ import annotations

import numpy as np
import pytest

from ghtrader.domain.evaluation import (
    EvaluationError,
    SignalRule,
    edge_score,
    positions_from_probs,
)

PROBS = np.array(
    [
        [0.6, 0.3, 0.1],  # DOWN wins, edge -0.5
        [0.2, 0.5, 0.3],  # FLAT wins, edge +0.1
        [0.1, 0.35, 0.55],  # UP wins, edge +0.45
        [0.4, 0.2, 0.4],  # tie DOWN/UP: argmax takes DOWN; edge 0
        [np.nan, 0.5, 0.5],
    ]
)


def test_argmax_rule() -> None:
    assert positions_from_probs(PROBS).tolist() == [-1, 0, 1, -1, 0]
    # the winning class must reach the threshold
    assert positions_from_probs(PROBS, SignalRule("argmax", 0.58)).tolist() == [-1, 0, 0, 0, 0]


def test_edge_rule() -> None:
    assert positions_from_probs(PROBS, SignalRule("edge")).tolist() == [-1, 1, 1, 0, 0]
    assert positions_from_probs(PROBS, SignalRule("edge", 0.2)).tolist() == [-1, 0, 1, 0, 0]
    score = edge_score(PROBS)
    assert score[:4] == pytest.approx([-0.5, 0.1, 0.45, 0.0]) and np.isnan(score[4])


def test_bad_rules() -> None:
    with pytest.raises(EvaluationError):
        SignalRule("vote")  # type: ignore[arg-type]
    with pytest.raises(EvaluationError):
        SignalRule("edge", 1.5)
    with pytest.raises(EvaluationError):
        positions_from_probs(np.zeros((3, 2)))
