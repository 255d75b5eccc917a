"""``/models``: inventory with search, registry status and history, research forms."""

from __future__ import annotations

import base64
import json
from typing import Any

from nicegui import ui

from ghtrader.interfaces.client import GhTraderClient
from ghtrader.interfaces.dashboard.actions import act, submit_job
from ghtrader.interfaces.dashboard.backend import Backend
from ghtrader.interfaces.dashboard.widgets import confirm, entry_ok, fmt_ns, live, opt_float, opt_int, table

FAMILIES = ("logistic", "lightgbm", "xgboost", "mlp", "tcn", "lstm", "transformer")
COLUMNS = ("model_id", "version", "model_type", "status", "created", "metrics")


def model_rows(models: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            **m,
            "created": fmt_ns(m["created_at_ns"]),
            "metrics": ", ".join(
                f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in list(m["metrics"].items())[:4]
            ),
        }
        for m in models
    ]


def render(backend: Backend) -> None:
    ui.label("Models").classes("text-h5")
    with ui.tabs() as tabs:
        t_inv = ui.tab("Inventory")
        t_reports = ui.tab("Reports")
        t_hist = ui.tab("Registry history")
        t_forms = ui.tab("Train / benchmark / compare / backtest")
    with ui.tab_panels(tabs, value=t_inv).classes("w-full"):
        with ui.tab_panel(t_inv):
            search = ui.input("search").props("clearable dense").mark("model-search")

            def show(entry: Any) -> None:
                if entry_ok(entry):
                    if not entry.value:
                        ui.label("no models yet: train one (Train tab) or run `make run`")
                        return
                    t = table(model_rows(entry.value), COLUMNS, pagination=25).mark("models-table")
                    search.bind_value_to(t, "filter")

            live(lambda: backend.read("models", "list_models", ttl=15.0), show, every=15.0)
        with ui.tab_panel(t_reports):
            viewer = _figure_viewer(backend)
            live(lambda: backend.jobs(limit=200), lambda e: _reports(e, viewer), every=10.0)
            viewer.box.move(target_index=-1)
        with ui.tab_panel(t_hist):
            _history(backend)
        with ui.tab_panel(t_forms):
            _forms(backend)


RESEARCH_COMMANDS = ("Train", "Benchmark", "Compare", "Backtest", "Sweep", "DailyTrain", "Explain")


class _FigureViewer:
    """A report path and its figures, fetched from the server (ReportService) on request."""

    def __init__(self, backend: Backend) -> None:
        self.box = ui.column().classes("w-full")
        with self.box:
            with ui.row().classes("items-end w-full"):
                self.path = ui.input("report path (click a row above)").classes("w-2/3").mark("report-path")
                ui.button("Show figures", on_click=self.show).mark("show-figures")
            self.out = ui.row().classes("w-full").mark("report-figures")
        self._backend = backend

    def pick(self, path: str) -> None:
        self.path.value = path

    async def show(self) -> None:
        path = (self.path.value or "").strip()
        if not path:
            ui.notify("pick a report first", type="warning")
            return
        figures = await act(self._backend, "figures", "report_figures", path)
        self.out.clear()
        with self.out:
            if not figures:
                ui.label("this report has no figures").classes("text-grey")
            for name, png in figures or []:
                with ui.card().classes("w-[32rem]"):
                    ui.label(name).classes("text-subtitle2")
                    ui.image("data:image/png;base64," + base64.b64encode(png).decode()).classes("w-full")


def _figure_viewer(backend: Backend) -> _FigureViewer:
    return _FigureViewer(backend)


def _report_paths(node: Any) -> list[str]:
    """Report paths a job's result names (``html_path`` / ``report_html`` at any depth: the main
    job's compare and backtest reports)."""
    if isinstance(node, list):
        return [p for item in node for p in _report_paths(item)]
    if not isinstance(node, dict):
        return []
    found = [str(v) for k, v in node.items() if k in ("html_path", "report_html") and isinstance(v, str) and v]
    return found + [p for v in node.values() for p in _report_paths(v)]


