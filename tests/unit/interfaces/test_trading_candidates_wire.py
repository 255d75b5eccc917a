"""Shadow and canary options: CLI flags -> client kwargs, StartRunRequest -> TradingRunRequest."""

from __future__ import annotations

import io
from typing import Any

import pytest

from ghtrader.application.errors import InvalidArgument
from ghtrader.interfaces.cli import ConnectionDefaults
from ghtrader.interfaces.cli.app import build_parser
from ghtrader.interfaces.cli.commands.trading import _candidates_text
from ghtrader.interfaces.cli.output import Output
from ghtrader.interfaces.grpc.servicers.trading import start_request
from ghtrader.v1 import trading_pb2


class _Client:
    def __init__(self) -> None:
        self.kwargs: dict[str, Any] = {}

    def start_trading_run(self, mode: str, model: str, **kwargs: Any) -> dict[str, Any]:
        self.kwargs = {"mode": mode, "model": model, **kwargs}
        return {"run_id": "r1", "config": {"symbols": {}}}


def _sent(*argv: str) -> dict[str, Any]:
    args = build_parser(ConnectionDefaults(host="127.0.0.1", port=50051)).parse_args([*argv, "--detach"])
    client = _Client()
    out = Output(json_mode=True, stdout=io.StringIO(), stderr=io.StringIO())
    assert args.handler(client, args, out) == 0
    return client.kwargs


def test_paper_and_trade_send_the_candidate_flags() -> None:
    sent = _sent("paper", "--model", "m", "--shadow-model", "s", "--shadow-version", "4", "--canary-model", "c",
                 "--canary-share", "0.25", "--canary-seed", "9", "--canary-fallback-blocks", "12",
                 "--canary-fallback-margin", "50")  # fmt: skip
    assert (sent["shadow_model"], sent["shadow_version"], sent["canary_model"], sent["canary_version"]) == (
        "s", "4", "c", ""
    )  # fmt: skip
    assert (sent["canary_share"], sent["canary_seed"], sent["canary_fallback_blocks"]) == (0.25, 9, 12)
    assert sent["canary_fallback_margin"] == 50.0
    plain = _sent("trade", "--mode", "sim", "--model", "m")
    assert (plain["shadow_model"], plain["canary_model"], plain["canary_share"], plain["canary_seed"]) == (
        "", "", None, None
    )  # fmt: skip


def test_the_message_maps_to_the_request_with_defaults() -> None:
    r = start_request(trading_pb2.StartRunRequest(mode="paper", model_id="m"))
    assert (r.shadow_model_id, r.shadow_version, r.canary_model_id, r.canary_version) == ("", None, "", None)
    assert (r.canary_share, r.canary_seed, r.canary_fallback_blocks, r.canary_fallback_margin) == (0.1, 0, 30, 0.0)
    msg = trading_pb2.StartRunRequest(mode="sim", model_id="m", shadow_model="s", shadow_version="3",
                                      canary_model="c", canary_version="5", canary_share=0.5, canary_seed=7,
                                      canary_fallback_blocks=0, canary_fallback_margin=10.0)  # fmt: skip
    r = start_request(msg)
    assert (r.shadow_model_id, r.shadow_version, r.canary_model_id, r.canary_version) == ("s", "3", "c", "5")
    assert (r.canary_share, r.canary_seed, r.canary_fallback_blocks, r.canary_fallback_margin) == (0.5, 7, 0, 10.0)
    r.validate()


@pytest.mark.parametrize(
    "fields",
    [
        {"mode": "live", "canary_model": "c"},
        {"mode": "paper", "canary_model": "c", "canary_share": 0.0},
        {"mode": "paper", "canary_model": "c", "canary_share": 1.5},
        {"mode": "paper", "canary_model": "c", "canary_fallback_blocks": -1},
    ],
)
def test_bad_canary_settings_are_refused(fields: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgument):
        start_request(trading_pb2.StartRunRequest(model_id="m", **fields)).validate()


def test_status_text_names_agreement_and_the_fallback() -> None:
    text = _candidates_text({
        "shadow": {"model": {"model_id": "s", "version": "2"}, "agreement": 0.875, "ticks": 800, "disagreements": 3,
                   "virtual_pnl": {"production": {"pnl": 120.0}, "shadow": {"pnl": -40.0}}},
        "canary": {"model": {"model_id": "c", "version": "5"}, "share": 0.1, "blocks": {"production": 9, "candidate": 1},
                   "executed_pnl": {"production": 10.0, "candidate": -5.0}, "fallen_back": True,
                   "fallback": {"reason": "candidate trailed"}},
    })  # fmt: skip
    assert "agreement 87.5% over 800 ticks, 3 disagreements" in text and "production 120 vs shadow -40" in text
    assert "1 of 10 blocks" in text and "fell back: candidate trailed" in text
