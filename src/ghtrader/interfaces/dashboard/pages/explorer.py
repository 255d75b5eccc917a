"""``/explorer``: read-only SQL through the QueryService; the server explains refusals."""

from __future__ import annotations

import csv
import io
from typing import Any

from nicegui import ui

from ghtrader.interfaces.dashboard.backend import Backend, classify

EXAMPLE = "SELECT symbol, count(*) AS days FROM ghtrader_symbol_day_index_v2 GROUP BY symbol ORDER BY symbol"


def to_csv(result: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c["name"] for c in result["columns"]])
    writer.writerows(result["rows"])
    return out.getvalue()


def render(backend: Backend) -> None:
    ui.label("SQL explorer (read-only)").classes("text-h5")
    sql = ui.textarea("SQL", value=EXAMPLE).classes("w-full font-mono").mark("sql")
    max_rows = ui.number("max rows", value=1000, min=1, precision=0)
    state: dict[str, Any] = {}
    output = ui.column().classes("w-full")

    async def run_query() -> None:
        output.clear()
        with output:
            ui.label("running...")
        try:
            result = await backend.call("run_query", sql.value, max_rows=int(max_rows.value or 1000))
        except Exception as exc:  # noqa: BLE001 - the server's reason is the message
            output.clear()
            with output:
                ui.label(f"refused: {classify(exc)[0]}").classes("text-negative").mark("query-error")
            return
        state["result"] = result
        output.clear()
        with output:
            note = f"{result['row_count']} rows in {result['elapsed_ms']:.0f} ms from {result['store']}"
            if result["truncated"]:
                note += f" (truncated by {result['truncated_by']})"
            ui.label(note).mark("query-note")
            names = [c["name"] for c in result["columns"]]
            cols = [
                {"name": n, "label": n, "field": str(i), "sortable": True, "align": "left"} for i, n in enumerate(names)
            ]
            rows = [
                {
                    str(i): (v if isinstance(v, (int, float, str, bool)) or v is None else str(v))
                    for i, v in enumerate(r)
                }
                | {"_i": k}
                for k, r in enumerate(result["rows"])
            ]
            ui.table(columns=cols, rows=rows, row_key="_i", pagination=50).classes("w-full").mark("query-table")

    def download() -> None:
        if "result" in state:
            ui.download.content(to_csv(state["result"]), "query.csv", "text/csv")

    with ui.row():
        ui.button("Run", on_click=run_query).mark("run-query")
        ui.button("Download CSV", on_click=download).props("outline")
    ui.label(
        "One SELECT / WITH / EXPLAIN statement; writes, DDL and multiple statements are refused by the server."
    ).classes("text-xs text-grey")
