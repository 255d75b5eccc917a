"""The Bayes oracle of the synthetic market: calibration against realized labels, no skill without
signal, determinism, standard errors and undefined rows.

Rows are sampled ``H`` ticks apart so their label windows do not overlap: the residuals
``y - p*`` are then martingale differences (each is known by the next sampled row's state) and
their sums have the binomial-like variance ``sum p (1 - p)`` the checks below use.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from scipy import stats

from ghtrader.domain.errors import DomainError
from ghtrader.domain.evaluation import calibration_bins, expected_calibration_error, log_loss
from ghtrader.domain.labels import direction_labels
from ghtrader.domain.market_sim import SyntheticMarket
from ghtrader.domain.market_sim import _bayes_kernels as bk
from tests.fakes.frames import synthetic_market

DAYS = (date(2026, 11, 3), date(2026, 11, 4), date(2026, 11, 5), date(2026, 11, 6))
TICK = 10.0  # cu price tick


def _default_market() -> SyntheticMarket:
    # the default SyntheticMarketConfig (signal strength 0.1, 500 ms) on the fakes' calendar and anchor
    return synthetic_market(seed=7, signal_strength=0.1, tick_interval_ms=500)


def _sampled(market: SyntheticMarket, horizon: int, days=DAYS, k: float = 1.0, stride: int = 2):
    """Per sampled row (``stride * horizon`` ticks apart): p*, se, realized label and the oracle's move."""
    ps, ses, ys, moves, hs, fs = [], [], [], [], [], []
    for day in days:
        main = market.main_contract("SHFE.cu", day)
        ticks = market.ticks(main, day)
        n = ticks.shape[0]
        labels = direction_labels(ticks["bid_price1"], ticks["ask_price1"], np.zeros(n, np.int64), (horizon,), TICK, k)[
            f"dir_h{horizon}"
        ]
        rows = np.arange(day.toordinal() % horizon, n - horizon, stride * horizon, dtype=np.int64)
        p, se = market.class_probabilities(main, day, horizon, k, rows)
        cd = market._contract_day(market._contract(main), day)
        ps.append(p)
        ses.append(se)
        ys.append(labels[rows])
        moves.append(market.oracle(main, day, horizon)[rows])
        hs.append(cd.latent.h[cd.kidx[rows] + 1])
        fs.append(cd.latent.f[cd.kidx[rows]])
    return tuple(np.concatenate(a) for a in (ps, ses, ys, moves, hs, fs))


