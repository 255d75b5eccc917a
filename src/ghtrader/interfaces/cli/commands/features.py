"""``features select | sets | show``: named feature sets (``train --features @NAME`` uses one)."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

from ghtrader.interfaces.cli.arguments import (
    check_day_range,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
    trading_day,
)
from ghtrader.interfaces.cli.commands.data import _with_bar
from ghtrader.interfaces.cli.output import Output, table
from ghtrader.interfaces.client import GhTraderClient


def rounds_text(result: dict[str, Any]) -> str:
    """One line per elimination round: features kept and the walk-forward test log-loss."""
    best = result.get("best_round", -1)
    rows = [
        (str(i + 1) + (" *" if i == best else ""), str(len(r["features"])), f"{r['cv_log_loss']:.4f}")
        for i, r in enumerate(result.get("rounds") or [])
    ]
    return table(("round", "features", "CV log-loss"), rows) if rows else ""


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def param_pair(text: str) -> tuple[str, Any]:
    """``NAME=VALUE`` as (name, value); the value is JSON when it parses (numbers, lists), text otherwise."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, _value(value)


def cmd_select(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    check_day_range(args)
    r = _with_bar(
        f"features select {args.name}",
        out,
        lambda bar: client.select_features(
            args.name,
            start_day=args.start,
            end_day=args.end,
            symbol=args.symbol or "",
            horizon=args.horizon,
            candidates=[f for f in (args.features or "").split(",") if f],
            generate=args.generate,
            max_pairs=args.max_pairs,
            min_mi=args.min_mi,
            max_corr=args.max_corr,
            family=args.family or "",
            n_splits=args.splits,
            min_features=args.min_features,
            rfe_drop=args.rfe_drop,
            max_rows=args.max_rows,
            params=dict(args.param or ()),
            seed=args.seed,
            on_progress=bar,
        ),
    )
    human = r.summary + "\n" + rounds_text(r.result)
    if r.report_path:
        human += f"\n  stored  {r.report_path}"
    out.result(r.to_dict(), human)
    return 0


def _when(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if ns else ""


def cmd_sets(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    sets = client.feature_sets()
    rows = [
        (s["name"], str(len(s["features"])), s["symbol"], str(s["horizon"]), _when(s["created_at_ns"])) for s in sets
    ]
    out.result({"sets": sets}, table(("name", "features", "symbol", "horizon", "created"), rows) if rows else "none")
    return 0


def cmd_show(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    s = client.feature_set(args.name)
    human = f"{s['name']}: {len(s['features'])} features ({s['symbol']} h{s['horizon']}, {_when(s['created_at_ns'])})\n"
    human += "\n".join(f"  {f}" for f in s["features"])
    rounds = rounds_text(s["selection"])
    out.result(s, human + ("\n" + rounds if rounds else ""))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("features", help="feature selection and named feature sets (train --features @NAME)")
    fsub = p.add_subparsers(dest="features_command", required=True)

    s = fsub.add_parser("select", help="MI + correlation filter + RFE with walk-forward CV -> a named feature set")
    s.add_argument("--name", required=True, help="name the set is stored under (train --features @NAME)")
    s.add_argument("--start", required=True, type=trading_day, help="first trading day (YYYY-MM-DD)")
    s.add_argument("--end", required=True, type=trading_day, help="last trading day (YYYY-MM-DD)")
    s.add_argument("--symbol", help="symbol (default KQ.m@SHFE.cu)")
    s.add_argument("--horizon", type=positive_int, help="label horizon in ticks (default 10)")
    s.add_argument("--features", help="comma-separated candidate factors (default: the core L5 set; 'all')")
    s.add_argument("--generate", action="store_true", help="also try generated features over the candidates")
    s.add_argument("--max-pairs", type=non_negative_int, help="cap on generated pairwise products (default 20)")
    s.add_argument("--min-mi", type=non_negative_float, help="drop candidates with mutual information <= this (0)")
    s.add_argument("--max-corr", type=positive_float, help="redundancy threshold on |correlation| (default 0.95)")
    s.add_argument("--family", help="model family of the elimination rounds (default lightgbm)")
    s.add_argument("--splits", type=positive_int, help="walk-forward folds (default 3)")
    s.add_argument("--min-features", type=positive_int, help="smallest set elimination reaches (default 5)")
    s.add_argument("--rfe-drop", type=positive_float, help="share of features dropped per round (default 0.25)")
    s.add_argument("--max-rows", type=positive_int, help="training rows per fold (default 50000)")
    s.add_argument(
        "--param",
        action="append",
        type=param_pair,
        metavar="NAME=VALUE",
        help="family hyper-parameter of the elimination fits (repeat)",
    )
    s.add_argument("--seed", type=int, default=0)
    s.set_defaults(handler=cmd_select)

    s = fsub.add_parser("sets", help="list the stored feature sets")
    s.set_defaults(handler=cmd_sets)

    s = fsub.add_parser("show", help="one feature set with its selection rounds")
    s.add_argument("name")
    s.set_defaults(handler=cmd_show)
