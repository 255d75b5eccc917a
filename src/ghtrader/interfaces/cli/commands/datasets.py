"""Dataset commands: main-schedule, main-l5, build."""

from __future__ import annotations

import argparse

from ghtrader.interfaces.cli.arguments import (
    positive_float,
    positive_int_list,
    switch_ratio,
    trading_day,
)
from ghtrader.interfaces.cli.commands.data import _finish, _with_bar
from ghtrader.interfaces.cli.output import Output, table
from ghtrader.interfaces.client import GhTraderClient


def cmd_main_schedule(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    r = _with_bar(
        "main-schedule",
        out,
        lambda bar: client.build_main_schedule(
            args.variety,
            start_day=args.start or "",
            end_day=args.end or "",
            switch_ratio=args.switch_ratio,
            on_progress=bar,
        ),
    )
    segs = r.result.get("segments", [])
    human = (
        r.summary
        + "\n"
        + table(
            ("segment", "contract", "first_day", "last_day"),
            [(s["segment_id"], s["contract"], s["first_day"], s["last_day"]) for s in segs],
        )
    )
    if r.report_path:
        human += f"\n  report  {r.report_path}"
    if r.result.get("chart_path"):
        human += f"\n  chart   {r.result['chart_path']}"
    out.result(r.to_dict(), human)
    return 0 if r.ok else 1


def cmd_main_l5(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    r = _with_bar(
        "main-l5",
        out,
        lambda bar: client.build_main_l5(
            args.variety,
            start_day=args.start or "",
            end_day=args.end or "",
            switch_ratio=args.switch_ratio,
            force=args.force,
            on_progress=bar,
        ),
    )
    return _finish(
        out, r, ("days_scheduled", "days_built", "days_unchanged", "missing_days", "rows_written", "build_id")
    )


def cmd_build(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    factors = [f for f in (args.factors or "").split(",") if f]
    r = _with_bar(
        "build",
        out,
        lambda bar: client.build_dataset(
            args.symbol,
            start_day=args.start or "",
            end_day=args.end or "",
            factors=factors,
            horizons=args.horizons or [],
            threshold_ticks=args.k,
            overwrite=args.overwrite,
            kinds=[k for k in (args.kinds or "").split(",") if k],
            on_progress=bar,
        ),
    )
    rows = [
        (
            kind,
            v["config_hash"][:12],
            len(v["days_written"]),
            v["days_up_to_date"],
            len(v["columns"]),
            v["rows_written"],
        )
        for kind, v in r.result.get("kinds", {}).items()
    ]
    human = r.summary + "\n" + table(("kind", "config", "days_written", "up_to_date", "columns", "rows"), rows)
    if r.report_path:
        human += f"\n  report  {r.report_path}"
    out.result(r.to_dict(), human)
    return 0 if r.ok else 1


def register(sub: argparse._SubParsersAction) -> None:
    for name, handler, helptext in (
        ("main-schedule", cmd_main_schedule, "OI roll schedule of a variety"),
        ("main-l5", cmd_main_l5, "materialize KQ.m@<variety> with real depth from the schedule"),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("--var", dest="variety", required=True, help="e.g. SHFE.cu")
        p.add_argument("--start", type=trading_day, help="first trading day, YYYY-MM-DD")
        p.add_argument("--end", type=trading_day, help="last trading day, YYYY-MM-DD")
        p.add_argument(
            "--switch-ratio",
            type=switch_ratio,
            help=("OI ratio to switch the main (main-schedule default 1.1; main-l5 default: the schedule's own)"),
        )
        if name == "main-l5":
            p.add_argument("--force", action="store_true", help="rebuild days even when unchanged")
        p.set_defaults(handler=handler)
    p = sub.add_parser("build", help="features and labels for a symbol (incremental; --overwrite to rebuild)")
    p.add_argument("symbol", help="KQ.m@SHFE.cu (main_l5) or a contract (raw)")
    p.add_argument("--start", type=trading_day, help="first trading day, YYYY-MM-DD")
    p.add_argument("--end", type=trading_day, help="last trading day, YYYY-MM-DD")
    p.add_argument("--factors", help="comma-separated factor names (default: all registered)")
    p.add_argument(
        "--horizons", type=positive_int_list, help="comma-separated label horizons in ticks (default 10,50,200)"
    )
    p.add_argument("--k", type=positive_float, help="direction threshold in ticks, > 0 (default 1)")
    p.add_argument("--kinds", help="comma-separated: features, labels (direction), fill_labels (default: all)")
    p.add_argument("--overwrite", action="store_true", help="full rebuild; allows a new config hash")
    p.set_defaults(handler=cmd_build)
