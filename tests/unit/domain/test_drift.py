"""PSI and two-sample KS (pure NumPy) against hand-computed values and SciPy's reference."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ghtrader.domain.drift import DriftError, drift_stats, kolmogorov_sf, ks_2samp, psi


def test_psi_by_hand_on_two_bins() -> None:
    ref = np.array([0.0, 0.0, 1.0, 1.0])  # median edge at 0.5: shares 1/2, 1/2
    new = np.array([0.0, 1.0, 1.0, 1.0])  # shares 1/4, 3/4
    expected = (0.25 - 0.5) * math.log(0.25 / 0.5) + (0.75 - 0.5) * math.log(0.75 / 0.5)
    assert psi(ref, new, bins=2) == pytest.approx(expected, rel=1e-12)


def test_psi_is_zero_for_the_same_sample_and_grows_with_a_shift() -> None:
    rng = np.random.default_rng(1)
    ref = rng.normal(size=50_000)
    assert psi(ref, ref) == pytest.approx(0.0, abs=1e-12)
    small = psi(ref, rng.normal(0.05, 1.0, 50_000))
    big = psi(ref, rng.normal(1.0, 1.0, 50_000))
    assert small < 0.01
    assert big > 0.25
    # values outside the reference range fall in the open outer bins, never lost
    assert np.isfinite(psi(ref, np.full(10, 1e9)))


def test_non_finite_values_are_dropped_and_empty_gives_nan() -> None:
    ref = np.array([1.0, 2.0, np.nan, 3.0, np.inf, 4.0])
    assert psi(ref, ref) == pytest.approx(0.0, abs=1e-12)
    stats = drift_stats(ref, np.array([np.nan, np.nan]))
    assert math.isnan(stats.psi) and math.isnan(stats.ks_statistic) and stats.n_reference == 4 and stats.n_recent == 0
    with pytest.raises(DriftError):
        psi(ref, ref, bins=1)


def test_ks_matches_scipy() -> None:
    from scipy import stats as stats_mod

    rng = np.random.default_rng(7)
    for shift, n, m in ((0.0, 2_000, 3_000), (0.1, 5_000, 4_000), (0.5, 300, 500)):
        a, b = rng.normal(size=n), rng.normal(shift, 1.0, m)
        d, p = ks_2samp(a, b)
        ref = stats_mod.ks_2samp(a, b, method="asymp")
        assert d == pytest.approx(ref.statistic, abs=1e-12)
        assert p == pytest.approx(ref.pvalue, abs=2e-3)  # SciPy's asymptotic form differs slightly


def test_kolmogorov_tail_values() -> None:
    assert kolmogorov_sf(0.0) == 1.0
    assert kolmogorov_sf(1.358) == pytest.approx(0.0500, abs=2e-4)  # the classic 5% critical value
    assert kolmogorov_sf(1.628) == pytest.approx(0.0100, abs=2e-4)  # 1%
    assert 0.0 <= kolmogorov_sf(10.0) < 1e-80
    from scipy import special

    for x in (0.15, 0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 3.0):
        assert kolmogorov_sf(x) == pytest.approx(float(special.kolmogorov(x)), abs=1e-12)


def test_psi_columns_equals_psi_column_by_column() -> None:
    from ghtrader.domain.drift import psi_columns, reference_bins

    rng = np.random.default_rng(3)
    ref = rng.normal(size=(4000, 5))
    ref[:, 2] = np.round(ref[:, 2])  # ties: fewer edges than bins
    ref[:, 3] = 1.0  # constant: one edge
    ref[::9, 1] = np.nan
    ref[:, 4] = np.nan  # no finite reference value
    new = rng.normal(0.4, 1.3, size=(700, 5))
    new[::4, 0] = np.inf
    new[:, 1] = np.nan  # no finite recent value
    edges, shares = reference_bins(ref, 10)
    got = psi_columns(new, edges, shares)
    want = [psi(ref[:, j], new[:, j], 10) for j in range(5)]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert np.isnan(got[1]) and np.isnan(got[4]) and got[0] > 0.1
