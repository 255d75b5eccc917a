"""Small FeatureFrames with a planted linear signal, built from NumPy alone (no factor engine):
fast inputs for model-family, training and serving tests."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from ghtrader.application.ports.models import FeatureFrame

__all__ = ["planted_frame"]

_T0 = 1_793_000_000_000_000_000  # an epoch ns in 2026


def planted_frame(
    n: int = 3000,
    n_features: int = 6,
    *,
    seed: int = 0,
    horizon: int = 10,
    days: int = 3,
    strength: float = 1.5,
    nan_fraction: float = 0.02,
    symbol: str = "SHFE.cu2612",
) -> FeatureFrame:
    """``n`` rows over ``days`` trading days (one segment per day); the label is the class of
    ``strength * (x0 - x1) + noise`` (three roughly balanced classes), ``x2.. `` are noise;
    ``nan_fraction`` of the values are NaN, and the last ``horizon`` rows of each day carry no
    label (as forward labels would)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, n_features)).astype(np.float32)
    x[:, 1 % n_features] *= 3.0
    x[:, 0] += 5.0  # non-zero means, so standardisation matters
    score = strength * (x[:, 0] - 5.0) - strength * x[:, 1 % n_features] / 3.0 + rng.standard_normal(n)
    labels = np.where(score < -0.6, 0.0, np.where(score > 0.6, 2.0, 1.0))
    if nan_fraction > 0:
        x[rng.random(x.shape) < nan_fraction] = np.nan
    day_of_row = np.minimum(np.arange(n) * days // n, days - 1)
    for d in range(days):
        last = np.flatnonzero(day_of_row == d)[-horizon:]
        labels[last] = np.nan
    first_day = date(2026, 11, 2)
    trading_day = np.array([np.datetime64(first_day + timedelta(days=int(d)), "D") for d in day_of_row])
    mid = 80_000.0 + np.cumsum(rng.standard_normal(n)) * 10.0
    return FeatureFrame(
        features=x,
        feature_names=tuple(f"x{i}" for i in range(n_features)),
        labels=labels,
        segment_id=day_of_row.astype(np.int64),
        datetime_ns=_T0 + np.arange(n, dtype=np.int64) * 500_000_000,
        trading_day=trading_day,
        mid=mid,
        spread=np.full(n, 10.0),
        symbol=symbol,
        horizon=horizon,
        price_tick=10.0,
        extras={"oracle_direction": labels.copy()},
    )
