"""Batch == online for every registered factor, and every factor yields values on realistic ticks."""

from __future__ import annotations

import numpy as np
import pytest

from ghtrader.domain.factors import (
    OnlineFactorEngine,
    compute_factors,
    factor_names,
    get_factor,
)
from ghtrader.domain.ticks import TICK_FIELDS

from ._synth import run_batch

NAMES = factor_names()


@pytest.mark.parametrize("name", NAMES)
def test_batch_equals_online(name, batch_all, online_all):
    mat, names = batch_all
    j = names.index(name)
    np.testing.assert_array_equal(online_all[:, j], mat[:, j])  # bit for bit, NaN positions included


@pytest.mark.parametrize("name", NAMES)
def test_factor_has_values_and_no_infinities(name, batch_all):
    mat, names = batch_all
    col = mat[:, names.index(name)]
    assert not np.isinf(col).any()
    assert np.isfinite(col).sum() >= 100, "the synthetic batch should exercise every factor"
    if get_factor(name).param("mode") != "previous":  # the previous day's value is constant all day
        assert np.unique(col[np.isfinite(col)]).size >= 2


@pytest.mark.parametrize("name", NAMES)
def test_single_factor_run_equals_full_run(name, synth, batch_all):
    mat, names = batch_all
    one, cols = run_batch(synth, [name])
    assert cols == (name,)
    np.testing.assert_array_equal(one[:, 0], mat[:, names.index(name)])


def test_dict_api_matches_matrix(synth, batch_all):
    mat, names = batch_all
    d = compute_factors(synth.ticks, synth.day, synth.seg, extras=synth.extras, price_tick=synth.price_tick)
    assert list(d) == list(names)
    np.testing.assert_array_equal(d["ret_10"], mat[:, names.index("ret_10")])


def test_update_many_in_chunks_equals_batch(synth, batch_all):
    mat, _ = batch_all
    eng = OnlineFactorEngine(price_tick=synth.price_tick)
    parts = []
    for a, b in ((0, 1), (1, 3000), (3000, 7600), (7600, len(synth))):
        s = synth.slice(a, b)
        parts.append(eng.update_many(s.ticks, s.day, s.seg, s.extras))
    np.testing.assert_array_equal(np.vstack(parts), mat)


def test_online_accepts_mappings_and_one_row_arrays(synth, batch_all):
    mat, names = batch_all
    eng_a = OnlineFactorEngine(["ret_1", "imb_l1", "tib_10"], price_tick=synth.price_tick)
    eng_b = OnlineFactorEngine(["ret_1", "imb_l1", "tib_10"], price_tick=synth.price_tick)
    cols = [names.index(n) for n in eng_a.names]
    for i in range(200):
        row = synth.ticks[i]
        a = eng_a.update({f: row[f] for f in TICK_FIELDS}, synth.day[i], 0)
        b = eng_b.update(synth.ticks[i : i + 1], str(synth.day[i]), 0)
        np.testing.assert_array_equal(a, mat[i, cols])
        np.testing.assert_array_equal(b, mat[i, cols])


def test_online_update_is_fast(synth):
    import time

    eng = OnlineFactorEngine(price_tick=synth.price_tick)
    keys = list(synth.extras)
    lat = []
    for i in range(2000):
        ex = {k: float(synth.extras[k][i]) for k in keys}
        t0 = time.perf_counter()
        eng.update(synth.ticks[i], synth.day[i], 0, ex)
        lat.append(time.perf_counter() - t0)
    # target is well under 1 ms at p99 for the full set; allow a loaded CI machine
    assert np.percentile(lat, 50) < 1e-3
