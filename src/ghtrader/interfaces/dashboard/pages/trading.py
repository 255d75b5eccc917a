"""``/trading``: runs, a run's live state and events, operator commands, the start form."""

from __future__ import annotations

import json
import time
from typing import Any

from nicegui import ui

from ghtrader.interfaces.dashboard.actions import act
from ghtrader.interfaces.dashboard.backend import Backend, classify
from ghtrader.interfaces.dashboard.widgets import confirm, entry_ok, fmt_ns, lazy_tabs, live, opt_float, table

EQUITY_EVERY_S = 30.0  # how often an open run's equity curve is re-read
RUN_COLUMNS = ("run_id", "mode", "status", "model_id", "symbol", "ticks", "executor", "monitor_only")
COMMANDS = (
    ("cancel_all", "Cancel all orders"),
    ("flatten", "Flatten positions"),
    ("halt", "Halt"),
    ("resume", "Resume"),
    ("reset_kill", "Reset kill switch"),
    ("stop", "Stop run"),
)


def live_warnings(mode: str, monitor_only: bool, confirm_live: str) -> list[str]:
    """What the start form says before a live run (the server enforces the same rules)."""
    if mode != "live":
        return []
    if monitor_only:
        return ["Live monitor-only: logs in with broker credentials, records snapshots, never sends an order."]
    warnings = ["LIVE ORDER ROUTING: real orders on a real account."]
    if confirm_live != "I_UNDERSTAND":
        warnings.append('Type I_UNDERSTAND in "confirm live" or the server refuses the run.')
    return warnings


def render(backend: Backend) -> None:
    ui.label("Trading").classes("text-h5")
    selected: dict[str, str] = {}

    def runs() -> None:
        detail = ui.column().classes("w-full")
        chart = ui.column().classes("w-full")
        drawn: dict[str, Any] = {}  # the run and snapshot count the chart shows

        def show(entry: Any) -> None:
            if entry_ok(entry):
                if not entry.value:
                    ui.label("no trading runs yet")
                    return
                t = table(entry.value, RUN_COLUMNS, pagination=10).mark("runs-table")
                t.on("rowClick", lambda e: pick(str(e.args[1]["run_id"])))

        live(lambda: backend.read("runs", "list_trading_runs", ttl=5.0), show, every=5.0)

        async def refresh_detail() -> None:
            run_id = selected.get("run_id")
            if not run_id or detail.is_deleted:
                return
            try:
                state = await backend.call("trading_run_status", run_id)
                events = await backend.call("tail_trading_events", run_id, limit=50)
                # The curve reads the run's whole snapshot file on the server: at most every
                # EQUITY_EVERY_S seconds, and at once for a newly picked run.
                fresh = drawn.get("run") == run_id and time.monotonic() - drawn.get("at", 0.0) < EQUITY_EVERY_S
                curve = None if fresh else await backend.call("trading_run_equity", run_id)
            except Exception as exc:  # noqa: BLE001 - shown in the panel
                detail.clear()
                with detail:
                    ui.label(classify(exc)[0]).classes("text-negative")
                return
            _render_run(backend, detail, run_id, state, events)
            if curve is None:
                return
            drawn.update(run=run_id, at=time.monotonic())
            if drawn.get("key") != (run_id, curve["snapshots"]):  # redraw only when new snapshots arrived
                drawn["key"] = (run_id, curve["snapshots"])
                chart.clear()
                with chart:
                    equity_chart(curve)

        def pick(run_id: str) -> None:
            selected["run_id"] = run_id
            ui.timer(0.01, refresh_detail, once=True)

        ui.timer(3.0, refresh_detail)

    lazy_tabs({"Runs": runs, "Start a run": lambda: _start_form(backend)})


