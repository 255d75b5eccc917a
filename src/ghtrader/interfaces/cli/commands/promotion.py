"""Promotion commands: promote (through the gate), rollback, and the status history table."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from ghtrader.interfaces.cli.commands.data import _with_bar
from ghtrader.interfaces.cli.commands.research import _add_costs, _add_scope, _scope, comparison_table, history_text
from ghtrader.interfaces.cli.output import Output, table
from ghtrader.interfaces.client import GhTraderClient

GATE_CHECKS = ("net_sharpe", "max_drawdown", "macro_f1", "info_captured", "ece", "latency_us")


def _num(v: Any) -> str:
    return "-" if v is None else f"{v:.4g}"


def gate_text(decision: Mapping[str, Any]) -> str:
    """The gate's checks as a table, then its decision."""
    rows = [
        (c["name"], c["kind"], _num(c["value"]), _num(c["incumbent"]), _num(c["threshold"]),
         "pass" if c["passed"] else "FAIL", c["reason"])
        for c in decision.get("checks", [])
    ]  # fmt: skip
    head = ("check", "kind", "candidate", "incumbent", "threshold", "result", "reason")
    return table(head, rows) + f"\n  decision: {decision.get('summary', decision.get('decision', ''))}"


def add_gate_options(p: argparse.ArgumentParser) -> None:
    """Gate threshold options shared by promote and daily-train."""
    p.add_argument("--min-net-sharpe", type=float, help="backtest net Sharpe floor (default: off)")
    p.add_argument("--max-drawdown", type=float, help="backtest net max drawdown ceiling, currency (default: off)")
    p.add_argument("--min-macro-f1-delta", type=float, help="macro-F1 minus the incumbent's, at least (default 0)")
    p.add_argument(
        "--min-info-captured-delta", type=float, help="info captured minus the incumbent's, at least (default 0)"
    )
    p.add_argument("--max-ece", type=float, help="calibration error ceiling (default 0.1)")
    p.add_argument("--max-latency-us", type=float, help="inference latency budget in us (default: off)")
    p.add_argument(
        "--disable-check", action="append", choices=GATE_CHECKS, default=[], help="switch a gate check off (repeat)"
    )


def gate_thresholds(args: argparse.Namespace) -> dict[str, float | None]:
    return {
        name: getattr(args, name)
        for name in (
            "min_net_sharpe", "max_drawdown", "min_macro_f1_delta", "min_info_captured_delta", "max_ece",
            "max_latency_us",
        )
    }  # fmt: skip


def cmd_promote(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    r = client.promote_model(
        args.model,
        args.version,
        reason=args.reason or "",
        force=args.force,
        thresholds=gate_thresholds(args),
        disabled=args.disable_check,
    )
    if r["promoted"]:
        prev = f" (v{r['previous_production']} retired)" if r["previous_production"] else ""
        head = f"{args.model} v{args.version} promoted to production{' (FORCED)' if r['forced'] else ''}{prev}"
    else:
        head = f"{args.model} v{args.version} kept out of production: the gate says keep"
    out.result(r, f"{head}\n  gate metrics: {r['metrics_source']}\n{gate_text(r['decision'])}")
    return 0 if r["promoted"] else 1


def cmd_rollback(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    r = client.rollback_model(args.model, args.to, reason=args.reason or "")
    out.result(r, f"{args.model}: production is v{r['entry']['version']} again\n{history_text(r['changes'])}")
    return 0


def cmd_daily_train(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    r = _with_bar(
        "daily-train",
        out,
        lambda bar: client.daily_train(
            _scope(client, args),
            family=args.family or "",
            model_id=args.model_id or "",
            trading_days=args.trading_days,
            test_days=args.test_days,
            no_refresh=args.no_refresh,
            no_build=args.no_build,
            thresholds=gate_thresholds(args),
            disabled=args.disable_check,
            on_progress=bar,
        ),
    )
    res = r.result
    lines = [r.summary]
    if res:
        lines.append(
            f"  window {res['window'][0]}..{res['window'][1]}: train {res['train_days'][0]}..{res['train_days'][1]}, "
            f"policy fit {res['fit_day']}, test {res['test_days'][0]}..{res['test_days'][1]}"
        )
        lines.append(gate_text(res["decision"]))
        lines.append(history_text(res.get("changes", [])))
    if r.report_path:
        lines.append(f"  report  {r.report_path}")
    out.result(r.to_dict(), "\n".join(lines))
    return 0


def _param(text: str) -> tuple[str, list[str]]:
    name, sep, values = text.partition("=")
    if not sep or not name.strip() or not values.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=V1,V2,... (got {text!r})")
    return name.strip(), [v.strip() for v in values.split(",") if v.strip()]


def cmd_sweep(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    grid = dict(args.param)
    r = _with_bar(
        f"sweep {args.family}",
        out,
        lambda bar: client.sweep(
            args.family,
            _scope(client, args),
            grid,
            mode="random" if args.random else "grid",
            samples=args.random,
            n_splits=args.splits,
            commission_bp=args.commission_bp,
            slippage_ticks=args.slippage_ticks,
            on_progress=bar,
        ),
    )
    families = list(r.result.get("families", []))
    human = r.summary + "\n" + comparison_table(r.result.get("table", {}), families)
    if r.report_path:
        human += f"\n  report  {r.report_path}"
    out.result(r.to_dict(), human)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("promote", help="promote a model version to production through the promotion gate")
    p.add_argument("model", help="registry model id (see `ghtrader models`)")
    p.add_argument("version", help="the candidate version")
    p.add_argument("--reason", help="why (recorded in the model's history; required with --force)")
    p.add_argument("--force", action="store_true", help="promote even when the gate says keep (needs --reason)")
    add_gate_options(p)
    p.set_defaults(handler=cmd_promote)

    p = sub.add_parser("rollback", help="switch production back to a named earlier version")
    p.add_argument("model", help="registry model id")
    p.add_argument("--to", required=True, help="the version to serve again (it served in production before)")
    p.add_argument("--reason", help="why (recorded in the model's history)")
    p.set_defaults(handler=cmd_rollback)

    p = sub.add_parser(
        "daily-train",
        help="the continual loop: refresh, build, train a candidate, evaluate vs production, gate, promote or keep",
    )
    p.add_argument("--family", help="the candidate's family (default lightgbm)")
    p.add_argument("--model-id", help="the served model id (default daily-<symbol>-h<horizon>)")
    _add_scope(p)
    p.add_argument("--trading-days", type=int, help="window length when --start is not given (default 20)")
    p.add_argument("--test-days", type=int, help="test days of the newest walk-forward split (>= 2; default 2)")
    p.add_argument("--no-refresh", action="store_true", help="skip update / main-schedule / main-l5")
    p.add_argument("--no-build", action="store_true", help="skip the feature / label build")
    add_gate_options(p)
    p.set_defaults(handler=cmd_daily_train)

    p = sub.add_parser("sweep", help="grid / random search over a family's hyper-parameters, one compare report")
    p.add_argument("family", help="the family to sweep, e.g. lightgbm")
    p.add_argument(
        "--param", type=_param, action="append", required=True, help="NAME=V1,V2,... (repeat; every combination)"
    )
    p.add_argument("--random", type=int, metavar="N", help="draw N points of the grid at random (seed: --seed)")
    _add_scope(p)
    _add_costs(p)
    p.set_defaults(handler=cmd_sweep)
