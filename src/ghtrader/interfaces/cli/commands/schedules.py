"""`ghtrader schedules` (the server's stored schedules and the daily update ledger) and
`ghtrader schedules run <id>` (fire one now)."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ghtrader.interfaces.cli.output import Output
from ghtrader.interfaces.client import GhTraderClient

_BJ = ZoneInfo("Asia/Shanghai")


def _when(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=_BJ).strftime("%Y-%m-%d %H:%M:%S %Z") if ns else "-"


def format_schedules(r: dict[str, Any]) -> str:
    targets = ", ".join(r["daily_update_targets"]) or "none (GHTRADER_DAILY_UPDATE_TARGETS)"
    lines = [f"scheduler {'running' if r['running'] else 'STOPPED'}; daily update targets: {targets}"]
    if not r["schedules"]:
        lines.append("no schedules stored")
    for s in r["schedules"]:
        lines.append(f"{s['schedule_id']}: {s['description']}")
        lines.append(
            f"  {s['trigger']} ({s['timezone']}), coalesce {s['coalesce']}, misfire grace {s['misfire_grace_s']} s"
        )
        lines.append(f"  next run {_when(s['next_run_ns'])}; last {_when(s['last_fired_ns'])} {s['last_result']}")
    if r["claims"]:
        lines.append("daily update claims (newest first):")
        for c in r["claims"]:
            job = f"job {c['job_id']}" if c["job_id"] else "no job yet"
            lines.append(f"  {c['target']:<9} {c['trading_day']}  {job}  claimed {_when(c['claimed_ns'])}")
    return "\n".join(lines)


def cmd_list(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    r = client.list_schedules(args.claims)
    out.result(r, format_schedules(r))
    return 0


def cmd_run(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    said = client.run_schedule(args.schedule_id)
    out.result({"schedule_id": args.schedule_id, "result": said}, said)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("schedules", help="the server's schedules (daily update) and their ledger; run one now")
    p.add_argument("--claims", type=int, default=None, metavar="N", help="daily update claims to list (default 20)")
    p.set_defaults(handler=cmd_list)
    ssub = p.add_subparsers(dest="schedules_command", metavar="{run}")
    run = ssub.add_parser("run", help="fire a schedule now (its next planned run is unchanged)")
    run.add_argument("schedule_id", help="e.g. daily_update")
    run.set_defaults(handler=cmd_run)
