"""`ghtrader alerts list|scan|watch`: stored anomaly events, a tick scan job, the live stream."""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ghtrader.interfaces.cli.arguments import check_day_range, positive_float, positive_int, trading_day
from ghtrader.interfaces.cli.commands.data import _with_bar
from ghtrader.interfaces.cli.output import Output, table
from ghtrader.interfaces.client import GhTraderClient

_BJ = ZoneInfo("Asia/Shanghai")
_LEVELS = ("info", "warning", "critical")


def _when(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=_BJ).strftime("%Y-%m-%d %H:%M:%S")


def since_ns(text: str) -> int:
    """``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM[:SS]`` in Beijing time -> epoch ns."""
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date or time: expected YYYY-MM-DD[THH:MM]") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=_BJ)
    return int(dt.timestamp() * 1e9)


def _score(v: Any) -> str:
    return "-" if v is None else f"{v:.3g}"


def format_alerts(r: dict[str, Any]) -> str:
    if not r["events"]:
        return "no anomaly events match"
    rows = [
        (_when(e["datetime_ns"]), e["severity"], e["anomaly_type"], e["symbol"], _score(e["drift_score"]),
         e["detection_method"], json.dumps(e["details"], sort_keys=True)[:60])
        for e in r["events"]
    ]  # fmt: skip
    counts = ", ".join(f"{r['counts'].get(s.upper(), 0)} {s.upper()}" for s in reversed(_LEVELS))
    head = ("time (Beijing)", "severity", "type", "symbol", "score", "method", "details")
    return table(head, rows) + f"\n{len(r['events'])} events ({counts})"


def cmd_list(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    r = client.list_alerts(severity=args.severity or "", anomaly_type=args.type or "", symbol=args.symbol or "",
                           since_ns=args.since, limit=args.limit)  # fmt: skip
    out.result(r, format_alerts(r))
    return 0


def cmd_scan(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    if args.run:
        what, kwargs = args.run, {"run_id": args.run}
    elif args.model:
        if not (args.start and args.end):
            out.error("alerts scan --model needs --start and --end (the days to compare with the training data)")
            return 2
        check_day_range(args)
        what = args.model
        kwargs = {"model_id": args.model, "model_version": args.version or "", "start_day": args.start,
                  "end_day": args.end}  # fmt: skip
    else:
        if not (args.symbol and args.start and args.end):
            out.error("alerts scan needs --symbol, --start and --end (or --run RUN, or --model ID --start --end)")
            return 2
        check_day_range(args)
        what = args.symbol
        kwargs = {"symbol": args.symbol, "start_day": args.start, "end_day": args.end, "ticks_lake": args.lake or ""}
    r = _with_bar(f"alerts scan {what}", out, lambda bar: client.scan_anomalies(**kwargs, on_progress=bar))
    crit = r.result.get("critical", [])
    lines = [r.summary] + [f"  CRITICAL {_when(c['datetime_ns'])} {c['anomaly_type']} score {_score(c['drift_score'])}"
                           for c in crit]  # fmt: skip
    out.result(r.to_dict(), "\n".join(lines))
    return 0


def cmd_watch(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    seen = 0
    events = client.watch_alerts(
        severity=args.severity or "", symbol=args.symbol or "", after_seq=args.after_seq, poll_s=args.poll_s
    )
    for e in events:
        if out.json_mode:
            out.stdout.write(json.dumps(e, default=str) + "\n")
        else:
            out.stdout.write(f"{_when(e['datetime_ns'])} {e['severity']:<8} {e['anomaly_type']:<18} {e['symbol']} "
                             f"{_score(e['drift_score'])} {e['detection_method']}\n")  # fmt: skip
        out.stdout.flush()
        seen += 1
        if args.count and seen >= args.count:
            break
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("alerts", help="anomaly and drift events: list, scan stored ticks, watch (docs/alerts.md)")
    asub = p.add_subparsers(dest="alerts_command", metavar="{list,scan,watch}")
    asub.required = True
    ls = asub.add_parser("list", help="stored anomaly events, newest first")
    ls.add_argument("--severity", choices=_LEVELS, help="this level and worse")
    ls.add_argument("--type", help="an anomaly type (price_spike, tick_gap, depth_depletion, feature_drift ...)")
    ls.add_argument("--symbol", help="exact symbol, e.g. SHFE.cu2612 or KQ.m@SHFE.cu")
    ls.add_argument("--since", type=since_ns, help="events at or after YYYY-MM-DD[THH:MM] (Beijing time)")
    ls.add_argument("--limit", type=positive_int, help="at most this many (default 200)")
    ls.set_defaults(handler=cmd_list)
    sc = asub.add_parser(
        "scan", help="scan a symbol's stored ticks over a day range (or a trading run's journal) and store the events"
    )
    sc.add_argument(
        "--symbol",
        help="KQ.m@SHFE.cu (main_l5) or a contract such as SHFE.cu2612 (raw); comma-separated symbols "
        "(KQ.m@SHFE.cu,KQ.m@SHFE.au,KQ.m@SHFE.ag): their 1-minute return correlations (correlation_break)",
    )
    sc.add_argument("--start", type=trading_day, help="first trading day YYYY-MM-DD")
    sc.add_argument("--end", type=trading_day, help="last trading day YYYY-MM-DD")
    sc.add_argument("--run", help="a trading run id: fill-rate and rejection-burst detectors over its journal")
    sc.add_argument("--model", help="a registered model: feature / label / prediction drift against its training data")
    sc.add_argument("--version", help="the model's version (default: the newest)")
    sc.add_argument("--lake", choices=("raw", "main_l5"), help="tick lake (default: main_l5 for KQ.m@, else raw)")
    sc.set_defaults(handler=cmd_scan)
    w = asub.add_parser("watch", help="print events as they are written (Ctrl-C stops)")
    w.add_argument("--severity", choices=_LEVELS, help="this level and worse")
    w.add_argument("--symbol", help="exact symbol")
    w.add_argument("--after-seq", type=int, help="start after this stored seq (default: events written from now on)")
    w.add_argument("--poll-s", type=positive_float, help="server poll interval in seconds (default 1)")
    w.add_argument("--count", type=positive_int, help="stop after this many events")
    w.set_defaults(handler=cmd_watch)
