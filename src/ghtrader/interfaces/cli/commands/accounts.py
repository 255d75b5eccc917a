"""`ghtrader accounts list` and `ghtrader accounts verify <profile>` (masked ids, no passwords)."""

from __future__ import annotations

import argparse
import math
from datetime import UTC, datetime
from typing import Any

from ghtrader.interfaces.cli.output import Output
from ghtrader.interfaces.client import GhTraderClient


def _when(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if ns else "-"


def _money(v: float) -> str:
    return "-" if not math.isfinite(v) else f"{v:,.2f}"


def format_listing(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no broker profiles configured (see TQ_BROKER_ID / TQ_ACCOUNT_ID in env.example)"
    lines = [f"{'profile':<12} {'broker':<12} {'account':<14} {'password':<9} last verification"]
    for r in rows:
        last = r["last_check"]
        seen = "never" if last is None else f"{'ok' if last['ok'] else 'FAILED'} at {_when(last['checked_ns'])}"
        pw = "set" if r["has_password"] else "missing"
        lines.append(f"{r['profile']:<12} {r['broker_id']:<12} {r['masked_account_id']:<14} {pw:<9} {seen}")
    return "\n".join(lines)


def format_check(c: dict[str, Any]) -> str:
    head = f"profile {c['profile']} ({c['broker_id']} {c['masked_account_id']}): "
    if not c["ok"]:
        return head + f"FAILED - {c['error']}\n  cached at {c['cache_path']}"
    lines = [
        head + "login ok (read-only)",
        f"  balance {_money(c['balance'])}  available {_money(c['available'])}  margin {_money(c['margin'])}  "
        f"float profit {_money(c['float_profit'])}  risk {c['risk_ratio']:.2%}",
    ]
    for p in c["positions"]:
        lines.append(
            f"  {p['symbol']:<14} long {p['long_today']} today + {p['long_yd']} yd, "
            f"short {p['short_today']} today + {p['short_yd']} yd"
        )
    lines.append(f"  cached at {c['cache_path']}")
    return "\n".join(lines)


def cmd_list(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    rows = client.list_accounts()
    out.result({"accounts": rows}, format_listing(rows))
    return 0


def cmd_verify(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    check = client.verify_account(args.profile)
    out.result(check, format_check(check))
    return 0 if check["ok"] else 1


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("accounts", help="broker account profiles: list, verify (read-only)")
    acc = p.add_subparsers(dest="accounts_command", required=True, metavar="{list,verify}")
    lst = acc.add_parser("list", help="configured profiles (masked ids, no passwords) and their last check")
    lst.set_defaults(handler=cmd_list)
    ver = acc.add_parser("verify", help="read-only login to a profile and one account snapshot (cached)")
    ver.add_argument("profile", nargs="?", default="default", help="profile name (default: default)")
    ver.set_defaults(handler=cmd_verify)
