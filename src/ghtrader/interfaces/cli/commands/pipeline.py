"""`ghtrader run`: the main job, with a readable summary."""

from __future__ import annotations

import argparse
from typing import Any

from ghtrader.interfaces.cli.arguments import positive_int
from ghtrader.interfaces.cli.commands.promotion import gate_text
from ghtrader.interfaces.cli.commands.research import backtest_text, comparison_table
from ghtrader.interfaces.cli.output import Output, table
from ghtrader.interfaces.cli.progress import ProgressBar
from ghtrader.interfaces.client import ApiError, GhTraderClient
from ghtrader.interfaces.client.views import RunResultView

EXIT_FAILED = 1  # the job ran and names each failed condition
EXIT_USAGE = 2  # a bad argument, named in the message


def format_pipeline(r: RunResultView) -> str:
    res = r.result
    parts = [r.summary, "", "Ingest"]
    rows = []
    for v in res.get("varieties", []):
        for symbol in v["contracts"]:
            rows.append((v["variety"], symbol, f"{v['eod_open_interest'].get(symbol, 0):,.0f}"))
    parts.append(table(("variety", "contract", f"EOD OI {res.get('end_day', '')}"), rows))
    cov = res.get("coverage") or {}
    parts += ["", f"Coverage {res.get('start_day')}..{res.get('end_day')}"]
    parts.append(
        table(
            ("symbol", "expected", "present", "no_data", "missing"),
            [(c["symbol"], c["expected"], c["present"], c["no_data"], c["missing"]) for c in cov.get("contracts", [])],
        )
    )
    ds = res.get("datasets", [])
    if ds:
        parts += ["", "Roll schedule and main_l5 (continuous main with real depth)"]
        parts.append(
            table(
                ("symbol", "segments", "main_l5 days", "rows written", "missing", "schedule"),
                [
                    (
                        d["symbol"],
                        " -> ".join(f"{c} ({a}..{b})" for c, a, b in d["segments"]),
                        d["main_l5_days"],
                        f"{d['main_l5_rows']:,}",
                        len(d["main_l5_missing_days"]),
                        d["schedule_hash"][:12],
                    )
                    for d in ds
                ],
            )
        )
        parts += [f"  roll chart  {d['schedule_chart']}" for d in ds if d.get("schedule_chart")]
        parts += ["", "Features and labels"]
        parts.append(
            table(
                ("symbol", "feature days", "factors", "direction label days", "columns", "fill label days", "columns"),
                [
                    (
                        d["symbol"],
                        d["feature_days"],
                        d["feature_columns"],
                        d["label_days"],
                        d["label_columns"],
                        d.get("fill_label_days", 0),
                        d.get("fill_label_columns", 0),
                    )
                    for d in ds
                ],
            )
        )
    research = res.get("research")
    if research:
        parts += ["", f"Models on {research['symbol']} h{research['horizon']} (walk-forward, identical splits)"]
        parts.append(comparison_table(research["table"], research["families"]))
        for note in research.get("notes", []):
            parts.append(f"  note: {note}")
        parts.append(
            f"Winner: {research['winner']} (lowest log-loss {_number(research.get('winner_log_loss'), 4)}, "
            f"information captured {_number(research.get('winner_info_captured'), 3)}, "
            f"macro-F1 {_number(research.get('winner_macro_f1'), 3)}) registered as "
            f"{research['model_id']} v{research['version']} -> {research['artifact_dir']}"
        )
        if research.get("report_html"):
            parts.append(f"Comparison report: {research['report_html']}")
        bt = research.get("backtest")
        if bt and bt.get("error"):
            parts.append(f"Held-out backtest {bt['days'][0]}..{bt['days'][1]} not run: {bt['error']}")
        elif bt:
            train = research.get("train_days") or ["?", "?"]
            parts += [
                "",
                f"Held-out backtest of {research['model_id']} v{research['version']} (trained {train[0]}..{train[1]}; "
                f"policy fitted on {', '.join(str(d) for d in bt['fit_days'])}; traded {bt['days'][0]}..{bt['days'][1]}, "
                f"{bt['execution']}, queue {bt['queue_model']}, default fees; cost-adjusted, currency)",
                backtest_text(bt),
            ]
            for note in bt.get("notes", []):
                parts.append(f"  note: {note}")
            if bt.get("report_html"):
                parts.append(f"Backtest report: {bt['report_html']}")
        promo = research.get("promotion")
        if promo and promo.get("error"):
            parts += ["", f"Promotion gate not run: {promo['error']}"]
        elif promo:
            verdict = "promoted to production" if promo["promoted"] else "kept in development (the gate says keep)"
            prev = (
                f"; v{promo['previous_production']} retired"
                if promo["promoted"] and promo["previous_production"]
                else ""
            )
            parts += [
                "",
                f"Promotion: {research['model_id']} v{research['version']} {verdict}{prev}; "
                f"production is v{promo['production_version'] or '-'}",
                gate_text(promo["decision"]),
            ]
    audit = res.get("audit") or {}
    audit_state = "not run (stage failed)" if not audit else ("clean" if audit.get("ok") else "ERRORS FOUND")
    parts += ["", f"Audit: {audit_state}"]
    parts.append(
        table(
            ("check", "checked", "errors", "warnings"),
            [(name, s["checked"], s["errors"], s["warnings"]) for name, s in sorted(audit.get("checks", {}).items())],
        )
    )
    errors = [f for f in audit.get("findings", []) if f.get("severity") == "error"]
    for f in errors[:10]:
        parts.append(f"  ERROR {f['check']} {f['symbol']} {f.get('trading_day')}: {f['detail']}")
    for note in res.get("notes", []):
        parts.append(f"Note: {note}")
    for d in ds:
        for g in d.get("main_l5_no_data_days", []):
            parts.append(f"No-data day: {d['symbol']} {g['trading_day']} ({g['reason']})")
    stages = res.get("stages_s", {})
    parts += [
        "",
        "Time: " + ", ".join(f"{k} {v:.1f}s" for k, v in stages.items()) + f"; total {res.get('duration_s', 0):.1f}s",
    ]
    if r.report_path:
        parts.append(f"Audit report: {r.report_path}")
    parts += failed_conditions_text(res)
    return "\n".join(parts)


