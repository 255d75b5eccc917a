"""`ghtrader tca --run <run id>` (post-trade attribution of a trading run) and
`ghtrader tca pretrade --symbol S --qty N --side buy|sell` (expected costs and a schedule)."""

from __future__ import annotations

import argparse
import math
from typing import Any

from ghtrader.interfaces.cli.arguments import UsageError, positive_float, positive_int
from ghtrader.interfaces.cli.output import Output, table
from ghtrader.interfaces.client import GhTraderClient

COMPONENTS = ("spread", "impact", "timing", "opportunity", "shortfall")
MAX_ROWS = 50  # orders printed; the report has them all


def _n(v: float, fmt: str = ",.2f") -> str:
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, fmt)


def format_analysis(r: dict[str, Any]) -> str:
    orders = r["orders"]
    head = ["order", "side", "filled", "arrival", "exec", "slip_t", *COMPONENTS, "fees"]
    rows = [
        [o["order_id"], "buy" if o["side"] > 0 else "sell", f"{o['filled_qty']:g}/{o['order_qty']:g}",
         _n(o["arrival_price"]), _n(o["execution_price"]), _n(o["slippage_ticks"]),
         *(_n(o["cost"][c]) for c in COMPONENTS), _n(o["fees"])]
        for o in orders[:MAX_ROWS]
    ]  # fmt: skip
    t, tt = r["totals"], r["totals_ticks"]
    rows.append(["TOTAL", "", f"{r['filled_qty']:g}", "", "", _n(r["slippage_ticks_per_lot"]),
                 *(_n(t[c]) for c in COMPONENTS), _n(r["fees"])])  # fmt: skip
    parts = sum(tt[c] for c in COMPONENTS[:-1])
    m = r["impact"]
    lines = [
        f"TCA of {'backtest' if r['source'] == 'backtest' else 'run'} {r['run_id']} ({r['symbol']}, tick {r['tick']:g}, multiplier {r['multiplier']:g}): "
        f"{len(orders)} orders, costs in CNY (positive = paid)",
        table(head, rows),
    ]
    if len(orders) > MAX_ROWS:
        lines.append(f"... {len(orders) - MAX_ROWS} more orders in the report")
    lines += [
        f"spread + impact + timing + opportunity = {parts:,.4f} ticks x lots = shortfall {tt['shortfall']:,.4f}"
        f" ({'exact' if parts == tt['shortfall'] else 'MISMATCH'}); total cost with fees {r['total_cost']:,.2f} CNY",
        f"impact model: {m['kind']} eta={m['eta']:.4f} ticks/lot ({m['n_obs']} fills, source: {r['impact_source']})",
    ]
    lines += [f"note: {n}" for n in r["notes"]]
    if r["report_html"]:
        lines.append(f"report: {r['report_html']}")
        lines += [f"figure: {p}" for p in r["figure_paths"]]
    return "\n".join(lines)


def format_pretrade(r: dict[str, Any], side: str, qty: int) -> str:
    costs = [[c["schedule"], _n(c["spread"]), _n(c["impact"]), _n(c["timing"]), _n(c["total"])] for c in r["costs"]]
    m = r["impact"]
    lines = [
        f"pre-trade {side} {qty} {r['symbol']} (ticks of {', '.join(r['days'])}): half-spread "
        f"{r['half_spread_ticks']:.2f} ticks, sigma {r['sigma_ticks_per_sqrt_s']:.3f} ticks/sqrt(s), "
        f"{r['lots_per_s']:.2f} lots/s, mid {_n(r['mid'])}",
        f"impact model: {m['kind']} eta={m['eta']:.4f} ticks/lot (source: {r['impact_source']})",
        "expected costs (CNY; timing = one standard deviation):",
        table(["schedule", "spread", "impact", "timing", "total"], costs),
        f"{r['schedule']} schedule:",
        table(["t_s", "lots"], [[f"{s['t_s']:.1f}", str(s["lots"])] for s in r["slices"]]),
        "urgency-cost trade-off (IS schedule, CNY):",
        table(["urgency", "impact", "timing", "total"],
              [[f"{u['urgency']:g}", _n(u["impact"]), _n(u["timing"]), _n(u["total"])] for u in r["urgency_curve"]]),
    ]  # fmt: skip
    if r["liquidity"]:
        lines += [
            "liquidity at the touch taken (mean lots quoted):",
            table(["within_ticks", "lots", "share_of_order"],
                  [[f"{x['within_ticks']:g}", _n(x["lots"], ".1f"), _n(x["share_of_order"], ".2f")]
                   for x in r["liquidity"]]),
        ]  # fmt: skip
    return "\n".join(lines)


