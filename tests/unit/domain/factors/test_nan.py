"""Missing data: NaN-only columns, L1-only books, absent extras, empty batches, bad arguments."""

from __future__ import annotations

import numpy as np
import pytest

from ghtrader.domain.factors import (
    EXTRA_INPUTS,
    FactorError,
    OnlineFactorEngine,
    compute_factor_matrix,
    get_factor,
)
from ghtrader.domain.ticks import MARKET_FIELDS, level_fields

from ._synth import run_batch, run_online

DEEP = tuple(f for lvl in (2, 3, 4, 5) for f in level_fields(lvl))
BOOK = tuple(f for lvl in (1, 2, 3, 4, 5) for f in level_fields(lvl))
BLANKED = {
    "levels 2-5 (an L1-only series)": DEEP,
    "the whole book": BOOK,
    "the bid side": tuple(f for f in BOOK if f.startswith("bid")),
    "volume and amount": ("volume", "amount"),
    "average": ("average",),
    "last price": ("last_price",),
    "open interest": ("open_interest",),
    "every market field": MARKET_FIELDS,
}


def _blank(synth, fields):
    s = synth.slice(0, 3000)
    for f in fields:
        s.ticks[f] = np.nan
    return s


@pytest.mark.parametrize("what", list(BLANKED))
def test_nan_only_columns_never_raise_and_spare_other_factors(what, synth, batch_all):
    fields = BLANKED[what]
    s = _blank(synth, fields)
    mat, names = run_batch(s)
    assert mat.shape == (3000, len(names))
    assert not np.isinf(mat).any()
    clean = batch_all[0][:3000]
    for j, name in enumerate(names):
        spec = get_factor(name)
        if not set(spec.inputs) & set(fields):
            # the declared inputs are complete: a factor not reading the blanked columns is untouched
            np.testing.assert_array_equal(mat[:, j], clean[:, j], err_msg=name)
    np.testing.assert_array_equal(run_online(s.slice(0, 400)), mat[:400])


def test_an_empty_book_gives_nan_prices_and_zero_depth(synth):
    s = _blank(synth, BOOK)
    mat, names = run_batch(s)
    col = dict(zip(names, mat.T, strict=True))
    for name in ("imb_l1", "spread_ticks", "ret_1", "micro_dev", "ofi_l1_10", "slope_imb", "kyle_100"):
        assert np.isnan(col[name]).all(), name
    assert (col["depth_l1"] == 0).all() and (col["log_depth5"] == 0).all()  # no lots on display


def test_l1_only_series_still_gives_level_one_factors(synth):
    s = _blank(synth, DEEP)
    mat, names = run_batch(s)
    col = dict(zip(names, mat.T, strict=True))
    assert np.isfinite(col["imb_l1"]).mean() > 0.95
    assert np.isfinite(col["ofi_l1_10"]).mean() > 0.9
    assert np.isnan(col["imb_l2"]).all() and np.isnan(col["ofi_l3_10"]).all()
    np.testing.assert_array_equal(col["imb_cum5"], col["imb_l1"])  # only level 1 is left
    assert np.isnan(col["slope_bid"]).all()  # a slope needs two levels


def test_absent_extras_make_only_cross_asset_factors_nan(synth, batch_all):
    mat, names = batch_all
    s = synth.slice(0)
    got, _ = compute_factor_matrix(s.ticks, s.day, s.seg, price_tick=s.price_tick)
    cross = [j for j, n in enumerate(names) if get_factor(n).group == "cross_asset"]
    other = [j for j in range(len(names)) if j not in cross]
    assert np.isnan(got[:, cross]).all()
    np.testing.assert_array_equal(got[:, other], mat[:, other])
    only_cu, _ = compute_factor_matrix(
        s.ticks, s.day, s.seg, extras={"cu_mid": s.extras["cu_mid"]}, price_tick=s.price_tick
    )
    for j in cross:
        if "_cu_" in names[j]:
            np.testing.assert_array_equal(only_cu[:, j], mat[:, j])
        else:
            assert np.isnan(only_cu[:, j]).all()
    eng = OnlineFactorEngine(["xcorr_au_100", "ret_1"], price_tick=s.price_tick)
    for i in range(300):
        v = eng.update(s.ticks[i], s.day[i], 0, None)
    assert np.isnan(v[0]) and np.isfinite(v[1])


def test_empty_and_single_tick_batches(synth):
    mat, names = run_batch(synth.slice(0, 0))
    assert mat.shape == (0, len(names))
    one, _ = run_batch(synth.slice(5, 6))
    assert one.shape == (1, len(names))
    assert not np.isinf(one).any()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"names": ["nope"]}, "unknown factor"),
        ({"price_tick": 0.0}, "price_tick"),
        ({"price_tick": float("nan")}, "price_tick"),
        ({"multiplier": -1.0}, "multiplier"),
        ({"extras": {"zn_mid": np.ones(100)}}, "unknown extra"),
        ({"extras": {"cu_mid": np.ones(99)}}, "extra input"),
        ({"segment_id": np.zeros(100)}, "segment_id"),
        ({"segment_id": np.zeros(99, dtype=np.int64)}, "segment_id"),
        ({"trading_day": np.zeros(99, dtype=np.int64)}, "trading_day"),
        ({"trading_day": np.zeros(100)}, "trading_day"),
    ],
)
def test_bad_arguments_raise_factor_errors(kwargs, message, synth):
    s = synth.slice(0, 100)
    args = {"trading_day": s.day, "segment_id": None, "names": None, "extras": None, "price_tick": 10.0}
    args.update(kwargs)
    with pytest.raises(FactorError, match=message):
        compute_factor_matrix(s.ticks, **args)


def test_online_rejects_bad_ticks_and_extras(synth):
    eng = OnlineFactorEngine(["ret_1", "xcorr_cu_100"], price_tick=10.0)
    with pytest.raises(FactorError, match="unknown extra"):
        eng.update(synth.ticks[0], synth.day[0], 0, {"zn_mid": 1.0})
    with pytest.raises(FactorError, match="invalid tick"):
        eng.update([1.0, 2.0], synth.day[0], 0)
    with pytest.raises(FactorError, match="datetime_ns"):
        eng.update({"last_price": 1.0}, synth.day[0], 0)
    with pytest.raises(FactorError, match="trading_day"):
        eng.update(synth.ticks[0], 1.5, 0)
    assert set(EXTRA_INPUTS) == {"cu_mid", "au_mid", "ag_mid"}