def failed_conditions_text(res: dict[str, Any]) -> list[str]:
    """Lines naming each failed condition and each failed stage (empty when the run is ok)."""
    conditions = res.get("failed_conditions") or []
    if not conditions:
        return ["", "Result: OK"]
    lines = ["", f"Result: FAILED ({len(conditions)} conditions)"]
    lines += [f"  FAILED {c['name']} [{c['subject']}]: {c['detail']}" for c in conditions]
    completed = res.get("stages_completed") or []
    if completed:
        lines.append("  completed stages: " + ", ".join(completed))
    return lines


def cmd_run(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    bar = ProgressBar("run", out.stderr)
    try:
        r = client.run_pipeline(
            varieties=args.varieties or (),
            trading_days=args.days,
            contracts_per_variety=args.contracts,
            end_day=args.end or "",
            start_day=args.start or "",
            skip_research=args.skip_research,
            on_progress=bar,
        )
    except ApiError as exc:
        if exc.code != "INVALID_ARGUMENT":
            raise
        out.error(f"run: invalid argument: {exc.message}")
        return EXIT_USAGE
    finally:
        bar.close()
    payload = r.to_dict()
    payload["failed_conditions"] = r.result.get("failed_conditions", [])
    out.result(payload, format_pipeline(r))
    return 0 if r.ok else EXIT_FAILED


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="the main job: ingest a recent CU/AU/AG history, verify, audit, summarize",
        epilog="exit 0: the job did its work; 1: it names each failed condition; 2: a bad argument",
    )
    p.add_argument("--var", dest="varieties", action="append", help="variety (repeatable; default cu, au, ag)")
    p.add_argument("--days", type=positive_int, default=None, help="trading days of history, 1..2000 (default 12)")
    p.add_argument(
        "--contracts", type=positive_int, default=None, help="contracts per variety by open interest (default 3)"
    )
    p.add_argument("--end", help="last trading day, YYYY-MM-DD (default: the last completed one)")
    p.add_argument("--start", help="first trading day, YYYY-MM-DD (overrides --days)")
    p.add_argument("--skip-research", action="store_true", help="ingest and datasets only (no model training)")
    p.set_defaults(handler=cmd_run)


def _number(value: object, digits: int) -> str:
    """``value`` with ``digits`` decimals; "n/a" when it is missing or not a number."""
    return f"{value:.{digits}f}" if isinstance(value, (int, float)) and value == value else "n/a"