def cmd_tca(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    if bool(args.run) == bool(args.backtest_model):
        raise UsageError(
            "tca: give --run <run id> or --backtest-model <model id> (with --start/--end), or use `tca pretrade`"
        )
    if args.run:
        result = client.tca_analyze(args.run, no_report=args.no_report)
    else:
        if not (args.start and args.end):
            raise UsageError("tca --backtest-model needs --start and --end")
        backtest = {"model_id": args.backtest_model, "version": args.version or None, "start_day": args.start,
                    "end_day": args.end, "execution": args.execution or None, "flat_s": args.flat_s}  # fmt: skip
        result = client.tca_analyze(no_report=args.no_report, backtest=backtest)
    out.result(result, format_analysis(result))
    return 0


def cmd_pretrade(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    side = 1 if args.side == "buy" else -1
    result = client.tca_pretrade(
        args.symbol, side, args.qty, horizon_s=args.horizon_s, slices=args.slices, schedule=args.schedule,
        urgency=args.urgency, days=args.days, end_day=args.end_day or "",
    )  # fmt: skip
    out.result(result, format_pretrade(result, args.side, args.qty))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "tca",
        help="transaction cost analysis: `tca --run <id>` attributes a run's costs; `tca pretrade` estimates one",
        description="Post-trade: implementation shortfall of a trading run's orders split into spread, impact, "
        "timing and opportunity cost (docs/tca.md); prints the table and writes a report with figures into "
        "runs/trading/<run>/tca/.",
    )
    p.add_argument("--run", help="the trading run id to analyse")
    p.add_argument("--no-report", action="store_true", help="store the labels but write no report files")
    p.add_argument("--backtest-model", help="instead of --run: replay this model's backtest and attribute its fills")
    p.add_argument("--version", help="with --backtest-model: the model version (default newest)")
    p.add_argument("--start", help="with --backtest-model: first day, YYYY-MM-DD")
    p.add_argument("--end", help="with --backtest-model: last day, YYYY-MM-DD")
    p.add_argument("--execution", choices=("aggressive", "passive"), help="with --backtest-model (default aggressive)")
    p.add_argument("--flat-s", type=positive_float, default=None, help="with --backtest-model: flat before the close")
    p.set_defaults(handler=cmd_tca)
    tsub = p.add_subparsers(dest="tca_command")
    pre = tsub.add_parser("pretrade", help="expected spread, impact and timing cost of an order, and a schedule")
    pre.add_argument("--symbol", required=True, help="a contract (SHFE.cu2612) or a KQ.m@ series")
    pre.add_argument("--qty", type=positive_int, required=True, help="lots")
    pre.add_argument("--side", choices=("buy", "sell"), required=True)
    pre.add_argument("--horizon-s", type=positive_float, default=None, help="seconds to execute over (default 300)")
    pre.add_argument("--slices", type=positive_int, default=None, help="schedule slices (default 10)")
    pre.add_argument("--schedule", choices=("twap", "vwap", "is"), default="", help="the schedule printed (default is)")
    pre.add_argument("--urgency", type=float, default=None, help="IS urgency, 0 = TWAP (default 2)")
    pre.add_argument("--days", type=positive_int, default=None, help="trading days of ticks to read (default 1)")
    pre.add_argument("--end-day", default=None, help="last day read, YYYY-MM-DD (default: the last stored day)")
    pre.set_defaults(handler=cmd_pretrade)
