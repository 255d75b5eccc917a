"""Research commands: train, benchmark, compare, backtest, models."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ghtrader.interfaces.cli.arguments import (
    check_day_range,
    non_negative_float,
    positive_int,
    trading_day,
)
from ghtrader.interfaces.cli.commands.data import _with_bar
from ghtrader.interfaces.cli.output import Output, table
from ghtrader.interfaces.client import GhTraderClient

#: Metrics first in the compare (and ``run``) model table, in order: the model against the Bayes
#: oracle, calibration before and after, the cost-aware policy, then the classic scores.
HEADLINE = (
    "info_captured",
    "log_loss",
    "bayes_log_loss",
    "ece",
    "ece_uncalibrated",
    "policy_net_pnl",
    "policy_n_trades",
    "bayes_policy_net_pnl_per_trade",
    "policy_net_pnl_per_trade",
    "macro_f1",
    "bayes_macro_f1",
    "accuracy",
    "brier",
    "net_pnl",
    "net_sharpe",
    "latency_p50_ms",
)


def _scope(client: GhTraderClient, args: argparse.Namespace) -> Any:
    features = [f for f in (args.features or "").split(",") if f]
    return client.scope(
        symbol=args.symbol,
        start_day=args.start or "",
        end_day=args.end or "",
        horizon=args.horizon,
        features=features,
        max_epochs=args.epochs,
        window=args.window,
        max_train_rows=args.max_train_rows,
        seed=args.seed,
    )


def _fmt(v: Any) -> str:
    if isinstance(v, dict) and "mean" in v:
        mean, std = v.get("mean"), v.get("std")
        if mean is None:
            return "n/a"
        return f"{mean:.4g} ± {std:.2g}" if std is not None else f"{mean:.4g}"
    return str(v)


def _headline_first(metrics: dict[str, Any]) -> list[str]:
    return [m for m in HEADLINE if m in metrics] + [m for m in sorted(metrics) if m not in HEADLINE]


def comparison_table(table_data: dict[str, dict[str, dict[str, float]]], families: list[str]) -> str:
    metrics = _headline_first(table_data)
    rows = [(m, *(_fmt(table_data[m].get(f, {})) for f in families)) for m in metrics[:24]]
    return table(("metric", *families), rows)


def cmd_train(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    r = _with_bar(
        f"train {args.family}",
        out,
        lambda bar: client.train(args.family, _scope(client, args), model_id=args.model_id or "", on_progress=bar),
    )
    out.result(r.to_dict(), r.summary + (f"\n  meta    {r.report_path}" if r.report_path else ""))
    return 0


def cmd_benchmark(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    r = _with_bar(
        f"benchmark {args.family}",
        out,
        lambda bar: client.benchmark(
            args.family,
            _scope(client, args),
            n_splits=args.splits,
            commission_bp=args.commission_bp,
            slippage_ticks=args.slippage_ticks,
            on_progress=bar,
        ),
    )
    summary = r.result.get("summary", {})
    keys = _headline_first(summary)
    human = r.summary + "\n" + table(("metric", args.family), [(k, _fmt(summary[k])) for k in keys][:40])
    if r.report_path:
        human += f"\n  report  {r.report_path}"
    out.result(r.to_dict(), human)
    return 0


#: Rows of the backtest summary the CLI prints, in order, with their format.
BACKTEST_ROWS = (
    ("pnl_gross", ",.0f"),
    ("fees", ",.0f"),
    ("pnl_net", ",.0f"),
    ("fills", ",.0f"),
    ("fills_aggressive", ",.0f"),
    ("fills_passive_queue", ",.0f"),
    ("fills_passive_cross", ",.0f"),
    ("round_trips", ",.0f"),
    ("turnover_lots", ",.0f"),
    ("win_rate", ".3f"),
    ("sharpe", ".2f"),
    ("max_drawdown", ",.0f"),
)


def _cell(value: Any, spec: str) -> str:
    if value is None:
        return "n/a"
    try:
        return format(float(value), spec)
    except (TypeError, ValueError):
        return str(value)


def backtest_text(result: dict[str, Any]) -> str:
    """The backtest's cost-adjusted results: overall, by session and by volatility regime."""
    summary = result.get("summary", {})
    groups = {**result.get("by_session", {}), **result.get("by_regime", {})}
    rows = [
        (k, _cell(summary.get(k), spec), *(_cell(g[k], spec) if k in g else "" for g in groups.values()))
        for k, spec in BACKTEST_ROWS
    ]
    return table(("metric", "overall", *groups), rows)


