"""What the ingest commands print and return for results that flag unknown symbols or list
rejected rows (a fake client stands in for the gRPC one)."""

from __future__ import annotations

import argparse
import io
from typing import Any

from ghtrader.interfaces.cli.commands import data
from ghtrader.interfaces.cli.output import Output
from ghtrader.interfaces.client.views import RunResultView


class FakeClient:
    def __init__(self, result: dict[str, Any], ok: bool = True) -> None:
        self.view = RunResultView(ok, "updated SHFE.ag: 0 contracts", "/runs/ingest/r.json", result)

    def update(self, variety: str, **kw: Any) -> RunResultView:
        return self.view

    def download_contract_range(self, variety: str, first: str, last: str, **kw: Any) -> RunResultView:
        return self.view


def run(handler: Any, client: FakeClient, **args: Any) -> tuple[int, str]:
    out = Output(stdout=io.StringIO(), stderr=io.StringIO())
    code = handler(client, argparse.Namespace(**args), out)
    return code, out.stdout.getvalue()  # type: ignore[attr-defined]


def test_unknown_symbols_exit_1_saying_so() -> None:
    client = FakeClient({"contracts": [], "unknown_symbols": "the csv catalog has no contracts of SHFE.ag"})
    code, text = run(data.cmd_update, client, variety="SHFE.ag", recent_expiry_days=10)
    assert code == 1
    assert "error            the csv catalog has no contracts of SHFE.ag" in text
    code, _ = run(
        data.cmd_download_range,
        client,
        variety="SHFE.cu",
        first="SHFE.cu2601",
        last="SHFE.cu2602",
        start=None,
        end=None,
        chunk_days=5,
    )
    assert code == 1
    assert (
        run(
            data.cmd_update,
            FakeClient({"contracts": [], "unknown_symbols": ""}),
            variety="SHFE.cu",
            recent_expiry_days=10,
        )[0]
        == 0
    )


def test_rejected_rows_are_printed_with_where_and_why() -> None:
    rows = [{"where": f"/csv/cu.csv:{i}", "reason": "crossed book: ask_price1 < bid_price1"} for i in range(2, 25)]
    client = FakeClient({"contracts": [{"symbol": "SHFE.cu2601", "rejected_listed": rows}], "unknown_symbols": ""})
    code, text = run(data.cmd_update, client, variety="SHFE.cu", recent_expiry_days=10)
    assert code == 0
    assert "rejected         /csv/cu.csv:2: crossed book: ask_price1 < bid_price1" in text
    assert "/csv/cu.csv:21:" in text and "/csv/cu.csv:22:" not in text
    assert "... 3 more listed in the report" in text


def test_rejections_nested_deeper_are_printed_too() -> None:
    row = {"where": "/csv/au.csv:7", "reason": "negative price"}
    client = FakeClient({"download": {"contracts": [{"rejected_listed": [row]}]}})
    code, text = run(data.cmd_update, client, variety="SHFE.au", recent_expiry_days=10)
    assert code == 0 and "rejected         /csv/au.csv:7: negative price" in text