def equity_chart(curve: dict[str, Any]) -> None:
    """Equity and PnL of a run over market time (the server keeps each bucket's low and high)."""
    if not curve["time_ns"]:
        ui.label("no account snapshots yet").classes("text-grey").mark("equity-empty")
        return
    times = [fmt_ns(t) for t in curve["time_ns"]]
    shown = len(curve["time_ns"])
    ui.label(
        f"equity: {shown} of {curve['snapshots']} snapshots shown; max drawdown {curve['max_drawdown']:,.2f}"
    ).classes("text-sm").mark("equity-summary")
    ui.echart(
        {
            "tooltip": {"trigger": "axis"},
            "legend": {},
            "xAxis": {"type": "category", "data": times},
            "yAxis": [{"type": "value", "name": "equity", "scale": True}, {"type": "value", "name": "PnL"}],
            "dataZoom": [{"type": "inside"}, {"type": "slider"}],
            "series": [
                {"name": "equity", "type": "line", "showSymbol": False, "data": curve["equity"]},
                {"name": "PnL", "type": "line", "showSymbol": False, "yAxisIndex": 1, "data": curve["pnl"]},
            ],
        }
    ).classes("w-full h-72").mark("equity-chart")


def _render_run(backend: Backend, box: ui.column, run_id: str, state: dict[str, Any], events: list[Any]) -> None:
    box.clear()
    with box:
        ui.label(f"Run {run_id} ({'alive' if state.get('alive') else 'not running'})").classes("text-h6")
        with ui.row():
            for command, label in COMMANDS:

                async def send(c: str = command) -> None:
                    await act(backend, f"{c} {run_id}", "trading_command", run_id, c, reason="dashboard operator")

                ui.button(
                    label,
                    on_click=lambda c=command, lab=label, s=send: confirm(
                        f"{lab} on {run_id}?", "Sent to the running loop.", s
                    ),
                ).props("outline dense")
        scalars = {k: v for k, v in state.items() if isinstance(v, (int, float, str, bool)) and k != "config"}
        table([{"field": k, "value": v} for k, v in scalars.items()], ("field", "value"))
        for key in ("positions", "risk", "orders", "signals"):
            if key in state:
                with ui.expansion(key):
                    ui.code(json.dumps(state[key], indent=2, default=str), language="json")
        ui.label("Recent events").classes("text-bold")
        ui.code("\n".join(json.dumps(e, default=str) for e in events[-50:]) or "(none)").classes("w-full text-xs")


def _start_form(backend: Backend) -> None:
    with ui.row().classes("items-end"):
        mode = ui.select(["paper", "sim", "live"], value="paper", label="mode").classes("w-32").mark("mode")
        executor = ui.select(["direct", "target"], value="direct", label="executor").classes("w-32")
        model_id = ui.input("model id")
        symbol = ui.input("symbol (empty: the model's)")
        monitor_only = ui.checkbox("monitor only (live)")
        confirm_live = ui.input("confirm live")
    with ui.row().classes("items-end"):
        max_position = ui.number("risk: max_position (lots)")
        max_daily_loss = ui.number("risk: max_daily_loss (CNY)")
        speedup = ui.number("speedup (paper replay)")
    warnings = ui.column()

    def update_warnings() -> None:
        warnings.clear()
        with warnings:
            for w in live_warnings(mode.value, bool(monitor_only.value), confirm_live.value or ""):
                ui.label(w).classes("text-negative text-bold").mark("live-warning")

    for element in (mode, monitor_only, confirm_live):
        element.on_value_change(update_warnings)

    async def start() -> None:
        limits = {
            k: float(v)
            for k, v in (("max_position", max_position.value), ("max_daily_loss", max_daily_loss.value))
            if v not in (None, "")
        }
        r = await act(
            backend,
            "start run",
            "start_trading_run",
            mode.value,
            model_id.value,
            symbol=symbol.value or "",
            executor=executor.value,
            monitor_only=bool(monitor_only.value),
            confirm_live=confirm_live.value or "",
            risk_limits=limits,
            speedup=opt_float(speedup.value),
        )
        if r is not None:
            ui.notify(f"run {r['run_id']} started", type="positive")
            backend.cache.invalidate("runs")

    ui.button(
        "Start", on_click=lambda: confirm(f"Start a {mode.value} run?", "The server starts the trading loop.", start)
    ).mark("start-run")
