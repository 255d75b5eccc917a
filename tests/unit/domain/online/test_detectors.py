"""Drift detectors: detection delay after a mean shift, false alarms on stationary streams."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ghtrader.domain.online import Adwin, Ddm, DriftDetector, OnlineError, PageHinkley

SEEDS = range(10)
SHIFT_AT = 3000


def _first_alarm(det: DriftDetector, xs: np.ndarray, start: int = 0) -> int | None:
    for i, x in enumerate(xs):
        if det.update(float(x)) and i >= start:
            return i
    return None


def _alarms(det: DriftDetector, xs: np.ndarray) -> int:
    return sum(det.update(float(x)) for x in xs)


def _gaussian_shift(seed: int, shift: float, n_after: int = 3000) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.normal(0.0, 1.0, SHIFT_AT), rng.normal(shift, 1.0, n_after)])


def _errors_shift(seed: int, p0: float, p1: float, n_after: int = 3000) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.random(SHIFT_AT) < p0, rng.random(n_after) < p1]).astype(np.float64)


@pytest.mark.parametrize(
    ("make", "max_delay"),
    [
        (lambda: Adwin(delta=0.002), 200),
        (lambda: PageHinkley(delta=0.1, threshold=50.0), 200),
    ],
    ids=["adwin", "page_hinkley"],
)
def test_mean_shift_is_found_within_a_bounded_delay(make, max_delay: int) -> None:
    delays = []
    for seed in SEEDS:
        det = make()
        xs = _gaussian_shift(seed, 1.0)
        assert _alarms(det, xs[:SHIFT_AT]) == 0  # nothing before the shift on these seeds
        first = _first_alarm(det, xs[SHIFT_AT:])
        assert first is not None, f"seed {seed}: no detection"
        delays.append(first)
    assert max(delays) <= max_delay, delays


def test_ddm_finds_an_error_rate_jump() -> None:
    early = 0
    for seed in SEEDS:
        det = Ddm()
        xs = _errors_shift(seed, 0.1, 0.6)
        # a low error rate is DDM's weak spot: a lucky streak pins p_min + s_min low, so it may
        # sound early now and then (10 alarms in these 30,000 rows with min_samples=30, 3 with 100)
        early += _alarms(det, xs[:SHIFT_AT])
        first = _first_alarm(det, xs[SHIFT_AT:])
        assert first is not None and first <= 300, (seed, first)
    assert early <= 3


def test_adwin_finds_an_error_rate_jump() -> None:
    for seed in SEEDS:
        first = _first_alarm(Adwin(), _errors_shift(seed, 0.1, 0.6), start=SHIFT_AT)
        assert first is not None and first - SHIFT_AT <= 300, (seed, first)


@pytest.mark.parametrize(
    ("make", "kind", "max_alarms"),
    [
        (lambda: Adwin(delta=0.002), "gauss", 1),
        (lambda: PageHinkley(delta=0.1, threshold=50.0, direction="both"), "gauss", 1),
        (lambda: Ddm(), "errors", 2),
        (lambda: Adwin(delta=0.002), "errors", 1),
    ],
    ids=["adwin", "page_hinkley", "ddm", "adwin_errors"],
)
def test_stationary_streams_raise_few_false_alarms(make, kind: str, max_alarms: int) -> None:
    total = 0
    for seed in SEEDS:
        rng = np.random.default_rng(100 + seed)
        xs = rng.normal(0.0, 1.0, 20_000) if kind == "gauss" else (rng.random(20_000) < 0.3).astype(np.float64)
        total += _alarms(make(), xs)
    assert total <= max_alarms  # over 200,000 stationary rows


def test_page_hinkley_direction() -> None:
    down = np.concatenate([np.zeros(500), -np.ones(500)])
    assert _first_alarm(PageHinkley(delta=0.01, threshold=20.0, direction="up"), down) is None
    hit = _first_alarm(PageHinkley(delta=0.01, threshold=20.0, direction="down"), down)
    assert hit is not None and 500 <= hit <= 560
    hit = _first_alarm(PageHinkley(delta=0.01, threshold=20.0, direction="both"), down)
    assert hit is not None and 500 <= hit <= 560


def test_adwin_window_shrinks_after_a_drift_and_tracks_the_new_mean() -> None:
    det = Adwin()
    xs = _gaussian_shift(0, 3.0, n_after=2000)
    for x in xs:
        det.update(float(x))
    assert det.n_detections >= 1
    assert det.n < 2000 + 200  # the pre-shift rows were dropped
    assert abs(det.mean - 3.0) < 0.15
    assert abs(det.variance - 1.0) < 0.2


def test_adwin_statistics_match_the_window_it_keeps() -> None:
    rng = np.random.default_rng(7)
    xs = rng.normal(5.0, 2.0, 5000)
    det = Adwin()
    for x in xs:
        det.update(float(x))
    window = xs[-det.n :]
    assert det.n == 5000  # no drift: the whole stream is the window
    assert math.isclose(det.mean, float(window.mean()), rel_tol=1e-9)
    assert math.isclose(det.variance, float(window.var()), rel_tol=1e-6)


def test_common_interface_reset_and_non_finite_inputs() -> None:
    for det in (Adwin(), Ddm(), PageHinkley()):
        assert isinstance(det, DriftDetector)
        for _ in range(40):
            det.update(0.0)
        assert det.n == 40
        assert det.update(math.nan) is False and det.update(math.inf) is False
        assert det.n == 40  # ignored
        det.reset()
        assert det.n == 0 and det.n_detections == 0 and det.detected is False


def test_detected_reflects_the_latest_update_and_detectors_restart() -> None:
    det = PageHinkley(delta=0.0, threshold=5.0, min_samples=1)
    fired = [det.update(x) for x in [0.0] * 10 + [10.0]]
    assert fired[-1] and det.detected and det.n == 0 and det.n_detections == 1
    assert det.update(0.0) is False and det.detected is False


def test_ddm_warning_zone_precedes_drift() -> None:
    det = Ddm()
    xs = _errors_shift(3, 0.1, 0.5)
    warned_before = False
    for x in xs:
        if det.update(float(x)):
            break
        warned_before |= det.warning
    assert det.n_detections == 1 and warned_before


def test_invalid_parameters_and_inputs() -> None:
    with pytest.raises(OnlineError):
        Adwin(delta=1.5)
    with pytest.raises(OnlineError):
        Adwin(max_buckets=1)
    with pytest.raises(OnlineError):
        Ddm(warning_level=3.0, drift_level=2.0)
    with pytest.raises(OnlineError):
        PageHinkley(alpha=1.5)
    with pytest.raises(OnlineError):
        PageHinkley(direction="sideways")
    with pytest.raises(OnlineError):
        Ddm().update(2.0)
