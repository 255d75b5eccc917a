"""Volatility regimes (train-fitted terciles of rolling realised vol) and day/night sessions."""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np
import pytest

from ghtrader.domain.calendar import (
    SESSION_DAY,
    SESSION_NIGHT,
    SESSION_NONE,
    TradingCalendar,
    beijing_datetime_to_ns,
)
from ghtrader.domain.evaluation import (
    SESSION_NAMES,
    VOL_REGIME_NAMES,
    CostModel,
    EvaluationError,
    evaluate_positions,
    fit_vol_regimes,
    group_masks,
    rolling_realised_vol,
    session_codes,
)
from ghtrader.domain.evaluation.regimes import VOL_HIGH, VOL_LOW, VOL_UNKNOWN
from ghtrader.domain.instruments import contract_spec

DAY = np.datetime64("2024-03-05", "D")


def _loop_vol(mid: list[float], run: list[int], window: int, min_periods: int) -> list[float]:
    out = []
    for t in range(len(mid)):
        rets = []
        for i in range(max(1, t - window + 1), t + 1):
            if run[i] == run[i - 1] == run[t] and mid[i] > 0 and mid[i - 1] > 0:
                rets.append(math.log(mid[i] / mid[i - 1]))
        out.append(math.sqrt(sum(r * r for r in rets) / len(rets)) if len(rets) >= min_periods else math.nan)
    return out


def test_rolling_vol_matches_a_loop_and_restarts_per_run() -> None:
    mid = [100.0, 101.0, 100.0, 102.0, float("nan"), 103.0, 104.0, 100.0, 99.0, 99.0]
    seg = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1])
    day = np.full(10, DAY)
    day[9] = DAY + 1
    run = [int(s) * 10 + int((d - DAY).astype(int)) for s, d in zip(seg, day, strict=True)]
    got = rolling_realised_vol(np.array(mid), seg, day, window=3, min_periods=1)
    np.testing.assert_allclose(got, _loop_vol(mid, run, 3, 1), rtol=1e-12, equal_nan=True)
    assert math.isnan(got[0]) and math.isnan(got[6]) and math.isnan(got[9])  # first row of each run
    got2 = rolling_realised_vol(np.array(mid), seg, day, window=3, min_periods=2)
    np.testing.assert_allclose(got2, _loop_vol(mid, run, 3, 2), rtol=1e-12, equal_nan=True)


def _series(rng: np.random.Generator, sigma: np.ndarray) -> np.ndarray:
    return 1000.0 * np.exp(np.cumsum(sigma * rng.normal(size=sigma.shape[0])))


def test_terciles_fitted_on_train_classify_new_rows() -> None:
    rng = np.random.default_rng(3)
    n = 30_000
    sigma = np.repeat([1e-4, 3e-4, 9e-4], n // 3)
    mid = _series(rng, sigma)
    seg = np.zeros(n, dtype=np.int64)
    day = np.full(n, DAY)
    model = fit_vol_regimes(mid, seg, day, window=100)
    assert model.low_edge < model.high_edge
    codes = model.assign(mid, seg, day)
    shares = [float(np.mean(codes == c)) for c in (0, 1, 2)]
    assert shares == pytest.approx([1 / 3, 1 / 3, 1 / 3], abs=0.02)
    assert np.mean(codes[: n // 3] == VOL_LOW) > 0.95 and np.mean(codes[-n // 3 :] == VOL_HIGH) > 0.95
    assert np.all(codes[:49] == VOL_UNKNOWN)  # fewer than min_periods = 50 returns
    calm = model.assign(_series(rng, np.full(5_000, 5e-5)), np.zeros(5_000), np.full(5_000, DAY))
    assert np.mean(calm[100:] == VOL_LOW) == 1.0  # edges come from train, not from the new rows
    with pytest.raises(EvaluationError):
        fit_vol_regimes(mid[:10], seg[:10], day[:10], window=100)


def test_sessions_from_exchange_time() -> None:
    cal = TradingCalendar(set())
    spec = contract_spec("SHFE.cu")
    stamps = [
        datetime(2024, 3, 5, 10, 0),  # Tuesday day session
        datetime(2024, 3, 5, 21, 30),  # Tuesday night (belongs to Wednesday)
        datetime(2024, 3, 6, 0, 30),  # after midnight, still the night session
        datetime(2024, 3, 5, 16, 0),  # between sessions
        datetime(2024, 3, 5, 12, 0),  # lunch break
    ]
    ns = np.array([beijing_datetime_to_ns(d) for d in stamps], dtype=np.int64)
    codes = session_codes(ns, cal, spec)
    assert codes.tolist() == [SESSION_DAY, SESSION_NIGHT, SESSION_NIGHT, SESSION_NONE, SESSION_NONE]
    masks = group_masks(codes, SESSION_NAMES)
    assert masks["day"].tolist() == [True, False, False, False, False]
    assert masks["night"].sum() == 2


def test_trading_report_by_regime_and_session_adds_up() -> None:
    rng = np.random.default_rng(5)
    n = 6_000
    mid = _series(rng, np.full(n, 2e-4))
    seg = np.zeros(n, dtype=np.int64)
    day = np.full(n, DAY)
    dmid = np.append(mid[5:] - mid[:-5], [np.nan] * 5)
    pos = rng.choice([-1, 1], n)
    r = evaluate_positions(
        pos,
        dmid,
        5,
        mid=mid,
        spread=np.full(n, 0.1),
        segment_id=seg,
        trading_day=day,
        multiplier=5.0,
        price_tick=0.1,
        costs=CostModel(),
    )
    vol_codes = fit_vol_regimes(mid, seg, day, window=50).assign(mid, seg, day)
    by_vol = r.by_group(vol_codes, VOL_REGIME_NAMES)
    assert set(by_vol) == {"low_vol", "mid_vol", "high_vol"}
    unknown = int(np.sum(vol_codes[r.trades.entry_index] == VOL_UNKNOWN))
    assert sum(g.n_trades for g in by_vol.values()) + unknown == r.n_trades
    assert all(g.n_trades > 100 for g in by_vol.values())
