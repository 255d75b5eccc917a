"""`ghtrader ensemble create | list | show | rollback`: versioned ensemble configurations.

A stored ensemble trains, benchmarks and backtests as the family ``ensemble-<id>`` (the active
version) or ``ensemble-<id>@<version>``: ``ghtrader train ensemble-fast``.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from ghtrader.interfaces.cli.output import Output, table
from ghtrader.interfaces.client import GhTraderClient

STRATEGIES = ("equal", "weighted", "stacking", "blending", "dynamic", "regime")


def _member_params(values: list[str]) -> dict[str, dict[str, Any]]:
    """``family.param=value`` (value parsed as JSON when it is JSON, else kept as text)."""
    out: dict[str, dict[str, Any]] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        family, dot, name = key.partition(".")
        if not sep or not dot or not family or not name:
            raise argparse.ArgumentTypeError(f"--member-param {item!r}: expected family.param=value")
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        out.setdefault(family, {})[name] = value
    return out


def _describe(e: dict[str, Any]) -> str:
    weights = ", ".join(f"{w:g}" for w in e["weights"]) or "equal"
    lines = [
        f"ensemble {e['ensemble_id']} v{e['version']}{' (active)' if e['active'] else ''}: {e['strategy']} of "
        f"{'registered ' if e.get('registered') else ''}{', '.join(e['member_models'])} (weights {weights})",
        f"  family: {e['family']}   hash: {e['config_hash'][:12]}   performance window: "
        f"{e['performance_window_days'] or '-'} days",
    ]
    if e["params"]:
        lines.append(f"  params: {json.dumps(e['params'], sort_keys=True)}")
    if e["note"]:
        lines.append(f"  note: {e['note']}")
    return "\n".join(lines)


def cmd_ensemble(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    if args.action == "create":
        if bool(args.members) == bool(args.registered):
            out.error(
                "create needs --members (families, e.g. logistic,lightgbm) or --registered "
                "(model versions, e.g. lightgbm-KQ.m@SHFE.cu-h10@3,logistic-KQ.m@SHFE.cu-h10), one of them"
            )
            return 2
        params = json.loads(args.params) if args.params else {}
        try:
            member_params = _member_params(args.member_param or [])
        except argparse.ArgumentTypeError as exc:
            out.error(str(exc))
            return 2
        if member_params:
            params["member_params"] = member_params
        e = client.create_ensemble(
            args.ensemble_id,
            [m for m in (args.members or "").split(",") if m],
            args.strategy,
            weights=[float(w) for w in args.weights.split(",")] if args.weights else (),
            performance_window_days=args.performance_window_days,
            params=params,
            note=args.note or "",
            registered=[m for m in (args.registered or "").split(",") if m],
            dynamic_metric=args.dynamic_metric or "",
        )
        out.result({"ensemble": e}, _describe(e))
        return 0
    if args.action == "list":
        rows = client.list_ensembles(args.ensemble_id or "")
        body = table(
            ("ensemble", "version", "active", "strategy", "members", "hash"),
            [
                (e["ensemble_id"], e["version"], "*" if e["active"] else "", e["strategy"],
                 ",".join(e["member_models"]), e["config_hash"][:12])
                for e in rows
            ],
        )  # fmt: skip
        out.result({"ensembles": rows}, body)
        return 0
    if not args.ensemble_id:
        out.error(f"{args.action} needs the ensemble id")
        return 2
    if args.action == "show":
        e = client.get_ensemble(args.ensemble_id, args.version)
        out.result({"ensemble": e}, _describe(e))
        return 0
    if args.version is None:
        out.error("rollback needs --version")
        return 2
    e = client.rollback_ensemble(args.ensemble_id, args.version)
    out.result({"ensemble": e}, "active now: " + _describe(e))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ensemble",
        help="versioned ensemble configurations (train them as family ensemble-<id>)",
        description="Create, list, show and roll back ensemble configurations. A stored ensemble trains, "
        "benchmarks and backtests as the family ensemble-<id> (or ensemble-<id>@<version>); see docs/ensembles.md.",
    )
    p.add_argument("action", choices=("create", "list", "show", "rollback"))
    p.add_argument("ensemble_id", nargs="?", help="the ensemble's name (list: optional filter)")
    p.add_argument("--members", help="create: comma-separated member families, e.g. logistic,lightgbm")
    p.add_argument(
        "--registered",
        help="create: comma-separated registered model versions model_id[@version] as members (not retrained; "
        "train ensemble-<id> on days after their training fits only the combiner)",
    )
    p.add_argument(
        "--dynamic-metric", choices=("log_loss", "sharpe"), help="create, strategy dynamic: recent log-loss or Sharpe"
    )
    p.add_argument(
        "--strategy",
        choices=STRATEGIES,
        default="stacking",
        help="create: how members combine (regime: registered members only, "
        "--params '{\"regime_model\": ID}'; served with regime-mixed weights)",
    )
    p.add_argument("--weights", help="create, strategy weighted: comma-separated weights, one per member")
    p.add_argument(
        "--performance-window-days", type=int, default=0, help="create, strategy dynamic: half-life in trading days"
    )
    p.add_argument("--member-param", action="append", help="create: family.param=value for one member (repeatable)")
    p.add_argument("--params", help="create: further ensemble params as a JSON object, e.g. '{\"oof_folds\": 2}'")
    p.add_argument("--note", help="create: free text kept with the version")
    p.add_argument("--version", type=int, help="show: that version (default active); rollback: the version to activate")
    p.set_defaults(handler=cmd_ensemble)
