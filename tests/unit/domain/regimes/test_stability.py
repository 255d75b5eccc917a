"""Adjusted Rand index against scikit-learn's and on known cases."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import adjusted_rand_score

from ghtrader.domain.regimes import RegimeError, adjusted_rand_index


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 4)), min_size=2, max_size=60))
def test_matches_scikit_learn(pairs):
    a, b = np.array(pairs).T
    assert adjusted_rand_index(a, b) == pytest.approx(adjusted_rand_score(a, b), abs=1e-12)


def test_known_values():
    a = np.array([0, 0, 1, 1, 2, 2])
    assert adjusted_rand_index(a, (a + 1) % 3) == 1.0  # renaming does not matter
    assert adjusted_rand_index(np.zeros(5), np.zeros(5)) == 1.0
    rng = np.random.default_rng(0)
    assert abs(adjusted_rand_index(rng.integers(0, 3, 5000), rng.integers(0, 3, 5000))) < 0.01
    with pytest.raises(RegimeError):
        adjusted_rand_index(np.zeros(3), np.zeros(4))