def report_rows(jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per report of each finished research job or main job (``make run``)."""
    rows = []
    for j in jobs:
        if j["command"] not in (*RESEARCH_COMMANDS, "RunPipeline") or j["state"] in ("queued", "running"):
            continue
        try:
            result = json.loads(j.get("result_json") or "{}")
        except ValueError:
            result = {}
        paths = dict.fromkeys(p for p in [j.get("report_path") or "", *_report_paths(result)] if p)
        for path in paths or [""]:
            rows.append({**j, "ended": fmt_ns(j["end_ns"]), "report_path": path, "row": f"{j['id']}:{path}"})
    return rows


def _reports(entry: Any, viewer: _FigureViewer | None = None) -> None:
    """The research jobs' results: summary and the report files each wrote on the server."""
    if not entry_ok(entry):
        return
    rows = report_rows(entry.value)
    if not rows:
        ui.label("no research job has finished yet")
        return
    columns = ("id", "command", "state", "ended", "summary", "report_path")
    t = table(rows, columns, row_key="row", pagination=20).mark("reports-table")
    if viewer is not None:
        t.on("rowClick", lambda e: viewer.pick(str(e.args[1].get("report_path") or "")))


def _history(backend: Backend) -> None:
    with ui.row().classes("items-end"):
        model_id = ui.input("model id").mark("history-model")
        version = ui.input("version (promote) / to version (rollback)")
        reason = ui.input("reason")
    out = ui.column().classes("w-full")

    async def load() -> None:
        changes = await act(backend, "history", "model_history", model_id.value)
        out.clear()
        with out:
            if changes is not None:
                rows = [{**c, "at": fmt_ns(c["at_ns"]), "decision": c["decision"].get("decision", "")} for c in changes]
                table(rows, ("at", "version", "from_status", "to_status", "actor", "reason", "decision"))

    async def promote() -> None:
        r = await act(
            backend, "promote", "promote_model", model_id.value, version.value, reason=reason.value, actor="dashboard"
        )
        if r is not None:
            out.clear()
            with out:
                ui.label(f"promoted: {r['promoted']} - {r['decision']['summary']}")
                table(r["decision"]["checks"], ("name", "value", "incumbent", "threshold", "passed", "reason"))
        backend.cache.invalidate("models")

    async def rollback() -> None:
        await act(
            backend, "rollback", "rollback_model", model_id.value, version.value, reason=reason.value, actor="dashboard"
        )
        backend.cache.invalidate("models")

    with ui.row():
        ui.button("History", on_click=load)
        ui.button(
            "Promote",
            on_click=lambda: confirm(
                "Promote?", "Runs the promotion gate; production changes only if it passes.", promote
            ),
        )
        ui.button(
            "Rollback",
            on_click=lambda: confirm("Roll back?", "Makes the given version production again.", rollback),
        ).props("color=negative outline")


def _scope_inputs() -> dict[str, Any]:
    with ui.row().classes("items-end"):
        fields = {
            "symbol": ui.input("symbol", value="KQ.m@SHFE.cu"),
            "start_day": ui.input("start day (YYYY-MM-DD)"),
            "end_day": ui.input("end day"),
            "horizon": ui.number("horizon", precision=0),
            "max_epochs": ui.number("epochs", precision=0),
        }
    return fields


def _scope(f: dict[str, Any]) -> Any:
    return GhTraderClient.scope(
        symbol=f["symbol"].value or "",
        start_day=f["start_day"].value or "",
        end_day=f["end_day"].value or "",
        horizon=opt_int(f["horizon"].value),
        max_epochs=opt_int(f["max_epochs"].value),
    )


def _forms(backend: Backend) -> None:
    ui.label("Scope").classes("text-bold")
    scope = _scope_inputs()
    with ui.card().classes("w-full"):
        ui.label("Train / benchmark").classes("text-bold")
        with ui.row().classes("items-end"):
            family = ui.select(list(FAMILIES), value="logistic", label="family").classes("w-40")
            model_id = ui.input("model id (optional)")
            splits = ui.number("splits", precision=0)
            ui.button(
                "Train",
                on_click=lambda: submit_job(
                    backend,
                    f"train {family.value}",
                    "train",
                    family.value,
                    _scope(scope),
                    model_id=model_id.value or "",
                ),
            )
            ui.button(
                "Benchmark",
                on_click=lambda: submit_job(
                    backend,
                    f"benchmark {family.value}",
                    "benchmark",
                    family.value,
                    _scope(scope),
                    n_splits=opt_int(splits.value),
                ),
            )
    with ui.card().classes("w-full"):
        ui.label("Compare").classes("text-bold")
        with ui.row().classes("items-end"):
            families = ui.select(
                list(FAMILIES), value=["logistic", "lightgbm"], multiple=True, label="families"
            ).classes("w-80")
            ui.button(
                "Compare",
                on_click=lambda: submit_job(backend, "compare", "compare", list(families.value), _scope(scope)),
            )
    with ui.card().classes("w-full"):
        ui.label("Backtest (micro-sim)").classes("text-bold")
        with ui.row().classes("items-end"):
            bt_model = ui.input("model id")
            bt_version = ui.input("version (default production)")
            bt_start = ui.input("start day")
            bt_end = ui.input("end day")
            commission = ui.number("commission bp")
            ui.button(
                "Backtest",
                on_click=lambda: submit_job(
                    backend,
                    f"backtest {bt_model.value}",
                    "backtest",
                    bt_model.value,
                    start_day=bt_start.value,
                    end_day=bt_end.value,
                    version=bt_version.value or "",
                    commission_bp=opt_float(commission.value),
                ),
            )
    with ui.card().classes("w-full"):
        ui.label("Sweep").classes("text-bold")
        with ui.row().classes("items-end"):
            sw_family = ui.select(list(FAMILIES), value="lightgbm", label="family").classes("w-40")
            grid = ui.input("grid (JSON: name -> values)", value='{"learning_rate": ["0.05", "0.1"]}').classes("w-96")
            ui.button(
                "Sweep",
                on_click=lambda: submit_job(
                    backend,
                    f"sweep {sw_family.value}",
                    "sweep",
                    sw_family.value,
                    _scope(scope),
                    json.loads(grid.value or "{}"),
                ),
            )
    with ui.card().classes("w-full"):
        ui.label("Daily train (refresh, build, train, gate)").classes("text-bold")
        with ui.row().classes("items-end"):
            dt_family = ui.select(["", *FAMILIES], value="", label="family").classes("w-40")
            ui.button(
                "Daily train",
                on_click=lambda: submit_job(
                    backend, "daily-train", "daily_train", _scope(scope), family=dt_family.value or ""
                ),
            )
