"""Trading commands: paper, trade (sim | live), and `trading` (runs, status, tail, operator commands)."""

from __future__ import annotations

import argparse
import json
import re
import time
from typing import Any

from ghtrader.interfaces.cli.arguments import non_negative_float, non_negative_int, positive_float, positive_int
from ghtrader.interfaces.cli.output import Output, table
from ghtrader.interfaces.client import GhTraderClient

_BEIJING_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?")
_POLL_S = 0.5
_FINAL = ("finished", "failed")


def beijing_time(text: str) -> str:
    """A Beijing wall time ``YYYY-MM-DDTHH:MM[:SS]`` (argparse type)."""
    if not _BEIJING_TIME.fullmatch(text):
        raise argparse.ArgumentTypeError(f"expected a Beijing time YYYY-MM-DDTHH:MM[:SS], got {text!r}")
    return text


def risk_limit(text: str) -> tuple[str, float]:
    """``NAME=VALUE`` (argparse type)."""
    name, sep, value = text.partition("=")
    try:
        number = float(value)
    except ValueError:
        number = None
    if not (sep and name.strip()) or number is None:
        raise argparse.ArgumentTypeError(f"expected NAME=NUMBER, got {text!r}")
    return name.strip(), number


def regime_map(text: str) -> dict[str, float]:
    """``NAME=NUMBER[,NAME=NUMBER...]`` (argparse type of --regime-scale / --regime-max-lots)."""
    out: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, number = risk_limit(part)
        out[name] = number
    if not out:
        raise argparse.ArgumentTypeError(f"expected NAME=NUMBER[,NAME=NUMBER...], got {text!r}")
    return out


def regime_lots(text: str) -> dict[str, float]:
    """``NAME=N[,NAME=N...]`` with whole numbers of lots (argparse type of --regime-max-lots)."""
    out = regime_map(text)
    bad = [f"{k}={v}" for k, v in out.items() if v != int(v)]
    if bad:
        raise argparse.ArgumentTypeError(f"lots must be whole numbers, got {', '.join(bad)}")
    return out


def _regime_maps(args: argparse.Namespace) -> tuple[dict[str, float], dict[str, int], dict[str, float]]:
    """Repeated --regime-scale / --regime-max-lots / --regime-stress-scale maps, merged."""
    scales: dict[str, float] = {}
    for m in getattr(args, "regime_scale", None) or []:
        scales.update(m)
    caps: dict[str, int] = {}
    for m in getattr(args, "regime_max_lots", None) or []:
        caps.update({k: int(v) for k, v in m.items()})
    stress: dict[str, float] = {}
    for m in getattr(args, "regime_stress_scale", None) or []:
        stress.update(m)
    return scales, caps, stress


def _regime_text(status: dict[str, Any]) -> str:
    """The regime gate's line of ``trading status``: the regime, its probability, scale and cap."""
    rg = status.get("regime")
    if not rg:
        return ""
    now, probs = rg.get("regime") or "-", rg.get("probabilities") or {}
    cap = rg.get("max_lots")
    return (
        f"\n  regime {now} (p {probs.get(now, 0.0):.2f}) of {rg.get('model_id')}: scale {rg.get('scale')}"
        + ("" if cap is None else f", cap {cap} lots")
        + f", {rg.get('changes', 0):,} changes"
    )


def _summary(status: dict[str, Any]) -> str:
    return (
        f"{status.get('run_id', '')}: {status.get('status', '')}"
        + (f" ({status['stop_reason']})" if status.get("stop_reason") else "")
        + f", {status.get('ticks', 0):,} ticks, {status.get('rolls', 0)} rolls,"
        f" on {status.get('execution_symbol', '')}, target {status.get('target', 0)},"
        f" position {status.get('position', 0)}"
    )


def _json_object(text: str) -> dict:  # type: ignore[type-arg]
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("expected a JSON object")
    return value


