"""The synthetic FeatureFrame fake: shapes, alignment, segments and the oracle extras."""

from __future__ import annotations

from datetime import date

import numpy as np

from ghtrader.domain.factors import CORE_L5_FACTORS
from tests.fakes.frames import DMID_HORIZONS, synthetic_frame, synthetic_market


def test_frame_is_aligned_and_typed() -> None:
    f = synthetic_frame(days=2, horizon=10)
    n = len(f)
    assert n > 10_000
    assert f.features.shape == (n, len(CORE_L5_FACTORS)) and f.features.dtype == np.float32
    assert f.feature_names == CORE_L5_FACTORS
    for arr in (f.labels, f.segment_id, f.datetime_ns, f.trading_day, f.mid, f.spread, *f.extras.values()):
        assert arr.shape[0] == n
    assert np.all(np.diff(f.datetime_ns) > 0)
    assert len(np.unique(f.trading_day)) == 2
    assert set(np.unique(f.labels[~np.isnan(f.labels)])) == {0.0, 1.0, 2.0}
    assert {f"dmid_h{h}" for h in DMID_HORIZONS} <= set(f.extras)
    assert f.price_tick == 10.0 and f.horizon == 10 and f.symbol == "SHFE.cu2612"
    # labels agree with the realized move of the horizon
    ok = ~np.isnan(f.labels)
    dmid = f.extras["dmid_h10"][ok]
    assert np.all((dmid >= 10 - 1e-6) == (f.labels[ok] == 2.0))
    assert np.all((dmid <= -10 + 1e-6) == (f.labels[ok] == 0.0))


def test_oracle_extras_match_the_market_and_carry_signal() -> None:
    f = synthetic_frame(days=2, horizon=10)
    market = synthetic_market()
    day = f.trading_day[0].astype(object)
    first = f.trading_day == f.trading_day[0]
    expected = market.oracle("SHFE.cu2612", day, 10)
    np.testing.assert_array_equal(f.extras["oracle_dmid"][first], expected)
    od = f.extras["oracle_direction"]
    assert set(np.unique(od[~np.isnan(od)])) <= {0.0, 1.0, 2.0}
    # the oracle's expected move correlates with the realized one (the planted signal)
    ok = ~np.isnan(f.extras["oracle_dmid"]) & ~np.isnan(f.extras["dmid_h10"])
    corr = np.corrcoef(f.extras["oracle_dmid"][ok], f.extras["dmid_h10"][ok])[0, 1]
    assert corr > 0.1


def test_no_signal_means_no_oracle_skill() -> None:
    f = synthetic_frame(days=1, signal_strength=0.0)
    assert np.nanmax(np.abs(f.extras["oracle_dmid"])) == 0.0


def test_main_alias_has_a_segment_per_contract_and_labels_do_not_cross_it() -> None:
    market = synthetic_market()
    start = date(2026, 11, 18)
    f = synthetic_frame(days=6, symbol="KQ.m@SHFE.cu", start=start)
    mains = [market.main_contract("SHFE.cu", d.astype(object)) for d in np.unique(f.trading_day)]
    assert len(np.unique(f.segment_id)) == len(dict.fromkeys(mains)) >= 2
    last_of_first = np.flatnonzero(f.segment_id == f.segment_id[0])[-1]
    assert np.all(np.isnan(f.labels[last_of_first - 9 : last_of_first + 1]))


def test_calls_return_independent_copies() -> None:
    a = synthetic_frame(days=1)
    a.features[:] = 0.0
    b = synthetic_frame(days=1)
    assert np.any(b.features != 0.0)
