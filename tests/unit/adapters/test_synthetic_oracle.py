"""SyntheticOracleSource: the synthetic market's oracle as label codes."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from ghtrader.adapters.synthetic.oracle import SyntheticOracleSource
from ghtrader.application.errors import InvalidArgument
from tests.fakes.frames import SYNTHETIC_ANCHOR, synthetic_market

DAY = date(2026, 11, 3)


def test_codes_follow_the_expected_move() -> None:
    market = synthetic_market(seed=7, signal_strength=0.3, tick_interval_ms=5000)
    oracle = SyntheticOracleSource(market)
    move = oracle.expected_move("SHFE.cu2612", DAY, 20)
    codes = oracle.oracle_direction("SHFE.cu2612", DAY, 20, 5.0)
    assert move is not None and codes is not None
    assert move.shape == codes.shape == (market.ticks("SHFE.cu2612", DAY).shape[0],)
    np.testing.assert_array_equal(move, market.oracle("SHFE.cu2612", DAY, 20))
    defined = ~np.isnan(move)
    assert np.isnan(codes[~defined]).all() and (~defined).sum() == 20  # the day's last 20 ticks
    expected = market.oracle_direction("SHFE.cu2612", DAY, 20, 5.0)[defined] + 1.0
    np.testing.assert_array_equal(codes[defined], expected)
    assert set(np.unique(codes[defined])) == {0.0, 1.0, 2.0}
    # the continuous alias means that day's main contract
    np.testing.assert_array_equal(
        oracle.expected_move("KQ.m@SHFE.cu", DAY, 20), market.oracle(market.main_contract("SHFE.cu", DAY), DAY, 20)
    )


def test_unknown_days_and_bad_thresholds() -> None:
    oracle = SyntheticOracleSource(synthetic_market(seed=7, signal_strength=0.3, tick_interval_ms=5000))
    assert oracle.expected_move("SHFE.cu2612", date(2026, 11, 7), 10) is None  # a Saturday
    before = date(2025, 12, 10)  # a Wednesday on which cu2601 trades, before the simulated history
    assert before < SYNTHETIC_ANCHOR
    assert oracle.expected_move("SHFE.cu2601", before, 10) is None
    with pytest.raises(InvalidArgument, match="threshold"):
        oracle.oracle_direction("SHFE.cu2612", DAY, 10, -1.0)


def test_class_probabilities_serve_the_markets_bayes_oracle() -> None:
    market = synthetic_market(seed=7, signal_strength=0.3, tick_interval_ms=5000)
    rows = np.array([0, 5, 17, 400], dtype=np.int64)
    found = SyntheticOracleSource(market).class_probabilities("SHFE.cu2612", DAY, 20, 1.0, rows)
    assert found is not None
    probs, se = found
    want_p, want_se = market.class_probabilities("SHFE.cu2612", DAY, 20, 1.0, rows)
    np.testing.assert_array_equal(probs, want_p)
    np.testing.assert_array_equal(se, want_se)
    seeded = SyntheticOracleSource(market, seed=3).class_probabilities("SHFE.cu2612", DAY, 20, 1.0, rows)
    assert seeded is not None and not np.array_equal(seeded[0], probs)
    oracle = SyntheticOracleSource(market)
    assert oracle.class_probabilities("SHFE.cu2612", date(2026, 11, 7), 20, 1.0, rows) is None  # a Saturday
    assert oracle.class_probabilities("SHFE.cu2601", date(2025, 12, 10), 20, 1.0, rows) is None  # before the anchor
    with pytest.raises(InvalidArgument, match="k_ticks"):
        oracle.class_probabilities("SHFE.cu2612", DAY, 20, -1.0, rows)
