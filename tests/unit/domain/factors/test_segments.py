"""Segment resets, warm-up and lookback: no window spans a segment; values after a reset equal a
fresh run; a non-recursive factor depends on exactly its last ``lookback`` ticks."""

from __future__ import annotations

import numpy as np
import pytest

from ghtrader.domain.factors import (
    OnlineFactorEngine,
    compute_factor_matrix,
    factor_names,
    get_factor,
)

from ._synth import MULTIPLIER, SEG_SPLIT, run_batch

NAMES = factor_names()
WINDOWED = [n for n in NAMES if not get_factor(n).recursive]


@pytest.fixture(scope="module")
def fresh_after_split(synth):
    return run_batch(synth.slice(SEG_SPLIT))[0]


@pytest.mark.parametrize("name", NAMES)
def test_values_after_segment_change_equal_a_fresh_run(name, batch_all, fresh_after_split):
    mat, names = batch_all
    j = names.index(name)
    np.testing.assert_array_equal(mat[SEG_SPLIT:, j], fresh_after_split[:, j])


@pytest.mark.parametrize("name", NAMES)
def test_warm_up_after_reset_is_the_lookback(name, batch_all):
    mat, names = batch_all
    col = mat[:, names.index(name)]
    lb = get_factor(name).lookback
    assert np.isnan(col[: lb - 1]).all()
    assert np.isnan(col[SEG_SPLIT : SEG_SPLIT + lb - 1]).all()


def test_a_segment_id_change_alone_resets(synth):
    s = synth.slice(0, 3000)
    seg = np.zeros(len(s), dtype=np.int64)
    seg[1200:] = 1
    a, _ = compute_factor_matrix(s.ticks, s.day, seg, extras=s.extras, price_tick=s.price_tick)
    b, _ = compute_factor_matrix(
        s.ticks[1200:], s.day[1200:], None, extras={k: v[1200:] for k, v in s.extras.items()}, price_tick=s.price_tick
    )
    np.testing.assert_array_equal(a[1200:], b)


def test_online_reset_starts_over(synth, batch_all):
    mat, names = batch_all
    eng = OnlineFactorEngine(["ret_10", "rv_50", "vpin_10"], price_tick=synth.price_tick)
    eng.update_many(synth.ticks[:500], synth.day[:500])
    eng.reset()
    got = eng.update_many(synth.ticks[:1000], synth.day[:1000])
    np.testing.assert_array_equal(got, mat[:1000, [names.index(n) for n in eng.names]])


@pytest.fixture(scope="module")
def lookback_runs(synth):
    """For sample ticks t: the full run and a run started at t - lookback + 1 (multiplier given,
    so no state is carried from before the window)."""
    full, names = compute_factor_matrix(
        synth.ticks, synth.day, synth.seg, extras=synth.extras, price_tick=synth.price_tick, multiplier=MULTIPLIER
    )
    return full, names


@pytest.mark.parametrize("name", WINDOWED)
def test_value_depends_only_on_the_lookback(name, synth, lookback_runs):
    full, names = lookback_runs
    j = names.index(name)
    lb = get_factor(name).lookback
    checked = 0
    for t in (5200, 6999, 7005, 7599, 9000 + lb, 13999):
        start = t - lb + 1
        if t >= len(synth) or start < 0 or synth.seg[start] != synth.seg[t]:
            continue
        s = synth.slice(start, t + 1)
        got, _ = compute_factor_matrix(
            s.ticks, s.day, s.seg, names=[name], extras=s.extras, price_tick=s.price_tick, multiplier=MULTIPLIER
        )
        want = full[t, j]
        if np.isnan(want):
            assert np.isnan(got[-1, 0]), f"t={t}"
        else:
            np.testing.assert_allclose(got[-1, 0], want, rtol=1e-7, atol=1e-9, err_msg=f"t={t}")
        if lb > 1:  # one tick less of history is not enough: the value is not defined yet
            s2 = synth.slice(start + 1, t + 1)
            short, _ = compute_factor_matrix(
                s2.ticks,
                s2.day,
                s2.seg,
                names=[name],
                extras=s2.extras,
                price_tick=s2.price_tick,
                multiplier=MULTIPLIER,
            )
            assert np.isnan(short[-1, 0])
        checked += 1
    assert checked >= 3
