"""TradingService: StartRunRequest -> TradingRunRequest (unset optional fields keep the defaults)."""

from __future__ import annotations

from datetime import datetime

import pytest

from ghtrader.application.errors import InvalidArgument
from ghtrader.domain.calendar import beijing_datetime_to_ns
from ghtrader.interfaces.grpc.servicers.trading import parse_beijing_time, start_request
from ghtrader.v1 import trading_pb2


def test_start_request_maps_the_message() -> None:
    msg = trading_pb2.StartRunRequest(mode="paper", model_id="m", replay_from="2026-10-23T14:50", flat_s=0.0,
                                      risk_limits={"max_position": 2.0}, max_ticks=7, passive=True)  # fmt: skip
    r = start_request(msg)
    assert r.replay_from_ns == parse_beijing_time("2026-10-23T14:50", "x") and r.replay_from_ns > 0
    assert r.flat_s == 0.0 and r.hold_rows is None and r.snapshot_every_s == 60.0  # unset keeps the default
    assert r.risk_limits == {"max_position": 2.0} and r.max_ticks == 7 and r.aggressive is False
    assert parse_beijing_time("2026-10-23T14:50:30", "x") == beijing_datetime_to_ns(datetime(2026, 10, 23, 14, 50, 30))
    assert parse_beijing_time("", "x") == 0
    for bad in ("yesterday", "2026-10-23T14:50+08:00"):
        with pytest.raises(InvalidArgument):
            parse_beijing_time(bad, "end_time")
    with pytest.raises(InvalidArgument, match="speedup"):
        start_request(trading_pb2.StartRunRequest(mode="paper", model_id="m", speedup=0.0))


def test_online_calibration_is_on_unless_the_message_turns_it_off() -> None:
    assert start_request(trading_pb2.StartRunRequest(mode="paper", model_id="m")).online_calibration is True
    msg = trading_pb2.StartRunRequest(mode="sim", model_id="m", online_calibration=False)
    assert start_request(msg).online_calibration is False
    msg = trading_pb2.StartRunRequest(mode="sim", model_id="m", online_calibration=True)
    assert start_request(msg).online_calibration is True


def test_execution_settings_map_with_their_defaults() -> None:
    r = start_request(trading_pb2.StartRunRequest(mode="sim", model_id="m"))
    assert (r.executor, r.venue, r.sizing, r.max_lots, r.target_vol, r.risk_horizon_s) == (
        "direct", "local", "fixed", 1, 0.0, 3600.0
    )  # fmt: skip
    msg = trading_pb2.StartRunRequest(mode="sim", model_id="m", executor="target", venue="tqkq", sizing="vol-target",
                                      max_lots=3, target_vol=2000.0, risk_horizon_s=600.0,
                                      risk_limits={"stress_loss_limit": 5000.0})  # fmt: skip
    r = start_request(msg)
    assert (r.executor, r.venue, r.sizing, r.max_lots, r.target_vol, r.risk_horizon_s) == (
        "target", "tqkq", "vol-target", 3, 2000.0, 600.0
    )  # fmt: skip
    assert r.risk_limits == {"stress_loss_limit": 5000.0}
    r.validate()
