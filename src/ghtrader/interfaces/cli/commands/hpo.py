"""``ghtrader hpo <family>``: hyper-parameter optimisation (an Optuna study over the walk-forward
benchmark); ``ghtrader hpo show <study>``: a stored study's trials and best."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ghtrader.interfaces.cli.commands.data import _with_bar
from ghtrader.interfaces.cli.commands.research import _add_costs, _add_scope, _scope
from ghtrader.interfaces.cli.output import Output, table
from ghtrader.interfaces.client import GhTraderClient

OBJECTIVES = ("info_captured", "net_sharpe", "max_drawdown", "latency", "macro_f1", "log_loss")


def _num(v: Any) -> str:
    return "-" if v is None else f"{v:.4g}"


def _params(p: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in sorted(p.items()))


def trials_text(objectives: list[str], trials: list[dict[str, Any]], values_of: Any) -> str:
    rows = [
        (
            f"{t['number']}{'*' if t.get('baseline') else ''}",
            t["state"],
            *(_num(v) for v in values_of(t)),
            _params(t.get("params") or {})[:90],
            str(t.get("worker", ""))[:24],
            str(t.get("experiment_id") or "-"),
        )
        for t in trials
    ]
    return table(("trial", "state", *objectives, "params", "worker", "experiment"), rows)


def cmd_hpo(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    if args.family == "show":
        return cmd_hpo_show(client, args, out)
    if args.study_name:
        raise SystemExit(
            f"unexpected argument {args.study_name!r} (did you mean `ghtrader hpo show {args.study_name}`?)"
        )
    space = Path(args.space).read_text(encoding="utf-8") if args.space else ""
    objectives = [o for text in args.objective or () for o in text.split(",") if o]
    r = _with_bar(
        f"hpo {args.family}",
        out,
        lambda bar: client.hpo(
            args.family,
            _scope(client, args),
            n_trials=args.n_trials,
            timeout_s=args.study_timeout,
            objectives=objectives,
            study=args.study or "",
            sampler=args.sampler or "",
            pruner=args.pruner or "",
            space_yaml=space,
            parallel=args.parallel,
            no_defaults=args.no_defaults,
            cpus_per_trial=args.cpus_per_trial,
            gpus_per_trial=args.gpus_per_trial,
            n_splits=args.splits,
            commission_bp=args.commission_bp,
            slippage_ticks=args.slippage_ticks,
            on_progress=bar,
        ),
    )
    res = r.result
    names = [str(o) for o in res.get("objectives", [])]
    lines = [r.summary]
    for b in res.get("best", []):
        lines.append(f"  best trial {b['number']}: {_params(b.get('params') or {})}")
    if res.get("trials"):
        lines.append(trials_text(names, res["trials"], lambda t: [(t.get("values") or {}).get(o) for o in names]))
        lines.append("  (* = the family's default parameters)")
    if res.get("experiment_id"):
        lines.append(
            f"  experiment {res['experiment_id']} (the study); its trials: "
            f"`ghtrader experiments list --tag study={res.get('study', '')}`"
        )
    if r.report_path:
        lines.append(f"  report  {r.report_path}")
    out.result(r.to_dict(), "\n".join(lines))
    return 0 if r.ok else 1


def cmd_hpo_show(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    if not args.study_name:
        raise SystemExit("usage: ghtrader hpo show <study>")
    s = client.hpo_study(args.study_name)
    names = s["objectives"]
    head = (
        f"study {s['study']} ({s['family'] or 'family unknown'}): {len(s['trials'])} trial(s); objectives "
        + ", ".join(f"{o} ({d})" for o, d in zip(names, s["directions"], strict=False))
    )
    lines = [head, trials_text(names, s["trials"], lambda t: t["values"] or [None] * len(names))]
    lines.append(f"  trial experiments: `ghtrader experiments list --tag study={s['study']}`")
    for b in s["best"]:
        lines.append(f"  best trial {b['number']}: {json.dumps(b['values'])} {_params(b['params'])}")
    out.result(s, "\n".join(lines))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "hpo",
        help="hyper-parameter optimisation of a family on the walk-forward benchmark (Optuna); `hpo show <study>`",
    )
    p.add_argument("family", help="model family (lightgbm, xgboost, logistic, ...), or `show`")
    p.add_argument("study_name", nargs="?", help="with `show`: the study to print")
    p.add_argument("--n-trials", type=int, help="trials this run adds (default 20)")
    p.add_argument(
        "--study-timeout",
        type=float,
        metavar="S",
        help="seconds after which no new trial starts (the global --timeout is the per-call RPC timeout)",
    )
    p.add_argument("--space", help="search space YAML file (default: the family's shipped space)")
    p.add_argument(
        "--objective",
        action="append",
        help=f"objective(s), repeat or comma-separate for multi-objective: {', '.join(OBJECTIVES)} (default info_captured)",
    )
    p.add_argument("--study", help="study name (default hpo_<family>_<symbol>_h<horizon>); an existing one resumes")
    p.add_argument(
        "--sampler", choices=("tpe", "random", "grid", "nsga2"), help="default tpe (nsga2 for several objectives)"
    )
    p.add_argument(
        "--pruner", choices=("median", "hyperband", "none"), help="pruning on per-fold values (default median)"
    )
    p.add_argument("--parallel", type=int, help="trials at once (default: what the executor can run)")
    p.add_argument("--no-defaults", action="store_true", help="a new study does not start with the family's defaults")
    p.add_argument("--cpus-per-trial", type=float, help="CPUs one trial reserves (default 1)")
    p.add_argument("--gpus-per-trial", type=float, help="GPUs one trial reserves (default 0)")
    _add_scope(p)
    _add_costs(p)
    p.set_defaults(handler=cmd_hpo)
