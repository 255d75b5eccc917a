"""``/models``: inventory with search, registry status and history, research forms."""

from __future__ import annotations

import base64
import json
from typing import Any

from nicegui import ui

from ghtrader.interfaces.client import GhTraderClient
from ghtrader.interfaces.dashboard.actions import act, submit_job
from ghtrader.interfaces.dashboard.backend import Backend, classify
from ghtrader.interfaces.dashboard.widgets import (
    confirm,
    entry_ok,
    fmt_bytes,
    fmt_ns,
    lazy_tabs,
    live,
    opt_float,
    opt_int,
    table,
)

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

    def inventory() -> None:
        search = ui.input("search").props("clearable dense").mark("model-search")

        def show(entry: Any) -> None:
            if entry_ok(entry):
                if not entry.value:
                    ui.label("no models yet: train one (Train tab) or run `make run`")
                    return
                t = table(model_rows(entry.value), COLUMNS, pagination=25).mark("models-table")
                search.bind_value_to(t, "filter")

        live(lambda: backend.read("models", "list_models", ttl=15.0), show, every=15.0)

    def reports() -> None:
        viewer = _figure_viewer(backend)
        live(lambda: backend.jobs(limit=200), lambda e: _reports(e, viewer), every=10.0)
        viewer.box.move(target_index=-1)

    lazy_tabs(
        {
            "Inventory": inventory,
            "Model cards": lambda: _cards(backend),
            "Reports": reports,
            "Registry history": lambda: _history(backend),
            "Train / benchmark / compare / backtest": lambda: _forms(backend),
        }
    )


def card_facts(card: dict[str, Any]) -> list[dict[str, Any]]:
    """The card's headline facts as (item, value) rows."""
    e = card["entry"]
    size = "missing" if card["onnx_bytes"] is None else fmt_bytes(card["onnx_bytes"])
    facts = [
        ("status", e["status"]),
        ("family", card["family"] or e["model_type"]),
        ("symbol", card["symbol"]),
        ("horizon (ticks)", card["horizon"]),
        ("window (ticks)", card["window"]),
        ("data lake", card["ticks_lake"]),
        ("training window", f"{card['train_start_day']} .. {card['train_end_day']}" if card["train_start_day"] else ""),
        ("rows (train / valid)", f"{card['train_rows']} / {card['valid_rows']}" if card["train_rows"] else ""),
        ("features", len(card["features"])),
        ("registered", fmt_ns(e["created_at_ns"])),
        ("config hash", e["config_hash"][:16]),
        ("ONNX", f"{card['onnx_path']} ({size})"),
    ]
    return [{"item": k, "value": v} for k, v in facts]


def render_card(card: dict[str, Any]) -> None:
    """One model's card: facts, metrics, calibration, status history, features, training card."""
    e = card["entry"]
    ui.label(f"{e['model_id']} v{e['version']}").classes("text-h6").mark("card-title")
    if card["meta_error"]:
        ui.label(f"training metadata unreadable: {card['meta_error']}").classes("text-negative")
    with ui.row().classes("w-full items-start"):
        with ui.column().classes("w-1/3"):
            table(card_facts(card), ("item", "value")).mark("card-facts")
        with ui.column().classes("w-1/4"):
            ui.label("metrics").classes("text-bold")
            metrics = [{"metric": k, "value": _short(v)} for k, v in e["metrics"].items()]
            table(metrics, ("metric", "value")).mark("card-metrics") if metrics else ui.label("none recorded")
        with ui.column().classes("w-1/4"):
            ui.label("calibration").classes("text-bold")
            cal = [{"field": k, "value": _short(v)} for k, v in card["calibration"].items()]
            table(cal, ("field", "value")).mark("card-calibration") if cal else ui.label("no calibrator")
    ui.label("status history").classes("text-bold")
    if card["history"]:
        rows = [{**c, "at": fmt_ns(c["at_ns"])} for c in card["history"]]
        table(rows, ("at", "from_status", "to_status", "actor", "reason")).mark("card-history")
    else:
        ui.label("never changed status")
    with ui.expansion(f"features ({len(card['features'])})"):
        ui.label(", ".join(card["features"]) or "none").classes("text-sm")
    if card["card_markdown"]:
        with ui.expansion("training card"):
            ui.markdown(card["card_markdown"])


def _short(v: Any) -> Any:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (dict, list)):
        text = json.dumps(v)
        return text if len(text) <= 80 else text[:77] + "..."
    return v


def _cards(backend: Backend) -> None:
    choice = ui.select({}, label="model (version)", with_input=True).classes("w-96").mark("card-model")
    out = ui.column().classes("w-full")

    def options(entry: Any) -> None:
        if entry is not None and entry.ok:
            choice.set_options(
                {
                    f"{m['model_id']}@{m['version']}": f"{m['model_id']} v{m['version']} ({m['status']})"
                    for m in entry.value
                }
            )

    async def load_options() -> None:
        options(await backend.read("models", "list_models", ttl=15.0))

    async def show() -> None:
        if not choice.value:
            return
        model_id, _, version = str(choice.value).rpartition("@")
        try:
            card = await backend.call("model_card", model_id, version)
        except Exception as exc:  # noqa: BLE001 - shown in place of the card
            out.clear()
            with out:
                ui.label(classify(exc)[0]).classes("text-negative")
            return
        out.clear()
        with out:
            render_card(card)

    choice.on_value_change(show)
    ui.timer(0.01, load_options, once=True)


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
