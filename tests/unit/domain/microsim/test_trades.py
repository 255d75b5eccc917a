"""Trade inference from cumulative volume and amount."""

from __future__ import annotations

import numpy as np
import pytest

from ghtrader.domain.microsim import infer_trades, split_vwap


def test_delta_volume_and_vwap_with_day_reset_and_bad_data() -> None:
    # cu multiplier 5. 0->1: 2 lots for 2*70005*5 = 700050 (VWAP 70005, between ticks).
    # 1->2: nothing. 2->3: volume falls (data error) -> no trade. 3->4: 4 lots at 70010.
    # 4->5: a new day starts, the counters restart -> no trade.
    vol = np.array([10.0, 12.0, 12.0, 11.0, 15.0, 3.0])
    amt = np.array([0.0, 700050.0, 700050.0, 600000.0, 600000.0 + 4 * 70010 * 5, 1.0e6])
    day = np.array([True, False, False, False, False, True])
    q, v = infer_trades(vol, amt, 5.0, day)
    assert q.tolist() == [0.0, 2.0, 0.0, 0.0, 4.0, 0.0]
    assert v[1] == pytest.approx(70005.0) and v[4] == pytest.approx(70010.0)
    assert np.isnan(v[[0, 2, 3, 5]]).all()


def test_split_vwap_between_two_ticks() -> None:
    # 4 lots at average 70002.5 with tick 10: 3 at 70000 and 1 at 70010 (3*0 + 1*10 = 2.5*4)
    assert split_vwap(4.0, 70002.5, 10.0) == pytest.approx((70000.0, 3.0, 70010.0, 1.0))
    # on a tick: all there
    assert split_vwap(4.0, 70010.0, 10.0) == pytest.approx((70010.0, 4.0, 70010.0, 0.0))
    # gold tick 0.02: 2 lots at 500.01 -> 1 at 500.00, 1 at 500.02
    lo, q_lo, hi, q_hi = split_vwap(2.0, 500.01, 0.02)
    assert (lo, q_lo, hi, q_hi) == pytest.approx((500.0, 1.0, 500.02, 1.0))


def test_shape_checks() -> None:
    with pytest.raises(ValueError, match="one length"):
        infer_trades(np.zeros(3), np.zeros(2), 5.0)