def _limits(args: argparse.Namespace) -> dict[str, float]:
    """``--limit NAME=VALUE`` pairs plus the stress check's own flags (risk-limit names stress_*)."""
    limits = dict(getattr(args, "limit", None) or [])
    for name in ("stress_loss_limit", "stress_n_sigma", "stress_freeze_ticks"):
        value = getattr(args, name, None)
        if value is not None:
            limits[name] = value
    return limits


def _start(client: GhTraderClient, args: argparse.Namespace, out: Output, mode: str) -> int:
    scales, caps, stress = _regime_maps(args)
    started = client.start_trading_run(
        mode, args.model, symbol=args.symbol or "", version=args.version or "", max_ticks=args.max_ticks or 0,
        monitor_only=getattr(args, "monitor_only", False), confirm_live=getattr(args, "confirm_live", "") or "",
        account=getattr(args, "account", "") or "", end_time=args.end_time or "", replay_from=args.replay_from or "",
        risk_limits=_limits(args), speedup=args.speedup,
        policy_fit_days=args.policy_fit_days, hold_rows=args.hold_rows, flat_s=args.flat_s,
        commission_bp=args.commission_bp, order_kind=getattr(args, "order_kind", "") or "",
        passive=getattr(args, "passive", False),
        online_calibration=False if args.no_online_calibration else None,
        executor=getattr(args, "executor", "") or "", venue=getattr(args, "venue", "") or "",
        sizing=getattr(args, "sizing", "") or "", max_lots=getattr(args, "max_lots", None),
        target_vol=getattr(args, "target_vol", None), risk_horizon_s=getattr(args, "risk_horizon_s", None),
        shadow_model=args.shadow_model or "", shadow_version=args.shadow_version or "",
        canary_model=args.canary_model or "", canary_version=args.canary_version or "", canary_share=args.canary_share,
        canary_seed=args.canary_seed, canary_fallback_blocks=args.canary_fallback_blocks,
        canary_fallback_margin=args.canary_fallback_margin,
        fallback_model=args.fallback_model or "", fallback_version=args.fallback_version or "",
        drift_fallback_after=args.drift_fallback_after, anomaly_config=args.anomaly_config,
        regime_model=args.regime_model or "",
        regime_scales=scales, regime_max_lots=caps, regime_stress_scales=stress,
    )  # fmt: skip
    run_id = started["run_id"]
    symbols = started["config"].get("symbols", {})
    out.progress(f"started {mode} run {run_id}: {symbols.get('requested')} -> {symbols.get('resolved')}")
    if args.detach:
        out.result(started, f"{run_id} started (ghtrader trading status {run_id})")
        return 0
    last = ""
    try:
        while True:
            status = client.trading_run_status(run_id)
            line = _summary(status)
            if line != last:
                out.progress(line)
                last = line
            if status.get("status") in _FINAL:
                break
            time.sleep(_POLL_S)
    except KeyboardInterrupt:
        client.trading_command(run_id, "stop", "Ctrl-C in the CLI")
        out.progress(f"asked {run_id} to stop")
        for _ in range(60):
            status = client.trading_run_status(run_id)
            if status.get("status") in _FINAL:
                break
            time.sleep(_POLL_S)
    status.pop("events", None)
    out.result(status, _summary(status))
    return 0 if status.get("status") == "finished" else 1


