"""`ghtrader regime fit | decode | show`: market regimes (see docs/regimes.md)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from ghtrader.interfaces.cli.arguments import check_day_range, positive_float, positive_int, trading_day
from ghtrader.interfaces.cli.commands.data import _with_bar
from ghtrader.interfaces.cli.output import Output, table
from ghtrader.interfaces.client import GhTraderClient

METHODS = ("hmm-filter", "viterbi", "bocpd", "pelt", "vol-bucket", "kmeans", "gmm")
FEATURES = ("ret", "log_rvol", "volume", "spread_bps", "ofi")


def _states_table(states: list[dict[str, Any]]) -> str:
    names = list(states[0]["means"]) if states else []
    rows = [
        (
            s["regime_id"],
            f"{s['occupancy']:.2f}",
            f"{s['expected_dwell_ticks']:,.0f}",
            *(f"{s['means'][n]:.4g}" for n in names),
        )
        for s in states
    ]
    return table(("regime", "occupancy", "dwell_ticks", *names), rows)


def cmd_fit(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    check_day_range(args)
    r = _with_bar(
        f"regime fit {args.symbol}",
        out,
        lambda bar: client.fit_regimes(
            args.symbol,
            args.start,
            args.end,
            states=args.states,
            seeds=[int(s) for s in (args.seeds or "").split(",") if s],
            n_iter=args.n_iter,
            features=[f for f in (args.features or "").split(",") if f],
            window=args.window,
            model_id=args.model_id or "",
            on_progress=bar,
        ),
    )
    human = r.summary + "\n" + _states_table(r.result.get("states", [])) + f"\n  model   {r.result.get('path', '')}"
    out.result(r.to_dict(), human)
    return 0


def cmd_decode(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    check_day_range(args)
    r = _with_bar(
        f"regime decode {args.method}",
        out,
        lambda bar: client.decode_regimes(
            args.symbol,
            args.start,
            args.end,
            method=args.method,
            model_id=args.model_id or "",
            feature=args.feature or "",
            stride=args.stride,
            expected_run=args.expected_run,
            penalty=args.penalty,
            buckets=args.buckets,
            window=args.window,
            clusters=args.clusters,
            bootstraps=args.bootstraps,
            on_progress=bar,
        ),
    )
    out.result(r.to_dict(), r.summary)
    return 0


def _ns(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m-%d %H:%M:%S")


def cmd_show(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    view = client.list_regimes(args.symbol or "")
    parts = []
    if view["models"]:
        rows = [
            (m["model_id"], m["symbol"], f"{m['start_day']}..{m['end_day']}", m["n_states"], m["model_config_hash"])
            for m in view["models"]
        ]
        parts.append("models\n" + table(("model_id", "symbol", "days", "states", "hash"), rows))
        parts.append(f"states of {view['models'][-1]['model_id']}\n" + _states_table(view["models"][-1]["states"]))
    else:
        parts.append("no regime models (ghtrader regime fit ...)")
    if view["series"]:
        rows = [
            (
                s["symbol"],
                s["detection_method"],
                s["model_config_hash"],
                f"{s['rows']:,}",
                f"{_ns(s['first_ns'])} .. {_ns(s['last_ns'])}",
                " ".join(f"{k}:{v}" for k, v in sorted(s["counts"].items())),
            )
            for s in view["series"]
        ]
        parts.append(
            "stored series\n" + table(("symbol", "method", "hash", "rows", "span (UTC)", "rows per regime"), rows)
        )
    else:
        parts.append("no stored regime states (ghtrader regime decode ...)")
    out.result(view, "\n\n".join(parts))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("regime", help="market regimes: fit an HMM, decode regimes into the store, show them")
    actions = p.add_subparsers(dest="regime_action", required=True, metavar="{fit,decode,show}")

    def common(q: argparse.ArgumentParser) -> None:
        q.add_argument("--symbol", default="KQ.m@SHFE.cu", help="main_l5 alias or raw contract (KQ.m@SHFE.cu)")
        q.add_argument("--start", required=True, type=trading_day, help="first trading day (YYYY-MM-DD)")
        q.add_argument("--end", required=True, type=trading_day, help="last trading day (YYYY-MM-DD)")
        q.add_argument("--window", type=positive_int, help="rolling observation window in ticks (120)")

    q = actions.add_parser("fit", help="fit a Gaussian HMM on the ticks' observations (artifacts/regimes/)")
    common(q)
    q.add_argument("--states", type=positive_int, help="hidden states, 2..8 (3)")
    q.add_argument("--seeds", help="comma-separated restart seeds (0,1,2)")
    q.add_argument("--n-iter", type=positive_int, help="EM iterations per restart (50)")
    q.add_argument("--features", help=f"comma-separated observations of {','.join(FEATURES)} (all)")
    q.add_argument("--model-id", help="artifact name (<symbol>-hmm<K>-<hash>)")
    q.set_defaults(handler=cmd_fit)

    q = actions.add_parser("decode", help="label every tick with a regime and store it (ghtrader_regime_states_v2)")
    common(q)
    q.add_argument("--method", choices=METHODS, default="hmm-filter")
    q.add_argument("--model-id", help="HMM methods: fitted model (the symbol's newest)")
    q.add_argument("--feature", choices=FEATURES, help="bocpd/pelt/vol-bucket: observation (log_rvol)")
    q.add_argument("--stride", type=positive_int, help="bocpd/pelt/kmeans/gmm: ticks between samples (the window)")
    q.add_argument("--expected-run", type=positive_float, help="bocpd: expected samples between changes (200)")
    q.add_argument("--penalty", type=positive_float, help="pelt: penalty (3 ln samples)")
    q.add_argument("--buckets", type=positive_int, help="vol-bucket: number of buckets (3)")
    q.add_argument("--clusters", type=positive_int, help="kmeans/gmm: number of clusters (3)")
    q.add_argument("--bootstraps", type=positive_int, help="kmeans/gmm: bootstrap refits for the stability ARI (8)")
    q.set_defaults(handler=cmd_decode)

    q = actions.add_parser("show", help="saved regime models and stored regime-state series")
    q.add_argument("--symbol", help="only this symbol")
    q.set_defaults(handler=cmd_show)
