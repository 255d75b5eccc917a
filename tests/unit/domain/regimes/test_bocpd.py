"""BOCPD: against an untruncated reference, online/batch parity, detection of a mean shift."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import t as student_t

from ghtrader.domain.regimes import Bocpd, BocpdConfig, bocpd, segments_from_run_length


def _reference(x: np.ndarray, cfg: BocpdConfig) -> tuple[np.ndarray, np.ndarray]:
    """Adams-MacKay in probability space, no truncation, scipy's Student-t."""
    h = 1.0 / cfg.expected_run
    r = np.array([1.0])
    mu, kappa = np.array([cfg.mu0]), np.array([cfg.kappa0])
    alpha, beta = np.array([cfg.alpha0]), np.array([cfg.beta0])
    runs, short = [], []
    for v in x:
        pred = student_t.pdf(v, 2 * alpha, loc=mu, scale=np.sqrt(beta * (kappa + 1) / (alpha * kappa)))
        growth = r * pred * (1 - h)
        cp = (r * pred * h).sum()
        r = np.concatenate([[cp], growth])
        r /= r.sum()
        mu_new = (kappa * mu + v) / (kappa + 1)
        beta_new = beta + kappa * (v - mu) ** 2 / (2 * (kappa + 1))
        mu = np.concatenate([[cfg.mu0], mu_new])
        beta = np.concatenate([[cfg.beta0], beta_new])
        kappa = np.concatenate([[cfg.kappa0], kappa + 1])
        alpha = np.concatenate([[cfg.alpha0], alpha + 0.5])
        runs.append(int(np.argmax(r)))
        short.append(r[: cfg.short_run + 1].sum())
    return np.array(runs), np.array(short)


def _shifted(n1: int = 150, n2: int = 150, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.normal(0.0, 1.0, n1), rng.normal(4.0, 1.0, n2)])


def test_matches_untruncated_reference_when_max_run_exceeds_length():
    x = _shifted(60, 60)
    cfg = BocpdConfig(expected_run=50.0, max_run=500, short_run=5)
    runs, short = bocpd(x, cfg)
    ref_runs, ref_short = _reference(x, cfg)
    np.testing.assert_array_equal(runs, ref_runs)
    np.testing.assert_allclose(short, ref_short, atol=1e-9)


def test_online_equals_batch_and_truncation_keeps_a_distribution():
    x = _shifted(400, 400, seed=3)
    x[[10, 500]] = np.nan
    cfg = BocpdConfig(expected_run=200.0, max_run=64)
    runs, short = bocpd(x, cfg)
    det = Bocpd(cfg)
    online = [det.update(v) for v in x]
    np.testing.assert_array_equal(runs, [o[0] for o in online])
    np.testing.assert_allclose(short, [o[1] for o in online], rtol=0, atol=1e-12)
    assert abs(det.run_length_posterior().sum() - 1.0) < 1e-9
    assert runs.max() <= cfg.max_run


def test_detects_a_mean_shift_near_where_it_happens():
    x = _shifted(300, 300, seed=5)
    runs, _ = bocpd(x, BocpdConfig(expected_run=250.0))
    drops = np.flatnonzero(runs[1:] < runs[:-1]) + 1
    assert drops.size >= 1
    assert np.any(np.abs(drops - 300) <= 5)
    seg = segments_from_run_length(runs)
    assert seg[0] == 0 and seg[-1] == (runs[1:] < runs[:-1]).sum()


@settings(max_examples=20, deadline=None)
@given(cut=st.integers(1, 99), seed=st.integers(0, 10_000))
def test_future_values_never_change_past_outputs(cut, seed):
    x = _shifted(50, 50, seed=1)
    y = x.copy()
    y[cut:] = np.random.default_rng(seed).normal(0, 10, size=100 - cut)
    a = bocpd(x, BocpdConfig(max_run=30))
    b = bocpd(y, BocpdConfig(max_run=30))
    np.testing.assert_array_equal(a[0][:cut], b[0][:cut])
    np.testing.assert_array_equal(a[1][:cut], b[1][:cut])
