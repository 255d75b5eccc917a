"""Arithmetic of each queue model on hand-made depth sequences."""

from __future__ import annotations

import math

import pytest

from ghtrader.domain.microsim import advance_queue, queue_model_code
from ghtrader.domain.microsim.codes import QUEUE_PROB_LOG, QUEUE_PROB_POWER, QUEUE_RISK_AVERSE

RA, PW, LG = QUEUE_RISK_AVERSE, QUEUE_PROB_POWER, QUEUE_PROB_LOG


def test_risk_averse_only_trades_advance_and_drops_cap() -> None:
    # 5 ahead of 10 shown; 2 trade and 6 remain shown: 5 - 2 = 3 <= 6 -> 3
    assert advance_queue(RA, 1.0, 5.0, 10.0, 6.0, 2.0) == 3.0
    # shown falls to 2 (cancels): capped at 2
    assert advance_queue(RA, 1.0, 5.0, 10.0, 2.0, 2.0) == 2.0
    # shown grows (joins behind us): unchanged
    assert advance_queue(RA, 1.0, 5.0, 10.0, 30.0, 0.0) == 5.0
    # 7 trade through 5 ahead: -2 -> two lots trade past the front
    assert advance_queue(RA, 1.0, 5.0, 10.0, 3.0, 7.0) == -2.0
    # price beyond the visible levels (NaN): trades still count, no cap
    assert advance_queue(RA, 1.0, 5.0, math.nan, math.nan, 1.0) == 4.0


def test_power_model_splits_unexplained_decrease() -> None:
    # front = 5 - 2 = 3, back = (10 - 2) - 3 = 5, decrease = 8 - 6 = 2
    # n=1: p = 5 / (5 + 3) = 0.625 of the 2 from behind, 0.75 from ahead -> 3 - 0.75 = 2.25
    assert advance_queue(PW, 1.0, 5.0, 10.0, 6.0, 2.0) == pytest.approx(2.25)
    # n=2: p = 25 / (25 + 9) from behind -> 3 - 2 * 9 / 34
    assert advance_queue(PW, 2.0, 5.0, 10.0, 6.0, 2.0) == pytest.approx(3.0 - 18.0 / 34.0)
    # 5 ahead of 5 shown, 2 cancelled: back = 0 -> f(0) = 0 -> p = 0, both lots were ahead: 3
    assert advance_queue(PW, 1.0, 5.0, 5.0, 3.0, 0.0) == 3.0
    # n=0.5, front 9, back 1, decrease 6 (10 -> 4 shown): p = 1 / (1 + 3) -> 1.5 from behind, but
    # only 1 is there: 4.5 + 0.5 = 5 from ahead -> 4 (= everything still shown)
    assert advance_queue(PW, 0.5, 9.0, 10.0, 4.0, 0.0) == pytest.approx(4.0)
    # front 6, back 2, decrease 3: p = 2 / 8 -> 0.75 from behind, 2.25 from ahead -> 3.75
    assert advance_queue(PW, 1.0, 6.0, 8.0, 5.0, 0.0) == pytest.approx(3.75)


def test_log_model_splits_unexplained_decrease() -> None:
    # p = log(1 + 5) / (log(1 + 5) + log(1 + 3)) = 1.7917595 / 3.1780538 = 0.5637914 from behind
    p = math.log(6.0) / (math.log(6.0) + math.log(4.0))
    assert p == pytest.approx(0.5637914, abs=1e-7)
    assert advance_queue(LG, 0.0, 5.0, 10.0, 6.0, 2.0) == pytest.approx(3.0 - 2.0 * (1.0 - p))


def test_depth_sequence_under_each_model() -> None:
    # displayed at P: 10 -> 8 (2 traded) -> 5 (3 cancelled) -> 5 (1 traded, 1 joined) -> 2 (2 traded, 1 cancelled)
    steps = [(10.0, 8.0, 2.0), (8.0, 5.0, 0.0), (5.0, 5.0, 1.0), (5.0, 2.0, 2.0)]
    # risk-averse from 6 ahead: 6-2=4 (cap 8) -> 4 (cap 5) -> 3 -> 1 (cap 2)
    a = 6.0
    got = []
    for prev, new, traded in steps:
        a = advance_queue(RA, 1.0, a, prev, new, traded)
        got.append(a)
    assert got == [4.0, 4.0, 3.0, 1.0]
    # power n=1 from 6 ahead:
    # s1: front 4, back 4, decrease (10-2)-8 = 0 -> 4
    # s2: front 4, back 4, decrease 3 -> 4 - 3 * 0.5 = 2.5
    # s3: front 1.5, back 5-1-1.5 = 2.5, decrease (5-1)-5 < 0 -> 1.5
    # s4: front -0.5 -> queue exhausted: -0.5 (half a lot past the front, no whole lot yet)
    a = 6.0
    got = []
    for prev, new, traded in steps:
        a = advance_queue(PW, 1.0, a, prev, new, traded)
        got.append(a)
    assert got == pytest.approx([4.0, 2.5, 1.5, -0.5])


def test_model_names() -> None:
    assert [queue_model_code(n) for n in ("risk_averse", "prob_power", "prob_log")] == [RA, PW, LG]
    with pytest.raises(ValueError, match="unknown queue model"):
        queue_model_code("coin_flip")
