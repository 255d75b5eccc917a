"""The column-oriented driver: values do not depend on how ticks are cut into calls or blocks,
the batch matrix is column-major, and the branch-free logarithms are accurate."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit

from ghtrader.domain.factors import OnlineFactorEngine, compute_factor_matrix
from ghtrader.domain.factors import _kernels as K

# windows shorter and longer than a block, every kind with a ring, and the recursive ones
NAMES = (
    "ret_1",
    "acc_50",
    "rv_50",
    "har_rv_1000",
    "har_rv_5000",
    "tib_10",
    "vwap_dev_500",
    "vol_surprise_50_1000",
    "efficiency_100",
    "kyle_50",
    "xlead_au_500",
    "spread_resil_100",
    "range_pos_500",
    "vpin_10",
    "vol_regime_500",
    "impact_10_50",
    "quote_age",
    "har_rv_prevday",
    "tod_vol_ratio_50",
    "ema_gap_50_500",
    "ofi_int_50",
    "slope_imb",
    "arrival_rate_50",
)


def _chunks(n: int, sizes: tuple[int, ...]) -> list[tuple[int, int]]:
    out, a, k = [], 0, 0
    while a < n:
        b = min(n, a + sizes[k % len(sizes)])
        out.append((a, b))
        a, k = b, k + 1
    return out


@pytest.mark.parametrize(
    "sizes",
    [(1, K.BLOCK - 1, K.BLOCK, K.BLOCK + 1), (2 * K.BLOCK + 3, 7), (3 * K.BLOCK - 1, 1, 1, 1)],
    ids=["around-one-block", "two-blocks-and-a-bit", "long-then-single-ticks"],
)
def test_values_do_not_depend_on_call_boundaries(sizes, synth):
    want, names = compute_factor_matrix(
        synth.ticks, synth.day, synth.seg, names=NAMES, extras=synth.extras, price_tick=synth.price_tick
    )
    eng = OnlineFactorEngine(NAMES, price_tick=synth.price_tick)
    parts = []
    for a, b in _chunks(len(synth), sizes):
        s = synth.slice(a, b)
        parts.append(eng.update_many(s.ticks, s.day, s.seg, s.extras))
    got = np.vstack(parts)
    assert names == NAMES
    covered = np.isfinite(want).sum(axis=0)
    assert (covered > 0).all(), "every factor of the selection produces values on the synthetic batch"
    np.testing.assert_array_equal(got, want)


def test_batch_matrix_is_column_major(synth):
    mat, names = compute_factor_matrix(
        synth.ticks[:700], synth.day[:700], names=["ret_1", "imb_l1", "rv_50"], price_tick=synth.price_tick
    )
    assert mat.shape == (700, 3) and mat.flags.f_contiguous
    assert all(mat[:, j].flags.c_contiguous for j in range(len(names)))


@njit(error_model="numpy")
def _ln_all(x, out, plus_one):
    for i in range(x.shape[0]):
        out[i] = K._ln1p(x[i]) if plus_one else K._ln(x[i])


def _ulps(got: np.ndarray, want: np.ndarray) -> float:
    fin = np.isfinite(want)
    np.testing.assert_array_equal(got[~fin], want[~fin])  # NaN, +-inf exactly where NumPy has them
    return float(np.max(np.abs(got[fin] - want[fin]) / np.spacing(np.abs(want[fin]))))


def test_branch_free_logs_are_within_two_ulps():
    rng = np.random.default_rng(3)
    specials = [
        0.0,
        -0.0,
        -1.0,
        np.inf,
        -np.inf,
        np.nan,
        5e-324,
        1e-310,
        2.2250738585072014e-308,
        1.0,
        2.0,
        np.nextafter(1.0, 2.0),
        np.nextafter(1.0, 0.0),
        1.7976931348623157e308,
    ]
    x = np.concatenate(
        [
            rng.uniform(0.0, 2.0, 20000),
            np.exp(rng.uniform(-700.0, 700.0, 20000)),
            rng.uniform(1e3, 1e6, 20000),
            specials,
        ]
    )
    got = np.empty_like(x)
    _ln_all(x, got, False)
    with np.errstate(divide="ignore", invalid="ignore"):
        assert _ulps(got, np.log(x)) <= 1.0
    y = np.concatenate(
        [
            rng.uniform(-0.999, 1.0, 20000),
            10.0 ** rng.uniform(-30.0, 12.0, 20000),
            np.arange(0.0, 2000.0),
            [np.inf, -1.0, -2.0, np.nan, 0.0, -0.0, 1e-300],
        ]
    )
    got = np.empty_like(y)
    _ln_all(y, got, True)
    with np.errstate(divide="ignore", invalid="ignore"):
        assert _ulps(got, np.log1p(y)) <= 2.0
