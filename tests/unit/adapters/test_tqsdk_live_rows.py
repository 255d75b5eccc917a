"""Conversion of TqSdk tick-serial rows to TICK_DTYPE, and the session's error mapping."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ghtrader.adapters.tqsdk.live import _new_rows, depth_levels_of, serial_rows_to_ticks
from ghtrader.adapters.tqsdk.session import TqSdkConfig, TqSdkSession, translate_tqsdk_error
from ghtrader.application.errors import FailedPrecondition, InvalidArgument, Unavailable
from ghtrader.domain.ticks import L5_LEVEL_FIELDS, TICK_FIELDS, level_fields


def test_float64_serial_times_round_back_to_exact_integer_ns() -> None:
    base = 1_704_157_200_000_000_000  # 2024-01-02 09:00 Beijing
    rng = np.random.default_rng(3)
    ms = np.sort(rng.choice(10_000_000, 2000, replace=False)).astype(np.int64)
    us_offsets = rng.integers(0, 1000, 2000) * 1000  # sub-millisecond stamps are whole microseconds
    exact = base + ms * 1_000_000 + us_offsets
    as_float = exact.astype(np.float64)
    assert (as_float.astype(np.int64) != exact).any()  # what TqSdk hands over is off
    out = serial_rows_to_ticks({"datetime": as_float, "last_price": np.full(2000, 1.0)}, 5)
    np.testing.assert_array_equal(out["datetime_ns"], exact)
    assert out.dtype.names == TICK_FIELDS
    assert np.isnan(out["average"]).all()  # a column the serial lacks stays NaN


def test_level_one_sources_get_nan_deep_levels() -> None:
    cols = {"datetime": np.array([1.7e18]), **{f: np.array([0.0]) for f in L5_LEVEL_FIELDS}}
    out = serial_rows_to_ticks(cols, depth_levels_of("KQ.m@SHFE.cu"))
    deep = [f for f in L5_LEVEL_FIELDS if f not in level_fields(1)]
    assert all(np.isnan(out[f]).all() for f in deep)
    assert all(out[f][0] == 0.0 for f in level_fields(1))
    assert depth_levels_of("SHFE.cu2402") == 5 and depth_levels_of("DCE.m2405") == 1


def test_new_rows_skips_placeholders_and_seen_ids() -> None:
    df = pd.DataFrame(
        {
            "datetime": [0.0, 1.7e18, 1.7e18 + 5e8, 1.7e18 + 1e9],
            "id": [-1.0, 7.0, 8.0, 9.0],
            "last_price": [np.nan, 1.0, 2.0, 3.0],
            "bid_volume1": [0.0, 4.0, 5.0, 6.0],
        }
    )
    cols, last = _new_rows(df, 7)
    assert last == 9 and cols["last_price"].tolist() == [2.0, 3.0] and cols["bid_volume1"].tolist() == [5.0, 6.0]
    assert _new_rows(df, 9) == ({}, 9)


def test_config_never_shows_the_password() -> None:
    class Secret:
        def get_secret_value(self) -> str:
            return "s3cret"

    cfg = TqSdkConfig("alice", Secret())
    assert "s3cret" not in repr(cfg) and "s3cret" not in repr(TqSdkSession(cfg))
    with pytest.raises(FailedPrecondition, match="not open"):
        _ = TqSdkSession(cfg).api


def test_translate_tqsdk_error_maps_and_redacts() -> None:
    cfg = TqSdkConfig("alice", "s3cret")
    rejected = translate_tqsdk_error(Exception("用户权限认证失败 (401,{'echo': 's3cret'})"), "login", cfg)
    assert isinstance(rejected, FailedPrecondition) and "alice" in str(rejected)
    assert "s3cret" not in str(rejected)
    assert isinstance(translate_tqsdk_error(Exception("您的账户不支持下载历史数据功能"), "dl"), FailedPrecondition)
    assert isinstance(translate_tqsdk_error(Exception("快期账户不能为空"), "login"), InvalidArgument)

    class TqTimeoutError(Exception):
        pass

    assert isinstance(translate_tqsdk_error(TqTimeoutError("slow"), "x"), Unavailable)
    assert isinstance(translate_tqsdk_error(ConnectionError("refused"), "x"), Unavailable)
    same = InvalidArgument("kept")
    assert translate_tqsdk_error(same, "x") is same
