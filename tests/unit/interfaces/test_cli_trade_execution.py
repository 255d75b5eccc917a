"""`trade`'s executor, venue, sizing and stress-check flags reach StartRun as the client sends them."""

from __future__ import annotations

import io
from typing import Any

import pytest

from ghtrader.interfaces.cli import ConnectionDefaults
from ghtrader.interfaces.cli.app import build_parser
from ghtrader.interfaces.cli.commands.trading import cmd_trade
from ghtrader.interfaces.cli.output import Output


class _Client:
    def __init__(self) -> None:
        self.kwargs: dict[str, Any] = {}

    def start_trading_run(self, mode: str, model: str, **kwargs: Any) -> dict[str, Any]:
        self.kwargs = {"mode": mode, "model": model, **kwargs}
        return {"run_id": "r1", "config": {"symbols": {}}}


def _trade(*argv: str) -> dict[str, Any]:
    args = build_parser(ConnectionDefaults(host="127.0.0.1", port=50051)).parse_args(
        ["trade", "--mode", "sim", "--model", "m", "--detach", *argv]
    )
    client = _Client()
    assert cmd_trade(client, args, Output(json_mode=True, stdout=io.StringIO(), stderr=io.StringIO())) == 0  # type: ignore[arg-type]
    return client.kwargs


def test_execution_flags_reach_the_request() -> None:
    sent = _trade("--executor", "target", "--venue", "tqkq", "--sizing", "vol-target", "--max-lots", "3",
                  "--target-vol", "2000", "--risk-horizon-s", "600", "--stress-loss-limit", "5000",
                  "--stress-n-sigma", "4", "--limit", "max_net_position=3")  # fmt: skip
    assert (sent["executor"], sent["venue"], sent["sizing"], sent["max_lots"]) == ("target", "tqkq", "vol-target", 3)
    assert (sent["target_vol"], sent["risk_horizon_s"]) == (2000.0, 600.0)
    assert sent["risk_limits"] == {"max_net_position": 3.0, "stress_loss_limit": 5000.0, "stress_n_sigma": 4.0}
    plain = _trade()
    assert (plain["executor"], plain["venue"], plain["sizing"], plain["max_lots"]) == ("", "", "", None)
    assert plain["risk_limits"] == {}


def test_bad_choices_are_refused_by_the_parser() -> None:
    parser = build_parser(ConnectionDefaults(host="127.0.0.1", port=50051))
    for bad in (["--executor", "twap"], ["--venue", "ctp"], ["--sizing", "kelly"], ["--max-lots", "0"]):
        with pytest.raises(SystemExit):
            parser.parse_args(["trade", "--mode", "sim", "--model", "m", *bad])
