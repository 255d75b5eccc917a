"""``explain``: why a registered model predicts what it predicts (attributions, importance, errors)."""

from __future__ import annotations

import argparse
from typing import Any

from ghtrader.interfaces.cli.arguments import positive_int, trading_day
from ghtrader.interfaces.cli.commands.data import _with_bar
from ghtrader.interfaces.cli.output import Output, table
from ghtrader.interfaces.client import GhTraderClient

METHODS = ("auto", "treeshap", "ig", "linear", "permutation")


def explain_text(result: dict[str, Any], top: int = 10) -> str:
    """Top features (attribution and permutation), the tick's largest contributions and error by group."""
    parts: list[str] = []
    importance = result.get("global_importance") or []
    if importance:
        parts.append(
            table(
                ("feature", f"mean |attr| ({result.get('output_space', '')})"),
                [(g["feature"], f"{g['mean_abs']:.4g}") for g in importance[:top]],
            )
        )
    permutation = result.get("permutation") or []
    if permutation:
        parts.append(
            table(
                ("feature", "log-loss rise", "std"),
                [(p["feature"], f"{p['delta_log_loss']:+.4g}", f"{p['std']:.2g}") for p in permutation[:top]],
            )
        )
    tick = result.get("tick") or {}
    if tick.get("contributions"):
        head = (
            f"tick {tick['datetime_ns']}: {tick['explained_class']} (label {tick.get('label')}), "
            f"{tick['output_space']} {tick['base']:.3f} -> {tick['output']:.3f}"
        )
        contributions = [(k, f"{v:+.4g}") for k, v in list(tick["contributions"].items())[:top]]
        parts.append(head + "\n" + table(("feature", "contribution"), contributions))
    groups = [
        (kind, name, str(int(s["n"])), f"{s['accuracy']:.3f}", f"{s['log_loss']:.4f}")
        for kind, by in (result.get("error_analysis") or {}).items()
        for name, s in by.items()
        if s.get("n", 0) > 0
    ]
    if groups:
        parts.append(table(("by", "group", "n", "accuracy", "log-loss"), groups))
    attention = _attention_rows(result.get("attention") or [])
    if attention:
        parts.append(table(("attention", "query", "entropy", "share on the newest ticks / most attended"), attention))
    parts.extend(f"note: {n}" for n in result.get("notes") or [])
    return "\n".join(parts)


def _attention_rows(entries: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    rows = []
    for e in entries:
        s = e["summary"]
        if e["kind"] == "temporal":
            uniform = s.get("uniform_share_last_k", {})
            share = ", ".join(
                f"last {k} {v:.2f} (uniform {uniform.get(k, 0):.2f})" for k, v in s["share_last_k"].items()
            )
            query = s.get("query", "")
        else:
            share = ", ".join(f"{name} {v:.2f}" for name, v in list(s["received"].items())[:3])
            query = "mean over features"
        rows.append((e["name"], query, f"{s['entropy']:.3f}", share))
    return rows


def cmd_explain(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    r = _with_bar(
        f"explain {args.model}",
        out,
        lambda bar: client.explain(
            args.model,
            day=args.day,
            end_day=args.end or "",
            version=args.version or "",
            tick_ts_ns=args.tick_ts,
            method=args.method,
            max_rows=args.max_rows,
            steps=args.steps,
            permutation_repeats=args.repeats,
            permutation_rows=args.permutation_rows,
            top_k=args.top_k,
            seed=args.seed,
            on_progress=bar,
        ),
    )
    human = r.summary + "\n" + explain_text(r.result)
    if r.report_path:
        human += f"\n  report  {r.report_path}"
    out.result(r.to_dict(), human)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "explain", help="attributions (TreeSHAP / integrated gradients), permutation importance, error by regime"
    )
    p.add_argument("model", help="registry model id (see `ghtrader models`)")
    p.add_argument("--day", required=True, type=trading_day, help="trading day explained (YYYY-MM-DD)")
    p.add_argument("--end", type=trading_day, help="last trading day of a longer window (default: --day)")
    p.add_argument("--version", help="model version (default: the newest)")
    p.add_argument(
        "--tick-ts", type=int, help="epoch ns of the tick to attribute (default: the most confident UP/DOWN)"
    )
    p.add_argument("--method", choices=METHODS, default="auto", help="auto = the family's attributions + permutation")
    p.add_argument("--max-rows", type=positive_int, help="rows attributed (default 5000 tabular, 256 deep)")
    p.add_argument("--steps", type=positive_int, help="integrated-gradient steps (default 32)")
    p.add_argument("--repeats", type=positive_int, help="permutation shuffles per feature (default 3)")
    p.add_argument("--permutation-rows", type=positive_int, help="rows permutation importance scores (default 20000)")
    p.add_argument("--top-k", type=positive_int, help="features drawn in the figures (default 20)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(handler=cmd_explain)
