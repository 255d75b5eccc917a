"""`ghtrader experiments list|show|diff|annotate|export`: the experiment records of research runs."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, date, datetime
from typing import Any

from ghtrader.interfaces.cli.arguments import UsageError
from ghtrader.interfaces.cli.output import Output, table
from ghtrader.interfaces.client import GhTraderClient

KINDS = ("train", "benchmark", "compare", "hpo", "backtest")
STATUSES = ("running", "succeeded", "failed", "cancelled")
# Metrics shown in a list, first found wins (the headline of each kind).
HEADLINE = ("macro_f1", "macro_f1.mean", "accuracy", "accuracy.mean", "pnl_net", "best_value")


def _when(ns: int | None) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).strftime("%Y-%m-%d %H:%M:%S") if ns else "-"


def _code(e: dict[str, Any]) -> str:
    dirty = e["git_dirty"]
    return e["git_commit"] + ("" if dirty is None else " (dirty)" if dirty else "")


def _num(v: float | None) -> str:
    return "-" if v is None else f"{v:.6g}"


def _headline(e: dict[str, Any]) -> str:
    for key in HEADLINE:
        if key in e["metrics"]:
            return f"{key} {e['metrics'][key]:.4g}"
    return ""


def format_experiments(found: list[dict[str, Any]]) -> str:
    if not found:
        return "no experiments"
    rows = [
        [
            e["experiment_id"],
            e["run_id"] or "-",
            e["kind"],
            e["project"],
            e["status"],
            _when(e["created_at_ns"]),
            "-" if e["duration_s"] is None else f"{e['duration_s']:.1f}s",
            e["name"][:40],
            _headline(e),
            ",".join(e["tags"]),
        ]
        for e in found
    ]
    headers = ["id", "job", "kind", "project", "status", "created (UTC)", "took", "name", "headline", "tags"]
    return table(headers, rows)


def format_experiment(e: dict[str, Any]) -> str:
    lines = [
        f"experiment {e['experiment_id']}: {e['name']} ({e['kind']}, {e['status']})",
        f"  project       {e['project']}",
        f"  job           {e['run_id'] or '-'}",
        f"  code          {_code(e)}",
        f"  created       {_when(e['created_at_ns'])} UTC"
        + ("" if e["duration_s"] is None else f"  (took {e['duration_s']:.1f}s)"),
        f"  tags          {', '.join(e['tags']) or '-'}",
    ]
    if e["notes"]:
        lines.append(f"  notes         {e['notes']}")
    if e["error"]:
        lines.append(f"  error         {e['error']}")
    if e["report_path"]:
        lines.append(f"  report        {e['report_path']}")
    lines.append("  hyper-parameters")
    lines += [f"    {line}" for line in json.dumps(e["hyperparameters"], indent=2, sort_keys=True).splitlines()]
    if e["metrics"]:
        lines.append(table(["metric", "value"], [[k, _num(v)] for k, v in sorted(e["metrics"].items())]))
    for name, points in sorted(e["learning_curves"].items()):
        shown = ", ".join(f"{int(s)}: {v:.4g}" for s, v in points)
        lines.append(f"  curve {name}: {shown}")
    if e["artifacts"]:
        lines.append("  artifacts")
        lines += [f"    {a}" for a in e["artifacts"]]
    return "\n".join(lines)


def format_diff(d: dict[str, Any]) -> str:
    a, b = d["a"], d["b"]
    lines = [
        f"a = {a['experiment_id']} (job {a['run_id'] or '-'}, {a['name']}, {_code(a)})",
        f"b = {b['experiment_id']} (job {b['run_id'] or '-'}, {b['name']}, {_code(b)})",
    ]
    if not d["same_code"]:
        lines.append("warning: the two ran on different or dirty code")
    if d["parameters"]:
        lines.append(table(["parameter", "a", "b"], [[p["key"], p["a"][:50], p["b"][:50]] for p in d["parameters"]]))
    else:
        lines.append("same hyper-parameters")
    if d["metrics"]:
        rows = [[m["key"], _num(m["a"]), _num(m["b"]), _num(m["delta"])] for m in d["metrics"]]
        lines.append(table(["metric", "a", "b", "b - a"], rows))
    return "\n".join(lines)


def _since(text: str) -> int:
    """An ISO day or time (UTC) as epoch ns."""
    try:
        when = datetime.fromisoformat(text) if "T" in text or " " in text else None
        if when is None:
            day = date.fromisoformat(text)
            when = datetime(day.year, day.month, day.day)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD or YYYY-MM-DDTHH:MM, got {text!r}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1e9)


def cmd_list(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    found = client.list_experiments(
        project=args.project or "",
        kind=args.kind or "",
        tag=args.tag or "",
        status=args.status or "",
        limit=args.limit,
        since_ns=args.since,
    )
    out.result({"experiments": found}, format_experiments(found))
    return 0


def cmd_show(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    e = client.get_experiment(args.ref)
    out.result(e, format_experiment(e))
    return 0


def cmd_diff(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    d = client.diff_experiments(args.a, args.b)
    out.result(d, format_diff(d))
    return 0


def cmd_annotate(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    if args.notes is None and not args.tag and not args.untag:
        raise UsageError("give --notes, --tag or --untag")
    e = client.annotate_experiment(args.ref, notes=args.notes, add_tags=args.tag or (), remove_tags=args.untag or ())
    out.result(e, f"experiment {e['experiment_id']}: tags {', '.join(e['tags']) or '-'}; notes {e['notes'] or '-'}")
    return 0


def cmd_export(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    exported = client.export_experiments(since_ns=args.since, limit=args.limit, timeout_s=args.timeout)
    failed = [e for e in exported if not e["mlflow_run_id"]]
    human = (
        table(
            ["experiment", "mlflow run"],
            [[e["experiment_id"], e["mlflow_run_id"] or "FAILED (see the server log)"] for e in exported],
        )
        if exported
        else "nothing to export"
    )
    out.result({"exported": exported}, human)
    return 1 if failed else 0


def register(sub: argparse._SubParsersAction) -> None:
    exp = sub.add_parser("experiments", help="experiment records of research runs: list, show, diff, annotate, export")
    esub = exp.add_subparsers(dest="experiments_command", metavar="SUBCOMMAND")
    esub.required = True
    p = esub.add_parser("list", help="experiments, newest first")
    p.add_argument("--kind", choices=KINDS, help="only this kind")
    p.add_argument("--project", help="only this project")
    p.add_argument("--tag", help="only experiments carrying this tag")
    p.add_argument("--status", choices=STATUSES, help="only this status")
    p.add_argument(
        "--since", type=_since, default=None, help="only those created on or after (YYYY-MM-DD[THH:MM], UTC)"
    )
    p.add_argument("--limit", type=int, default=None, help="at most this many (default 50)")
    p.set_defaults(handler=cmd_list)
    p = esub.add_parser("show", help="one experiment in full (hyper-parameters, metrics, learning curves)")
    p.add_argument("ref", help="experiment id, or the job id it ran as")
    p.set_defaults(handler=cmd_show)
    p = esub.add_parser("diff", help="two experiments: the parameters that differ and a metric comparison")
    p.add_argument("a", help="experiment id or job id (the baseline)")
    p.add_argument("b", help="experiment id or job id")
    p.set_defaults(handler=cmd_diff)
    p = esub.add_parser("annotate", help="set an experiment's notes, add or remove tags")
    p.add_argument("ref", help="experiment id or job id")
    p.add_argument("--notes", default=None, help="the new notes (replace)")
    p.add_argument("--tag", action="append", help="add this tag (repeatable)")
    p.add_argument("--untag", action="append", help="remove this tag (repeatable)")
    p.set_defaults(handler=cmd_annotate)
    p = esub.add_parser(
        "export", help="mirror finished experiments to MLflow (GHTRADER_MLFLOW_TRACKING_URI on the server)"
    )
    p.add_argument(
        "--since", type=_since, default=None, help="only those created on or after (YYYY-MM-DD[THH:MM], UTC)"
    )
    p.add_argument("--limit", type=int, default=None, help="at most this many, newest (default 1000)")
    p.set_defaults(handler=cmd_export)
