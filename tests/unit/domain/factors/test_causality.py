"""Causality: changing anything after tick t never changes a value at or before t."""

from __future__ import annotations

import numpy as np
import pytest

from ghtrader.domain.factors import factor_names
from ghtrader.domain.ticks import MARKET_FIELDS

from ._synth import make_synth, run_batch

NAMES = factor_names()
CUTS = (3000, 7000, 7599, 9500)  # in day 1; first tick of day 2; last tick of segment 0; in segment 1


@pytest.fixture(scope="module")
def perturbed(synth):
    other = make_synth(seed=99)
    rng = np.random.default_rng(5)
    runs = []
    for cut in CUTS:
        s = synth.slice(0)
        tail = slice(cut + 1, None)
        for f in MARKET_FIELDS:
            s.ticks[f][tail] = other.ticks[f][tail]
        s.ticks["datetime_ns"][tail] += rng.integers(0, 200_000_000, len(s) - cut - 1).cumsum()
        s.seg[tail] += 3
        s.day[tail] = s.day[tail] + np.timedelta64(1, "D")
        for k in s.extras:
            s.extras[k][tail] *= 1.0 + rng.normal(0.0, 1e-3, len(s) - cut - 1)
        runs.append(run_batch(s)[0])
    return runs


@pytest.mark.parametrize("name", NAMES)
def test_head_ignores_perturbed_tail(name, batch_all, perturbed):
    mat, names = batch_all
    j = names.index(name)
    for cut, other in zip(CUTS, perturbed, strict=True):
        np.testing.assert_array_equal(other[: cut + 1, j], mat[: cut + 1, j], err_msg=f"cut at {cut}")


def test_perturbation_reaches_the_tail(batch_all, perturbed):
    mat, names = batch_all
    j = names.index("imb_l1")
    for cut, other in zip(CUTS, perturbed, strict=True):
        assert not np.array_equal(other[cut + 1 :, j], mat[cut + 1 :, j], equal_nan=True)