def _z(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Per class: sum(1[y = c] - p_c) / sqrt(sum p_c (1 - p_c))."""
    onehot = y[:, None] == np.arange(3)[None, :]
    return (onehot - p).sum(axis=0) / np.sqrt((p * (1.0 - p)).sum(axis=0))


def _binned_chi2(y: np.ndarray, p: np.ndarray, n_bins: int = 8) -> tuple[float, int]:
    """Chi-square of the calibration residuals in quantile bins of each class's p (df = bins used)."""
    chi2, df = 0.0, 0
    for c in range(3):
        edges = np.quantile(p[:, c], np.linspace(0, 1, n_bins + 1))
        idx = np.clip(np.searchsorted(edges, p[:, c], side="right") - 1, 0, n_bins - 1)
        for b in np.unique(idx):
            sel = idx == b
            var = (p[sel, c] * (1.0 - p[sel, c])).sum()
            if var > 5.0:
                chi2 += ((y[sel] == c).sum() - p[sel, c].sum()) ** 2 / var
                df += 1
    return chi2, df


def _ece_bound(y: np.ndarray, p: np.ndarray, n_bins: int = 15) -> float:
    """What the top-class ECE of perfectly calibrated p reaches by sampling alone (mean + 6 sd).

    Per bin ``b`` the gap ``acc_b - conf_b`` is a mean of independent ``1[correct] - p_top`` with
    sd ``s_b = sqrt(sum p_top (1 - p_top)) / n_b``; ``ECE = sum_b w_b |gap_b|`` (``w_b = n_b / n``)
    of half-normals has mean ``sqrt(2/pi) sum w_b s_b`` and variance ``(1 - 2/pi) sum w_b^2 s_b^2``.
    The Monte Carlo error of p* (se <= 0.01, independent of the labels) adds at most its mean.
    """
    top = p.max(axis=1)
    bins = calibration_bins(y, p, n_bins)
    idx = np.clip(np.ceil(top * n_bins).astype(np.int64) - 1, 0, n_bins - 1)
    w = bins.count / y.shape[0]
    s = np.zeros(n_bins)
    for b in range(n_bins):
        if bins.count[b]:
            s[b] = np.sqrt((top[idx == b] * (1 - top[idx == b])).sum()) / bins.count[b]
    mean = np.sqrt(2 / np.pi) * (w * s).sum()
    sd = np.sqrt((1 - 2 / np.pi) * (w**2 * s**2).sum())
    return float(mean + 6 * sd + 0.01 * np.sqrt(2 / np.pi))


@pytest.mark.parametrize("horizon", [10, 50])
def test_bayes_probabilities_are_calibrated_against_realized_labels(horizon: int) -> None:
    market = _default_market()
    p, se, y, move, _, _ = _sampled(market, horizon)
    ok = ~np.isnan(y)
    assert ok.all() and not np.isnan(p).any()  # every sampled row has H ticks left
    y = y.astype(np.int64)
    assert y.shape[0] > 2000
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-9)
    assert se.max() <= 0.01

    z = _z(y, p)
    assert np.all(np.abs(z) < 4.0), z
    chi2, df = _binned_chi2(y, p)
    assert df >= 12 and chi2 < stats.chi2.ppf(1 - 1e-4, df), (chi2, df)
    ece = expected_calibration_error(y, p)
    assert ece < _ece_bound(y, p), (ece, _ece_bound(y, p))

    # a floor below the base rates and below the expected-move rule's one-hot (with label smoothing
    # at 1e-3 so it has a finite log-loss)
    ll = log_loss(y, p)
    base = np.bincount(y, minlength=3) / y.shape[0]
    assert ll < log_loss(y, np.tile(base, (y.shape[0], 1)))
    codes = np.where(move >= TICK, 2, np.where(move <= -TICK, 0, 1))
    onehot = np.full((y.shape[0], 3), 1e-3)
    onehot[np.arange(y.shape[0]), codes] = 1.0 - 2e-3
    assert ll < log_loss(y, onehot)


def test_without_signal_the_oracle_ignores_the_flow_and_matches_frequencies_by_volatility() -> None:
    market = synthetic_market(seed=7, signal_strength=0.0, tick_interval_ms=500)
    p, _, y, _, h, f = _sampled(market, 10, stride=1)
    y = y.astype(np.int64)
    edge = p[:, 2] - p[:, 0]
    n = y.shape[0]
    # no dependence on f: the correlation is within 4 standard errors of zero
    assert abs(np.corrcoef(edge, f)[0, 1]) < 4.0 / np.sqrt(n)
    # within volatility terciles, mean p* equals the realized class frequencies within sampling error
    cuts = np.quantile(h, [1 / 3, 2 / 3])
    tercile = np.searchsorted(cuts, h)
    for t in range(3):
        sel = tercile == t
        assert np.all(np.abs(_z(y[sel], p[sel])) < 4.0)
    # and volatility matters: more FLAT in the calm tercile than in the wild one
    assert p[tercile == 0, 1].mean() > p[tercile == 2, 1].mean()


