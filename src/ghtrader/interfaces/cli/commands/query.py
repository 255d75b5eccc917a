"""`ghtrader query "<sql>"`: one read-only SELECT over the active store (table, CSV or JSON)."""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from typing import Any

from ghtrader.interfaces.cli.arguments import positive_float, positive_int
from ghtrader.interfaces.cli.output import Output, json_safe, table
from ghtrader.interfaces.client import GhTraderClient


def _text(value: Any, null: str) -> str:
    if value is None:
        return null
    if isinstance(value, bytes):
        return "\\x" + value.hex()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def format_table(result: dict[str, Any]) -> str:
    headers = [c["name"] for c in result["columns"]]
    if not headers:
        return "(no columns)"
    return table(headers, [[_text(v, "NULL") for v in row] for row in result["rows"]])


def format_csv(result: dict[str, Any]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([c["name"] for c in result["columns"]])
    writer.writerows([[_text(v, "") for v in row] for row in result["rows"]])
    return buf.getvalue()


def _json_payload(result: dict[str, Any]) -> dict[str, Any]:
    rows = [["\\x" + v.hex() if isinstance(v, bytes) else v for v in row] for row in result["rows"]]
    return json_safe({**result, "rows": rows})


def _footer(result: dict[str, Any]) -> str:
    n = result["row_count"]
    note = f"{n} row{'s' if n != 1 else ''} in {result['elapsed_ms']:.1f} ms"
    if result["truncated_by"] == "max_rows":
        note += f" (truncated: the statement has more rows than --limit {result['max_rows']})"
    elif result["truncated_by"] == "max_bytes":
        note += " (truncated: the result passed the 3 MiB response cap; select fewer columns or rows)"
    return note


def cmd_query(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    statement = sys.stdin.read() if args.sql == "-" else args.sql
    result = client.run_query(statement, max_rows=args.limit, timeout_s=args.timeout_s)
    fmt = "json" if out.json_mode else args.format
    if fmt == "json":
        out.stdout.write(json.dumps(_json_payload(result), indent=2, default=str, allow_nan=False) + "\n")
        out.stdout.flush()
        return 0
    if fmt == "csv":
        out.stdout.write(format_csv(result))
        out.stdout.flush()
    else:
        out.result(result, format_table(result))
    out.progress(_footer(result))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "query",
        help="one read-only SQL statement (SELECT / WITH) over the active store",
        description="Run one SELECT or WITH ... SELECT on a read-only connection (see docs/query.md). "
        "Refused statements exit 2 with the reason.",
    )
    p.add_argument(
        "sql",
        help='the statement, e.g. "SELECT symbol, count(*) FROM ghtrader_ticks_raw_v2 GROUP BY 1"; - reads it from stdin',
    )
    p.add_argument("--limit", type=positive_int, default=None, help="row cap, at most 100000 (server default 1000)")
    p.add_argument(
        "--timeout-s", type=positive_float, default=None, help="statement timeout in seconds (server default 5)"
    )
    p.add_argument(
        "--format", choices=("table", "csv", "json"), default="table", help="output: table (default), csv, json"
    )
    p.set_defaults(handler=cmd_query)