def cmd_paper(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    return _start(client, args, out, "paper")


def cmd_trade(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    if args.monitor_only and args.mode != "live":
        out.error("--monitor-only applies to --mode live")
        return 2
    return _start(client, args, out, args.mode)


def cmd_runs(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    runs = client.list_trading_runs(args.mode or "")
    rows = [(r["run_id"], r["mode"] + (" (monitor)" if r["monitor_only"] else ""), r.get("account_type", ""),
             r.get("executor", ""), r["model_id"], r["symbol"], r["status"], f"{r['ticks']:,}") for r in runs]  # fmt: skip
    head = ("run_id", "mode", "account", "executor", "model", "symbol", "status", "ticks")
    out.result({"runs": runs}, table(head, rows))
    return 0


def cmd_status(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    status = client.trading_run_status(args.run_id)
    snap = status.get("last_snapshot") or {}
    human = _summary(status)
    if snap:
        human += f"\n  equity {snap.get('equity', 0):,.0f} at {snap.get('ts', '')}"
    oc = status.get("online_calibration")
    if oc:
        ll = (oc.get("rolling_ll_cal"), oc.get("rolling_ll_raw"))
        human += f"\n  online calibrator {oc.get('mode')}, {oc.get('n_updates', 0):,} rows learned" + (
            f", log-loss {ll[0]:.4f} vs raw {ll[1]:.4f}" if None not in ll else ""
        )
        human += f" ({oc['reason']})" if oc.get("reason") else ""
    human += _risk_measures_text(status.get("risk_measures") or {})
    human += _candidates_text(status)
    human += _regime_text(status)
    out.result(status, human)
    return 0


def _candidates_text(status: dict) -> str:  # type: ignore[type-arg]
    """The shadow's agreement and both models' virtual PnL; the canary's blocks and fallback."""
    text = ""
    sh = status.get("shadow")
    if sh:
        m, pnl = sh.get("model") or {}, sh.get("virtual_pnl") or {}
        agreement = sh.get("agreement")
        text += (
            f"\n  shadow {m.get('model_id')} v{m.get('version')}: agreement "
            + ("-" if agreement is None else f"{agreement:.1%}")
            + f" over {sh.get('ticks', 0):,} ticks, {sh.get('disagreements', 0):,} disagreements; virtual PnL"
            f" production {pnl.get('production', {}).get('pnl', 0):,.0f} vs shadow {pnl.get('shadow', {}).get('pnl', 0):,.0f}"
        )
    ca = status.get("canary")
    if ca:
        m, blocks, pnl = ca.get("model") or {}, ca.get("blocks") or {}, ca.get("executed_pnl") or {}
        text += (
            f"\n  canary {m.get('model_id')} v{m.get('version')} (share {ca.get('share')}):"
            f" {blocks.get('candidate', 0):,} of {sum(blocks.values()):,} blocks, executed PnL"
            f" candidate {pnl.get('candidate', 0):,.0f} / production {pnl.get('production', 0):,.0f}"
        )
        if ca.get("fallen_back"):
            text += f"; fell back: {(ca.get('fallback') or {}).get('reason', '')}"
    dr = status.get("drift")
    if dr and (dr.get("recalibrations") or dr.get("fallback_model")):
        text += f"\n  drift: {dr.get('recalibrations', 0)} recalibrations, deciding {dr.get('deciding')}"
        if dr.get("fallback"):
            text += f" ({(dr['fallback'].get('model') or {}).get('model_id')}: {dr['fallback'].get('reason', '')})"
    return text


def _risk_measures_text(rm: dict) -> str:  # type: ignore[type-arg]
    """VaR / CVaR lines of ``trading status`` (historical and Student-t, 95 % and 99 %)."""
    lines = ""
    for horizon in ("intraday", "daily"):
        block = rm.get(horizon) or {}
        if "95" not in block:
            continue
        cells = []
        for alpha in ("95", "99"):
            for method in ("historical", "student_t"):
                m = block.get(alpha, {}).get(method)
                if m:
                    cells.append(f"{method} {alpha}% VaR {m['var']:,.0f} / CVaR {m['cvar']:,.0f}")
        lines += f"\n  {horizon} risk ({block['n']:,} changes, CNY): " + "; ".join(cells)
    return lines


def cmd_tail(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    events = client.tail_trading_events(args.run_id, limit=args.limit, kind=args.kind or "")
    lines = []
    for e in events:
        rest = {k: v for k, v in e.items() if k not in ("kind", "ts", "time_ns", "snapshot", "policy")}
        lines.append(f"{e.get('ts', '')}  {e.get('kind', ''):<18} {rest}")
    out.result({"events": events}, "\n".join(lines) or "no events")
    return 0


def _command(name: str):  # type: ignore[no-untyped-def]
    def handler(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
        r = client.trading_command(args.run_id, name, args.reason or "")
        note = "" if r["running"] else " (the run is not running in this server: nothing will read it)"
        out.result(r, f"{name} queued for {args.run_id}{note}")
        return 0

    return handler


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="registry model id (see `ghtrader models`)")
    p.add_argument("--version", help="model version (default: the newest)")
    p.add_argument(
        "--symbol", help="KQ.m@SHFE.cu (traded through the schedule's contract) or a contract (default: the model's)"
    )
    p.add_argument("--max-ticks", type=non_negative_int, help="stop after this many decisions (default: no limit)")
    p.add_argument("--end-time", type=beijing_time, help="stop at this Beijing time YYYY-MM-DDTHH:MM[:SS]")
    p.add_argument("--replay-from", type=beijing_time,
                   help="synthetic provider: start the market clock at this Beijing time (default: now)")  # fmt: skip
    p.add_argument("--speedup", type=positive_float, help="synthetic provider: market seconds per wall second")
    p.add_argument(
        "--policy-fit-days", type=positive_int, help="trading days before the start to fit the policy on (1)"
    )
    p.add_argument("--hold-rows", type=positive_int, help="ticks an entry is held (default: the model's horizon)")
    p.add_argument("--flat-s", type=non_negative_float, help="seconds before the day's close the target is flat (5)")
    p.add_argument("--commission-bp", type=non_negative_float, help="the policy's commission in bp (1)")
    p.add_argument("--no-online-calibration", action="store_true",
                   help="serve the raw model to the policy (no online calibrator), as the backtest does")  # fmt: skip
    p.add_argument("--detach", action="store_true", help="return once the run started (default: follow it to the end)")
    p.add_argument("--shadow-model", help="a model decided beside production on the same ticks, never executed")
    p.add_argument("--shadow-version", help="the shadow model's version (default: its version in status shadow)")
    p.add_argument("--canary-model",
                   help="paper/sim: a candidate that takes a share of the decision blocks (refused in live)")  # fmt: skip
    p.add_argument("--canary-version", help="the candidate's version (default: its version in shadow, else staging)")
    p.add_argument("--canary-share", type=positive_float, help="share of decision blocks to the candidate (0.1)")
    p.add_argument("--canary-seed", type=non_negative_int, help="seed of the blocks' draws (0)")
    p.add_argument("--canary-fallback-blocks", type=non_negative_int,
                   help="closed blocks compared before falling back to production (30; 0: never)")  # fmt: skip
    p.add_argument("--canary-fallback-margin", type=non_negative_float,
                   help="CNY per block the candidate may trail production before the fallback (0)")  # fmt: skip
    p.add_argument("--fallback-model", help="a simpler model that decides once drift persists (docs/alerts.md)")
    p.add_argument("--fallback-version", help="the fallback model's version (default: its newest)")
    p.add_argument("--drift-fallback-after", type=non_negative_int,
                   help="drift windows in a row before the fallback model takes over (3; 0: never)")  # fmt: skip
    p.add_argument("--anomaly-config", type=_json_object, metavar="JSON",
                   help='this run\'s anomaly thresholds over the server\'s, e.g. \'{"spread_widening": {"critical": 2}}\'')  # fmt: skip
    p.add_argument("--regime-model", help="a regime model id (`ghtrader regime show`) scaling the target by regime")
    p.add_argument("--regime-scale", type=regime_map, action="append", metavar="NAME=X[,NAME=X]",
                   help="size factor per regime, e.g. hmm_0=1,hmm_2=0 (unlisted: 1; repeatable)")  # fmt: skip
    p.add_argument("--regime-max-lots", type=regime_lots, action="append", metavar="NAME=N[,NAME=N]",
                   help="cap on the target's lots per regime, e.g. hmm_2=1 (repeatable)")  # fmt: skip


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("paper", help="paper trading: targets, snapshots and events from a model, never an order")
    _add_run_options(p)
    p.set_defaults(handler=cmd_paper)

    p = sub.add_parser("trade", help="trade a model: sim (simulated account) or live (gated)")
    p.add_argument("--mode", choices=("sim", "live"), required=True)
    _add_run_options(p)
    p.add_argument("--monitor-only", action="store_true", help="live: record the account, never send an order")
    p.add_argument("--confirm-live", help="live order routing needs I_UNDERSTAND (and GHTRADER_LIVE_ENABLED=true)")
    p.add_argument("--account", help="broker profile (default: the default profile)")
    p.add_argument("--limit", type=risk_limit, action="append", metavar="NAME=VALUE", help="a risk limit (repeatable)")
    p.add_argument("--order-kind", choices=("limit", "fak", "fok"), help="order type (default fak)")
    p.add_argument("--passive", action="store_true", help="price at the own best instead of the opposite best")
    p.add_argument("--executor", choices=("direct", "target"),
                   help="direct: orders per target change (default); target: a target-position task")  # fmt: skip
    p.add_argument("--venue", choices=("local", "tqsim", "tqkq"),
                   help="sim: local simulated account (default), TqSdk's TqSim, or TqKq via the trading gateway")  # fmt: skip
    p.add_argument("--sizing", choices=("fixed", "half-kelly", "vol-target"), help="lots per signal (default fixed)")
    p.add_argument("--max-lots", type=positive_int, help="the sizer's cap in lots (default 1; risk limits still bind)")
    p.add_argument("--target-vol", type=positive_float, help="vol-target: PnL std over the risk horizon (CNY)")
    p.add_argument("--risk-horizon-s", type=positive_float,
                   help="seconds of the price sigma for vol-target and the stress check (default 3600)")  # fmt: skip
    p.add_argument("--stress-loss-limit", type=positive_float,
                   help="turn the pre-trade stress check on: worst scenario loss allowed after an order (CNY)")  # fmt: skip
    p.add_argument("--stress-n-sigma", type=non_negative_float, help="stress move in sigmas (default 3)")
    p.add_argument("--stress-freeze-ticks", type=non_negative_float,
                   help="liquidity freeze: exit cost per further lot in ticks (default 1)")  # fmt: skip
    p.add_argument("--regime-stress-scale", type=regime_map, action="append", metavar="NAME=X[,NAME=X]",
                   help="with --regime-model and --stress-loss-limit: factor on the stress sigma per regime, e.g. hmm_2=2")  # fmt: skip
    p.set_defaults(handler=cmd_trade)

    trading = sub.add_parser("trading", help="trading runs: list, status, tail and operator commands")
    tsub = trading.add_subparsers(dest="trading_command", metavar="TRADING_COMMAND")
    tsub.required = True
    p = tsub.add_parser("runs", help="every trading run")
    p.add_argument("--mode", choices=("paper", "sim", "live"))
    p.set_defaults(handler=cmd_runs)
    p = tsub.add_parser("status", help="a run's state (status, last snapshot, last events)")
    p.add_argument("run_id")
    p.set_defaults(handler=cmd_status)
    p = tsub.add_parser("tail", help="a run's last events")
    p.add_argument("run_id")
    p.add_argument("--limit", type=positive_int, help="events (default 50)")
    p.add_argument("--kind", help="only this event kind, e.g. roll, target_change, trade_fill")
    p.set_defaults(handler=cmd_tail)
    for name, command, text in (
        ("cancel-all", "cancel_all", "cancel every working order"),
        ("flatten", "flatten", "cancel, close the position and allow only reducing orders"),
        ("halt", "halt", "no new orders; working ones are cancelled"),
        ("resume", "resume", "trade again after a halt or flatten"),
        ("reset-kill", "reset_kill", "unlatch the kill switch (a person's decision)"),
        ("stop", "stop", "end the run"),
        ("resume-model", "resume_model", "decisions back to production after a drift fallback"),
    ):
        p = tsub.add_parser(name, help=text)
        p.add_argument("run_id")
        p.add_argument("--reason", help="recorded with the command")
        p.set_defaults(handler=_command(command))