def test_deterministic_given_the_seed_and_seeds_agree_within_their_errors() -> None:
    market = _default_market()
    day = DAYS[0]
    main = market.main_contract("SHFE.cu", day)
    rows = np.arange(0, 4000, 7, dtype=np.int64)
    p1, se1 = market.class_probabilities(main, day, 20, 1.0, rows)
    p2, se2 = market.class_probabilities(main, day, 20, 1.0, rows)
    np.testing.assert_array_equal(p1, p2)
    np.testing.assert_array_equal(se1, se2)
    # the draws depend on the tick, not on which other ticks are asked for, nor on the order
    sub, _ = market.class_probabilities(main, day, 20, 1.0, rows[::-3].copy())
    np.testing.assert_array_equal(sub, p1[::-3])
    # the continuous alias is the main contract
    alias, _ = market.class_probabilities("KQ.m@SHFE.cu", day, 20, 1.0, rows)
    np.testing.assert_array_equal(alias, p1)

    p3, se3 = market.class_probabilities(main, day, 20, 1.0, rows, seed=1)
    assert not np.array_equal(p1, p3)
    assert max(se1.max(), se3.max()) <= 0.01
    zdiff = (p1 - p3) / np.sqrt(se1**2 + se3**2)
    assert np.abs(zdiff).max() < 5.5  # ~1700 row-classes: P(|N(0,1)| > 5.5) is ~4e-8 each
    assert 0.7 < np.std(zdiff) < 1.3  # the reported SE is the actual Monte Carlo spread


def test_rows_without_h_ticks_left_are_nan_and_bad_input_is_refused() -> None:
    market = _default_market()
    day = DAYS[0]
    main = market.main_contract("SHFE.cu", day)
    n = market.ticks(main, day).shape[0]
    rows = np.arange(n - 15, n, dtype=np.int64)
    p, se = market.class_probabilities(main, day, 10, 1.0, rows)
    assert np.isnan(p[-10:]).all() and np.isnan(se[-10:]).all()
    assert not np.isnan(p[:-10]).any()
    empty_p, empty_se = market.class_probabilities("SHFE.cu2612", date(2026, 11, 7), 10, 1.0, rows)  # Saturday
    assert empty_p.shape == empty_se.shape == (0, 3)
    with pytest.raises(DomainError, match="rows"):
        market.class_probabilities(main, day, 10, 1.0, np.array([n]))
    with pytest.raises(DomainError, match="k_ticks"):
        market.class_probabilities(main, day, 10, 0.0, rows)
    with pytest.raises(DomainError, match="horizon"):
        market.class_probabilities(main, day, 0, 1.0, rows)


def test_probabilities_stay_in_the_simplex_near_certainty() -> None:
    market = _default_market()
    day = DAYS[0]
    main = market.main_contract("SHFE.cu", day)
    rows = np.arange(0, 20_000, 3, dtype=np.int64)
    p, se = market.class_probabilities(main, day, 10, 2.0, rows)  # a 2-tick move in 10 ticks is rare
    assert p.min() >= 0.0 and p.max() <= 1.0
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)
    assert np.median(p[:, 1]) > 0.99 and se.max() <= 0.01


def test_odd_spread_probability_matches_the_book_law() -> None:
    rng = np.random.default_rng(3)
    p_one, extra = 0.4, 2.2
    u0, u1 = rng.random(400_000), rng.random(400_000)
    spread = np.where(u0 < p_one, 1, np.minimum(2 + (-np.log(u1) * extra).astype(np.int64), 20))
    odd = (spread % 2 == 1).mean()
    assert bk.odd_spread_probability(p_one, extra, 20) == pytest.approx(odd, abs=4e-3)
    assert bk.odd_spread_probability(0.3, 0.0, 20) == pytest.approx(0.3)
    # a cap at an odd spread sends the tail there
    capped = np.where(u0 < p_one, 1, np.minimum(2 + (-np.log(u1) * 8.0).astype(np.int64), 5))
    assert bk.odd_spread_probability(p_one, 8.0, 5) == pytest.approx((capped % 2 == 1).mean(), abs=4e-3)
