"""Ingest and integrity commands: download, download-contract-range, update, record, audit,
and the `data` group (verify, fill-missing, bootstrap-index, status)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from ghtrader.interfaces.cli.arguments import (
    non_negative_int,
    positive_float,
    positive_int,
    trading_day,
)
from ghtrader.interfaces.cli.output import Output, table
from ghtrader.interfaces.cli.progress import ProgressBar
from ghtrader.interfaces.client import GhTraderClient
from ghtrader.interfaces.client.views import ProgressView, RunResultView

Handler = Callable[[GhTraderClient, argparse.Namespace, Output], int]


def _with_bar(
    label: str, out: Output, call: Callable[[Callable[[ProgressView], None]], RunResultView]
) -> RunResultView:
    bar = ProgressBar(label, out.stderr)
    try:
        return call(bar)
    finally:
        bar.close()


def _details(result: dict[str, Any], keys: tuple[str, ...]) -> str:
    """``key value`` lines; a list of per-contract results is summarised by its length."""
    lines = []
    for k in keys:
        if k not in result:
            continue
        v = result[k]
        if isinstance(v, list) and v and isinstance(v[0], dict):
            v = len(v)
        lines.append(f"  {k.replace('_', ' '):<16} {v}")
    return "\n".join(lines)


_CONTRACT_COLUMNS = ("symbol", "requested", "present_before", "downloaded", "no_data", "missing", "rows_written")


def _contracts_table(contracts: list[dict[str, Any]]) -> str:
    """One row per contract of a multi-contract download."""
    if not contracts:
        return ""
    rows = [[c.get(k, "") for k in _CONTRACT_COLUMNS] for c in contracts]
    return "\n" + table(_CONTRACT_COLUMNS, rows)


_SHOWN_REJECTIONS = 20


def _listed_rejections(node: Any) -> list[dict[str, Any]]:
    """Every ``rejected_listed`` entry in a result, nested results (contracts ...) included."""
    if isinstance(node, list):
        return [r for item in node for r in _listed_rejections(item)]
    if not isinstance(node, dict):
        return []
    rows = [r for r in node.get("rejected_listed") or [] if isinstance(r, dict)]
    return rows + [r for k, v in node.items() if k != "rejected_listed" for r in _listed_rejections(v)]


def _rejections(result: dict[str, Any]) -> list[str]:
    """Rejected rows the result lists, as indented lines (the report has them all)."""
    rows = _listed_rejections(result)
    lines = [f"  rejected         {r.get('where')}: {r.get('reason')}" for r in rows[:_SHOWN_REJECTIONS]]
    if len(rows) > _SHOWN_REJECTIONS:
        lines.append(f"  rejected         ... {len(rows) - _SHOWN_REJECTIONS} more listed in the report")
    return lines


def _finish(out: Output, r: RunResultView, keys: tuple[str, ...] = (), extra: str = "") -> int:
    human = r.summary
    if keys:
        human += "\n" + _details(r.result, keys)
    human += extra
    human += "".join("\n" + line for line in _rejections(r.result))
    unknown = r.result.get("unknown_symbols")
    if unknown:
        human += f"\n  error            {unknown}"
    if r.report_path:
        human += f"\n  report           {r.report_path}"
    out.result(r.to_dict(), human)
    return 0 if r.ok and not unknown else 1


_DOWNLOAD_KEYS = (
    "requested",
    "present_before",
    "downloaded",
    "no_data",
    "missing",
    "rows_written",
    "rejected_total",
    "duration_s",
)


def cmd_download(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    r = _with_bar(
        args.symbol,
        out,
        lambda bar: client.download(
            args.symbol, args.start, args.end, chunk_days=args.chunk_days, force=args.force, on_progress=bar
        ),
    )
    return _finish(out, r, _DOWNLOAD_KEYS)


def cmd_download_range(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    r = _with_bar(
        args.variety,
        out,
        lambda bar: client.download_contract_range(
            args.variety,
            args.first,
            args.last,
            start_day=args.start or "",
            end_day=args.end or "",
            chunk_days=args.chunk_days,
            on_progress=bar,
        ),
    )
    return _finish(
        out,
        r,
        ("contracts", "downloaded", "no_data", "missing", "rows_written", "duration_s"),
        extra=_contracts_table(r.result.get("contracts", [])),
    )


def cmd_update(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    r = _with_bar(
        args.variety,
        out,
        lambda bar: client.update(args.variety, recent_expiry_days=args.recent_expiry_days, on_progress=bar),
    )
    return _finish(
        out,
        r,
        ("contracts", "downloaded", "no_data", "rows_written", "duration_s"),
        extra=_contracts_table(r.result.get("contracts", [])),
    )


def cmd_record(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    r = _with_bar("record", out, lambda bar: client.record(args.symbols, duration_s=args.duration, on_progress=bar))
    return _finish(out, r, ("rows_written", "duplicates_dropped", "flushes", "days_touched"))


def cmd_audit(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    r = _with_bar(
        "audit",
        out,
        lambda bar: client.audit(args.symbols, sample_days=args.sample_days, seed=args.seed, on_progress=bar),
    )
    human = r.summary
    findings = r.result.get("findings", [])
    errors = [f for f in findings if f.get("severity") == "error"]
    if errors:
        rows = [
            (f.get("check", ""), f.get("symbol", ""), f.get("trading_day", ""), str(f.get("detail", ""))[:80])
            for f in errors[:20]
        ]
        human += "\n" + table(("check", "symbol", "trading_day", "detail"), rows)
        if len(errors) > 20:
            human += f"\n  ... and {len(errors) - 20} more errors (see the report)"
    if r.report_path:
        human += f"\n  report  {r.report_path}"
    out.result(r.to_dict(), human)
    return 0 if r.ok else 1


def cmd_verify(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    r = _with_bar(
        "verify",
        out,
        lambda bar: client.verify(
            args.variety or "", args.symbols, start_day=args.start or "", end_day=args.end or "", on_progress=bar
        ),
    )
    human = r.summary
    contracts = r.result.get("contracts", [])
    if contracts:
        rows = [
            (c.get("symbol"), c.get("expected"), c.get("present"), c.get("no_data"), c.get("missing"))
            for c in contracts
        ]
        human += "\n" + table(("symbol", "expected", "present", "no_data", "missing"), rows)
    unindexed = r.result.get("unindexed", [])
    if unindexed:
        shown = ", ".join(unindexed[:5]) + (f" and {len(unindexed) - 5} more" if len(unindexed) > 5 else "")
        human += f"\n  skipped {len(unindexed)} contracts with nothing indexed: {shown}"
        human += "\n  (download them, or run `ghtrader data bootstrap-index` if their ticks are stored)"
    out.result(r.to_dict(), human)
    return 0 if r.ok else 1


def cmd_fill_missing(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    r = _with_bar("fill-missing", out, lambda bar: client.fill_missing(args.variety, mode=args.mode, on_progress=bar))
    download = r.result.get("download") or {}
    human_extra = "\n" + _details(
        {"days_requested": r.result.get("days_requested", 0), **download},
        ("days_requested", "contracts", "downloaded", "no_data", "missing", "rows_written"),
    )
    return _finish(out, r, (), extra=human_extra + _contracts_table(download.get("contracts", [])))


def cmd_bootstrap_index(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    r = _with_bar("bootstrap-index", out, lambda bar: client.bootstrap_index(args.symbols, on_progress=bar))
    return _finish(out, r, ("symbols", "days", "added", "changed", "unchanged", "removed", "no_data_cleared"))


def cmd_status(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    v = client.contract_status(args.variety)
    rows = [
        (c.symbol, c.status, c.expected_days, c.present_days, c.no_data_days, c.missing_days, c.last_present_day)
        for c in v.contracts
    ]
    counts = ", ".join(f"{k} {n}" for k, n in sorted(v.counts.items()))
    human = f"{v.variety}: {counts or 'no contracts'}\n" + table(
        ("symbol", "status", "expected", "present", "no_data", "missing", "last_present"), rows
    )
    out.result(v.to_dict(), human)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("download", help="download one symbol's ticks for a range of trading days")
    p.add_argument("symbol", help="e.g. SHFE.cu2602 or KQ.m@SHFE.cu")
    p.add_argument("--start", required=True, type=trading_day, help="first trading day, YYYY-MM-DD")
    p.add_argument("--end", required=True, type=trading_day, help="last trading day, YYYY-MM-DD")
    p.add_argument("--chunk-days", type=positive_int, help="trading days per provider request (default 5)")
    p.add_argument("--force", action="store_true", help="download days already present again")
    p.set_defaults(handler=cmd_download)

    p = sub.add_parser("download-contract-range", help="download every contract of a variety between two contracts")
    p.add_argument("--var", dest="variety", required=True, help="e.g. SHFE.cu")
    p.add_argument("--first", required=True, help="first contract, e.g. SHFE.cu2601")
    p.add_argument("--last", required=True, help="last contract, e.g. SHFE.cu2606")
    p.add_argument("--start", type=trading_day, help="clip: first trading day")
    p.add_argument("--end", type=trading_day, help="clip: last trading day")
    p.add_argument("--chunk-days", type=positive_int, help="trading days per provider request (default 5)")
    p.set_defaults(handler=cmd_download_range)

    p = sub.add_parser("update", help="forward-fill active and recently expired contracts of a variety")
    p.add_argument("--var", dest="variety", required=True)
    p.add_argument(
        "--recent-expiry-days",
        type=non_negative_int,
        help=("also contracts expired within this many trading days (0 = active only; default 10)"),
    )
    p.set_defaults(handler=cmd_update)

    p = sub.add_parser("record", help="record live ticks (Ctrl-C stops)")
    p.add_argument("symbols", nargs="+")
    p.add_argument("--duration", type=positive_float, help="seconds to record (default: until stopped)")
    p.set_defaults(handler=cmd_record)

    p = sub.add_parser("audit", help="integrity audit of the tick store (exit 1 when errors are found)")
    p.add_argument("symbols", nargs="*", help="symbols to audit (default: all)")
    p.add_argument("--sample-days", type=positive_int, help="days per symbol to read rows of (default: every day)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(handler=cmd_audit)

    data = sub.add_parser("data", help="coverage tools: verify, fill-missing, bootstrap-index, status")
    dsub = data.add_subparsers(dest="data_command", metavar="DATA_COMMAND")
    dsub.required = True
    p = dsub.add_parser("verify", help="expected vs present vs no-data trading days per contract")
    p.add_argument("--var", dest="variety")
    p.add_argument("--start", type=trading_day, help="only expect trading days from this day")
    p.add_argument("--end", type=trading_day, help="only expect trading days up to this day")
    p.add_argument("symbols", nargs="*")
    p.set_defaults(handler=cmd_verify)
    p = dsub.add_parser("fill-missing", help="download the missing days (init: seed a new variety)")
    p.add_argument("--var", dest="variety", required=True)
    p.add_argument("--mode", choices=("normal", "init"), default="normal")
    p.set_defaults(handler=cmd_fill_missing)
    p = dsub.add_parser("bootstrap-index", help="rebuild the symbol-day index from the ticks table")
    p.add_argument("symbols", nargs="*")
    p.set_defaults(handler=cmd_bootstrap_index)
    p = dsub.add_parser("status", help="per-contract coverage from the index (complete/missing/stale/unindexed)")
    p.add_argument("--var", dest="variety", required=True)
    p.set_defaults(handler=cmd_status)
