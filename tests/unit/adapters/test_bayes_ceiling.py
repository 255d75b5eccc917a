"""No model in the test suite beats the Bayes oracle beyond sampling error: the logistic family,
fitted on synthetic days, scores a test day's log-loss no lower than the oracle's p* (minus 3 SE).
"""

from __future__ import annotations

import numpy as np

from ghtrader.adapters.linear import LogisticFamily
from ghtrader.application.ports.models import TrainConfig
from ghtrader.domain.evaluation import log_loss
from tests.fakes.frames import synthetic_frame, synthetic_market

HORIZON = 10


def test_logistic_does_not_beat_the_bayes_log_loss() -> None:
    frame = synthetic_frame(days=6, horizon=HORIZON, seed=7, signal_strength=0.3)
    days = np.unique(frame.trading_day)
    assert days.shape[0] == 6
    idx = np.arange(len(frame))
    train = frame.take(idx[frame.trading_day < days[4]])
    valid = frame.take(idx[frame.trading_day == days[4]])
    model = LogisticFamily().fit(train, valid, TrainConfig(horizon=HORIZON, params={"l2_path": [0.1, 0.01]}))

    # test day: rows H apart (non-overlapping label windows), p* from the generator
    test_rows = idx[frame.trading_day == days[5]]
    pos = np.arange(0, test_rows.shape[0] - HORIZON, HORIZON, dtype=np.int64)
    rows = test_rows[pos]
    market = synthetic_market(seed=7, signal_strength=0.3, tick_interval_ms=2000)
    p_star, se = market.class_probabilities("SHFE.cu2612", days[5].astype(object), HORIZON, 1.0, pos)
    y = frame.labels[rows]
    ok = ~np.isnan(y) & ~np.isnan(p_star[:, 0])
    y = y[ok].astype(np.int64)
    p_star = p_star[ok]
    p_model = model.predict_proba(frame.take(rows))[ok]
    assert y.shape[0] > 1000 and se.max() <= 0.01

    per_row_model = -np.log(np.clip(p_model[np.arange(y.shape[0]), y], 1e-15, 1.0))
    per_row_bayes = -np.log(np.clip(p_star[np.arange(y.shape[0]), y], 1e-15, 1.0))
    gap = per_row_model - per_row_bayes
    se_gap = gap.std(ddof=1) / np.sqrt(gap.shape[0])
    assert np.isclose(log_loss(y, p_star), per_row_bayes.mean())
    assert gap.mean() >= -3.0 * se_gap, (gap.mean(), se_gap)
    # and the comparison is not vacuous: the model learnt something beyond the base rates
    base = np.bincount(y, minlength=3) / y.shape[0]
    assert log_loss(y, p_model) < log_loss(y, np.tile(base, (y.shape[0], 1)))
