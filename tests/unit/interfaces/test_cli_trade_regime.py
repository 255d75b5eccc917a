"""The regime gate's flags: CLI -> client kwargs, StartRunRequest -> TradingRunRequest, and the
`trading status` line."""

from __future__ import annotations

import io
from typing import Any

import pytest

from ghtrader.interfaces.cli import ConnectionDefaults
from ghtrader.interfaces.cli.app import build_parser
from ghtrader.interfaces.cli.commands.trading import _regime_text, cmd_paper, cmd_trade
from ghtrader.interfaces.cli.output import Output
from ghtrader.interfaces.grpc.servicers.trading import start_request
from ghtrader.v1 import trading_pb2


class _Client:
    def __init__(self) -> None:
        self.kwargs: dict[str, Any] = {}

    def start_trading_run(self, mode: str, model: str, **kwargs: Any) -> dict[str, Any]:
        self.kwargs = {"mode": mode, "model": model, **kwargs}
        return {"run_id": "r1", "config": {"symbols": {}}}


def _sent(command: str, *argv: str) -> dict[str, Any]:
    head = ["trade", "--mode", "sim"] if command == "trade" else ["paper"]
    args = build_parser(ConnectionDefaults(host="127.0.0.1", port=50051)).parse_args(
        [*head, "--model", "m", "--detach", *argv]
    )
    client = _Client()
    handler = cmd_trade if command == "trade" else cmd_paper
    assert handler(client, args, Output(json_mode=True, stdout=io.StringIO(), stderr=io.StringIO())) == 0  # type: ignore[arg-type]
    return client.kwargs


def test_regime_flags_reach_the_client() -> None:
    sent = _sent("trade", "--regime-model", "cu-hmm3", "--regime-scale", "hmm_0=1,hmm_1=0.5",
                 "--regime-scale", "hmm_2=0", "--regime-max-lots", "hmm_1=2",
                 "--regime-stress-scale", "hmm_2=2.5")  # fmt: skip
    assert sent["regime_model"] == "cu-hmm3"
    assert sent["regime_scales"] == {"hmm_0": 1.0, "hmm_1": 0.5, "hmm_2": 0.0}
    assert sent["regime_max_lots"] == {"hmm_1": 2} and isinstance(sent["regime_max_lots"]["hmm_1"], int)
    assert sent["regime_stress_scales"] == {"hmm_2": 2.5}
    assert _sent("paper", "--regime-model", "x", "--regime-scale", "hmm_1=0")["regime_scales"] == {"hmm_1": 0.0}
    plain = _sent("trade")
    assert (plain["regime_model"], plain["regime_scales"], plain["regime_max_lots"]) == ("", {}, {})
    assert plain["regime_stress_scales"] == {}


@pytest.mark.parametrize(
    "bad", [["--regime-scale", "hmm_0"], ["--regime-scale", "hmm_0=x"], ["--regime-max-lots", "hmm_0=1.5"]]
)
def test_malformed_regime_maps_are_refused_by_the_parser(bad: list[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser(ConnectionDefaults(host="127.0.0.1", port=50051)).parse_args(
            ["trade", "--mode", "sim", "--model", "m", *bad]
        )


def test_the_wire_fields_map_to_the_request() -> None:
    msg = trading_pb2.StartRunRequest(mode="sim", model_id="m", regime_model="cu-hmm3",
                                      regime_scales={"hmm_2": 0.0}, regime_max_lots={"hmm_1": 1},
                                      regime_stress_scales={"hmm_2": 3.0})  # fmt: skip
    req = start_request(msg)
    assert (req.regime_model, req.regime_scales, req.regime_max_lots) == ("cu-hmm3", {"hmm_2": 0.0}, {"hmm_1": 1})
    assert req.regime_stress_scales == {"hmm_2": 3.0}
    off = start_request(trading_pb2.StartRunRequest(mode="sim", model_id="m"))
    assert (off.regime_model, off.regime_scales, off.regime_max_lots) == ("", {}, {})


def test_status_shows_the_regime() -> None:
    assert _regime_text({}) == ""
    text = _regime_text({"regime": {"model_id": "cu-hmm3", "regime": "hmm_2", "probabilities": {"hmm_2": 0.91},
                                    "scale": 0.0, "max_lots": 1, "changes": 12}})  # fmt: skip
    assert text == "\n  regime hmm_2 (p 0.91) of cu-hmm3: scale 0.0, cap 1 lots, 12 changes"