def counterfactual_text(cf: dict[str, Any]) -> str:
    """The A/B table of a counterfactual replay (same targets, two execution policies)."""
    a, b = str(cf["A"]), str(cf["B"])
    rows = [(k, _cell(v["A"], ",.4g"), _cell(v["B"], ",.4g"), _cell(v["B-A"], ",.4g")) for k, v in cf["table"].items()]
    return f"counterfactual: A = {a}, B = {b}\n" + table(("metric", "A", "B", "B - A"), rows)


def cmd_backtest(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    check_day_range(args)
    r = _with_bar(
        f"backtest {args.model}",
        out,
        lambda bar: client.backtest(
            args.model,
            version=args.version or "",
            symbol=args.symbol or "",
            start_day=args.start,
            end_day=args.end,
            commission_bp=args.commission_bp,
            slippage_ticks=args.slippage_ticks,
            queue_model=args.queue_model,
            execution=args.execution,
            entry_latency_ms=args.entry_latency_ms,
            cancel_latency_ms=args.cancel_latency_ms,
            feed_latency_ms=args.feed_latency_ms,
            policy_fit_days=args.policy_fit_days,
            hold_rows=args.hold_rows,
            flat_s=args.flat_s,
            seed=args.seed,
            versus_execution=args.versus_execution or "",
            versus_queue_model=args.versus_queue_model or "",
            on_progress=bar,
        ),
    )
    human = r.summary + "\n" + backtest_text(r.result)
    if r.result.get("counterfactual"):
        human += "\n" + counterfactual_text(r.result["counterfactual"])
    if r.report_path:
        human += f"\n  report  {r.report_path}"
    out.result(r.to_dict(), human)
    return 0


def cmd_compare(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    families = [f for f in args.models.split(",") if f]
    r = _with_bar(
        "compare",
        out,
        lambda bar: client.compare(
            families,
            _scope(client, args),
            n_splits=args.splits,
            commission_bp=args.commission_bp,
            slippage_ticks=args.slippage_ticks,
            on_progress=bar,
        ),
    )
    human = r.summary + "\n" + comparison_table(r.result.get("table", {}), list(r.result.get("families", families)))
    for note in r.result.get("notes", []):
        human += f"\n  note: {note}"
    if r.report_path:
        human += f"\n  report  {r.report_path}"
    out.result(r.to_dict(), human)
    return 0


def history_text(changes: Sequence[Mapping[str, Any]]) -> str:
    rows = [
        (
            datetime.fromtimestamp(c["at_ns"] / 1e9, tz=UTC).strftime("%Y-%m-%d %H:%M:%S"),
            c["version"],
            f"{c['from_status']} -> {c['to_status']}",
            c["actor"],
            (c.get("decision") or {}).get("decision", ""),
            c["reason"],
        )
        for c in changes
    ]
    return table(("at (UTC)", "version", "change", "actor", "gate", "reason"), rows) if rows else "no status changes"


def cmd_history(client: GhTraderClient, model_id: str, out: Output) -> int:
    changes = client.model_history(model_id)
    out.result({"model_id": model_id, "changes": changes}, history_text(changes))
    return 0


def cmd_models(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    if args.action == "history":
        model_id = args.model or args.model_id
        if not model_id:
            out.error("models history needs a model id: ghtrader models history <model>")
            return 2
        return cmd_history(client, model_id, out)
    if args.set_status:
        if not (args.model_id and args.version):
            out.error("--set-status needs --model-id and --version")
            return 2
        m = client.set_model_status(args.model_id, args.version, args.set_status, reason=args.reason or "")
        out.result(m, f"{m['model_id']} v{m['version']} is now {m['status']}")
        return 0
    models = client.list_models(model_type=args.type or "", status=args.status or "")
    rows = [
        (
            m["model_id"],
            m["version"],
            m["model_type"],
            m["status"],
            _fmt(m["metrics"].get("macro_f1", "")),
            m["artifact_path"],
        )
        for m in models
    ]
    out.result({"models": models}, table(("model_id", "version", "type", "status", "macro_f1", "artifacts"), rows))
    return 0


def _add_scope(p: argparse.ArgumentParser) -> None:
    p.add_argument("--symbol", default="", help="default KQ.m@SHFE.cu (main_l5)")
    p.add_argument("--start", type=trading_day, help="first trading day, YYYY-MM-DD")
    p.add_argument("--end", type=trading_day, help="last trading day, YYYY-MM-DD")
    p.add_argument("--horizon", type=positive_int, help="label horizon in ticks (default 10)")
    p.add_argument("--features", help="comma-separated factor names, or 'all' (default: core L5 set)")
    p.add_argument("--epochs", type=positive_int, help="deep models: max epochs (default 20)")
    p.add_argument("--window", type=positive_int, help="deep models: window in ticks (default 50)")
    p.add_argument("--max-train-rows", type=positive_int, help="subsample training rows (default: all)")
    p.add_argument("--seed", type=int, default=0)


def _add_costs(p: argparse.ArgumentParser) -> None:
    p.add_argument("--splits", type=positive_int, help="walk-forward splits (at least 5; default 5)")
    p.add_argument("--commission-bp", type=non_negative_float, help="round-trip commission in bp; 0 = free (default 1)")
    p.add_argument("--slippage-ticks", type=non_negative_float, help="round-trip slippage in price ticks (default 0)")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train one model family, export ONNX, register it")
    p.add_argument("family", help="logistic, lightgbm, deeplob, tcn, transformer, tlob, ssm, tkan, patchtst")
    p.add_argument("--model-id")
    _add_scope(p)
    p.set_defaults(handler=cmd_train)

    p = sub.add_parser("benchmark", help="walk-forward benchmark of one family (JSON + PNG + HTML report)")
    p.add_argument("family")
    _add_scope(p)
    _add_costs(p)
    p.set_defaults(handler=cmd_benchmark)

    p = sub.add_parser("backtest", help="trade a registered model through the micro-simulator (JSON + PNG + HTML)")
    p.add_argument("--model", required=True, help="registry model id (see `ghtrader models`)")
    p.add_argument("--version", help="model version (default: the newest)")
    p.add_argument("--symbol", help="main_l5 symbol, e.g. KQ.m@SHFE.cu (default: the model's)")
    p.add_argument("--start", required=True, type=trading_day, help="first backtest trading day (YYYY-MM-DD)")
    p.add_argument("--end", required=True, type=trading_day, help="last backtest trading day (YYYY-MM-DD)")
    p.add_argument("--queue-model", choices=("risk_averse", "prob_power", "prob_log"), default="prob_log")
    p.add_argument("--execution", choices=("aggressive", "passive"), default="aggressive")
    p.add_argument("--entry-latency-ms", type=non_negative_float, help="order-entry latency (default 0)")
    p.add_argument("--cancel-latency-ms", type=non_negative_float, help="cancel latency (default 0)")
    p.add_argument("--feed-latency-ms", type=non_negative_float, help="market-data latency (default 0)")
    p.add_argument(
        "--commission-bp",
        type=non_negative_float,
        help="commission in bp of traded value (default: the variety's fee table; the policy's cost 1 bp)",
    )
    p.add_argument("--slippage-ticks", type=non_negative_float, help="policy round-trip slippage in ticks (default 0)")
    p.add_argument("--policy-fit-days", type=positive_int, help="trading days before --start to fit the policy on (1)")
    p.add_argument("--hold-rows", type=positive_int, help="snapshots an entry is held (default: the model's horizon)")
    p.add_argument(
        "--flat-s",
        type=non_negative_float,
        help="also flat this many seconds before each day's close, as `trade --flat-s` (default: last 10 snapshots)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--versus-execution",
        choices=("aggressive", "passive"),
        help="counterfactual: replay the same targets with this execution too and print an A/B table",
    )
    p.add_argument(
        "--versus-queue-model",
        choices=("risk_averse", "prob_power", "prob_log"),
        help="counterfactual: replay the same targets under this queue model too (A/B table)",
    )
    p.set_defaults(handler=cmd_backtest)

    p = sub.add_parser("compare", help="several families on identical walk-forward splits")
    p.add_argument("--models", required=True, help="comma-separated families, e.g. logistic,lightgbm,tcn")
    _add_scope(p)
    _add_costs(p)
    p.set_defaults(handler=cmd_compare)

    p = sub.add_parser("models", help="list registered models, change one's status, or show a model's history")
    p.add_argument("action", nargs="?", choices=("list", "history"), default="list")
    p.add_argument("model", nargs="?", help="history: the model id")
    p.add_argument("--type")
    p.add_argument("--status")
    p.add_argument("--model-id")
    p.add_argument("--version")
    p.add_argument(
        "--set-status",
        choices=("development", "staging", "shadow", "retired"),
        help="one-stage move (production: `promote` / `rollback`)",
    )
    p.add_argument("--reason", help="why (recorded in the model's history)")
    p.set_defaults(handler=cmd_models)
