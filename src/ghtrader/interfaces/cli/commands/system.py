"""`ghtrader status`."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from ghtrader.interfaces.cli.output import Output, human_bytes, human_duration
from ghtrader.interfaces.client import GhTraderClient, StatusView


def format_status(s: StatusView) -> str:
    store = "reachable" if s.store_reachable else "UNREACHABLE"
    when = datetime.fromtimestamp(s.server_time_ns / 1e9, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    lines = [
        f"ghTrader {s.version} (commit {s.git_commit})",
        f"  server time   {when}, up {human_duration(s.uptime_seconds)}",
        f"  store         {s.store_backend}: {store} - {s.store_detail}",
        f"  provider      {s.provider}",
        f"  cpu           {s.cpu_percent:.0f}% of {s.cpu_count} cores",
        f"  memory        {human_bytes(s.memory_used_bytes)} / {human_bytes(s.memory_total_bytes)}",
    ]
    for d in s.disks:
        lines.append(f"  disk {d.path:<9}{human_bytes(d.free_bytes)} free of {human_bytes(d.total_bytes)}")
    lines.append(f"  gpu           {s.gpu}")
    return "\n".join(lines)


def cmd_status(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    status = client.get_status()
    out.result(status.to_dict(), format_status(status))
    return 0 if status.store_reachable else 1


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("status", help="server version, uptime, store and host resources")
    p.set_defaults(handler=cmd_status)
