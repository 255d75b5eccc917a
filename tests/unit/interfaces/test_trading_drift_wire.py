"""Drift-response options: CLI flags -> client kwargs, StartRunRequest -> TradingRunRequest, the
resume-model command and the status line."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from ghtrader.application.errors import InvalidArgument
from ghtrader.application.trading.run import OPERATOR_COMMANDS
from ghtrader.interfaces.cli import ConnectionDefaults
from ghtrader.interfaces.cli.app import build_parser
from ghtrader.interfaces.cli.commands.trading import _candidates_text
from ghtrader.interfaces.cli.output import Output
from ghtrader.interfaces.grpc.servicers.trading import start_request
from ghtrader.v1 import trading_pb2


class _Client:
    def __init__(self) -> None:
        self.kwargs: dict[str, Any] = {}
        self.commands: list[tuple[str, str, str]] = []

    def start_trading_run(self, mode: str, model: str, **kwargs: Any) -> dict[str, Any]:
        self.kwargs = {"mode": mode, "model": model, **kwargs}
        return {"run_id": "r1", "config": {"symbols": {}}}

    def trading_command(self, run_id: str, command: str, reason: str = "") -> dict[str, Any]:
        self.commands.append((run_id, command, reason))
        return {"run_id": run_id, "command": command, "queued": True, "running": True}


def _handled(*argv: str) -> _Client:
    args = build_parser(ConnectionDefaults(host="127.0.0.1", port=50051)).parse_args(list(argv))
    client = _Client()
    assert args.handler(client, args, Output(json_mode=True, stdout=io.StringIO(), stderr=io.StringIO())) == 0
    return client


def test_trade_sends_the_fallback_and_anomaly_flags() -> None:
    sent = _handled("trade", "--mode", "sim", "--model", "m", "--fallback-model", "simple", "--fallback-version", "2",
                    "--drift-fallback-after", "4", "--anomaly-config", '{"bad_price": {"critical": 1}}',
                    "--detach").kwargs  # fmt: skip
    assert (sent["fallback_model"], sent["fallback_version"], sent["drift_fallback_after"]) == ("simple", "2", 4)
    assert sent["anomaly_config"] == {"bad_price": {"critical": 1}}
    plain = _handled("paper", "--model", "m", "--detach").kwargs
    assert (plain["fallback_model"], plain["drift_fallback_after"], plain["anomaly_config"]) == ("", None, None)


def test_a_non_object_anomaly_config_is_refused_by_the_parser() -> None:
    parser = build_parser(ConnectionDefaults(host="127.0.0.1", port=50051))
    with pytest.raises(SystemExit):
        parser.parse_args(["paper", "--model", "m", "--anomaly-config", "[1]"])


def test_resume_model_queues_the_command() -> None:
    assert "resume_model" in OPERATOR_COMMANDS
    client = _handled("trading", "resume-model", "run-1", "--reason", "feed fixed")
    assert client.commands == [("run-1", "resume_model", "feed fixed")]


def test_the_message_maps_to_the_request() -> None:
    r = start_request(trading_pb2.StartRunRequest(mode="paper", model_id="m"))
    assert (r.fallback_model_id, r.fallback_version, r.drift_fallback_after, r.anomaly_config) == ("", None, 3, {})
    cfg = {"prediction_shift": {"warning": 0.2}, "drift_window": 500}
    r = start_request(trading_pb2.StartRunRequest(
        mode="sim", model_id="m", fallback_model="s", fallback_version="1", drift_fallback_after=0,
        anomaly_config_json=json.dumps(cfg)))  # fmt: skip
    assert (r.fallback_model_id, r.fallback_version, r.drift_fallback_after, r.anomaly_config) == ("s", "1", 0, cfg)
    r.validate()
    with pytest.raises(InvalidArgument, match="JSON object"):
        start_request(trading_pb2.StartRunRequest(mode="sim", model_id="m", anomaly_config_json="[1]"))
    with pytest.raises(InvalidArgument, match="drift_fallback_after"):
        start_request(trading_pb2.StartRunRequest(mode="sim", model_id="m", drift_fallback_after=-1)).validate()


def test_status_text_names_the_fallback() -> None:
    text = _candidates_text({"drift": {"recalibrations": 2, "deciding": "fallback", "fallback_model": {"model_id": "s"},
                                       "fallback": {"model": {"model_id": "s"}, "reason": "drift persisted"}}})  # fmt: skip
    assert "2 recalibrations, deciding fallback (s: drift persisted)" in text
