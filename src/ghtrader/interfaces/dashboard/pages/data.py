"""``/data``: contract coverage of a variety (from the index only), the data workflow, a
coverage chart."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from ghtrader.interfaces.dashboard.actions import submit_job
from ghtrader.interfaces.dashboard.backend import Backend
from ghtrader.interfaces.dashboard.pages.ops import stage_blockers
from ghtrader.interfaces.dashboard.widgets import entry_ok, lazy_tabs, live, table

VARIETIES = {"SHFE.cu": "cu", "SHFE.au": "au", "SHFE.ag": "ag"}  # variety key -> label
COLUMNS = (
    "symbol",
    "status",
    "first_present_day",
    "last_present_day",
    "expected_days",
    "present_days",
    "missing_days",
    "no_data_days",
)


def preconditions(status: Any, contracts: Any) -> dict[str, str]:
    """Step name -> why it is disabled now ("" when it may run)."""
    store = ""
    if status is None or not status.ok:
        store = "server not reachable"
    elif not status.value.store_reachable:
        store = "store not reachable"
    indexed = contracts is not None and contracts.ok and any(c.status != "unindexed" for c in contracts.value.contracts)
    need_index = store or ("" if indexed else "no indexed contract yet: run Bootstrap or Update first")
    return {
        "bootstrap": store,
        "verify": need_index,
        "fill": need_index,
        "update": store,
        "l5": need_index,
    }


def coverage_chart(contracts: list[Any]) -> None:
    """Present / missing / no-data days per contract, stacked."""
    names = [c.symbol for c in contracts]
    series = [
        {
            "name": "present",
            "type": "bar",
            "stack": "d",
            "data": [c.present_days for c in contracts],
            "color": "#4caf50",
        },
        {
            "name": "missing",
            "type": "bar",
            "stack": "d",
            "data": [c.missing_days for c in contracts],
            "color": "#f44336",
        },
        {
            "name": "no data",
            "type": "bar",
            "stack": "d",
            "data": [c.no_data_days for c in contracts],
            "color": "#9e9e9e",
        },
    ]
    ui.echart(
        {
            "tooltip": {"trigger": "axis"},
            "legend": {},
            "xAxis": {"type": "category", "data": names, "axisLabel": {"rotate": 60}},
            "yAxis": {"type": "value", "name": "trading days"},
            "series": series,
        }
    ).classes("w-full h-80")


def heatmap_sql(variety: str) -> str:
    """Stored raw ticks per contract and trading day, read from the day index (never the ticks)."""
    if not all(ch.isalnum() or ch == "." for ch in variety):
        raise ValueError(f"bad variety {variety!r}")
    return (
        "SELECT symbol, CAST(trading_day AS text) AS day, rows_total FROM ghtrader_symbol_day_index_v2 "
        f"WHERE ticks_lake = 'raw' AND symbol LIKE '{variety}%' ORDER BY symbol, trading_day"
    )


def coverage_heatmap(result: dict[str, Any]) -> None:
    """Contract x trading day, coloured by the ticks stored that day (blank: none)."""
    names = [c["name"] for c in result["columns"]]
    if names != ["symbol", "day", "rows_total"]:
        ui.label(f"unexpected columns {names}").classes("text-negative")
        return
    rows = result["rows"]
    if not rows:
        ui.label("no indexed days yet")
        return
    symbols = sorted({r[0] for r in rows})
    days = sorted({r[1] for r in rows})
    y_of = {s: i for i, s in enumerate(symbols)}
    x_of = {d: i for i, d in enumerate(days)}
    cells = [[x_of[d], y_of[sym], int(n)] for sym, d, n in rows]
    if result.get("truncated"):
        ui.label(f"showing the first {len(rows)} contract-days ({result['truncated_by']})").classes("text-xs")
    ui.echart(
        {
            "tooltip": {"position": "top"},
            "grid": {"left": 110, "bottom": 130},
            "xAxis": {"type": "category", "data": days, "axisLabel": {"rotate": 60}},
            "yAxis": {"type": "category", "data": symbols},
            "visualMap": {
                "min": 0,
                "max": max(c[2] for c in cells),
                "calculable": True,
                "orient": "horizontal",
                "left": "center",
                "bottom": 0,
            },
            "series": [{"name": "ticks", "type": "heatmap", "data": cells}],
        }
    ).classes("w-full coverage-heatmap").style(f"height: {max(300, 22 * len(symbols) + 150)}px")


def render(backend: Backend) -> None:
    ui.label("Data").classes("text-h5")
    with ui.row().classes("items-center"):
        variety = ui.toggle(VARIETIES, value="SHFE.cu").mark("variety")
        # Outside the refreshed section, so a refresh keeps what the user typed.
        search = ui.input("filter contracts").props("clearable dense").mark("contract-filter")
    # The section below is rebuilt on every refresh; the tab the user picked must survive it.
    picked = {"tab": "Contracts"}

    async def load() -> tuple[Any, Any, Any]:
        v = variety.value
        contracts = await backend.read(f"contracts:{v}", "contract_status", v, ttl=60.0)
        readiness = await backend.read("readiness", "pipeline_readiness", list(VARIETIES), ttl=10.0)
        return await backend.status(), contracts, readiness

    def show(loaded: tuple[Any, Any, Any]) -> None:
        status, contracts, readiness = loaded
        v = variety.value
        why = preconditions(status, contracts)
        stages = stage_blockers(status, readiness).get(v, {})
        why["schedule"] = why["l5"] or stages.get("main-schedule", "")
        why["l5"] = why["l5"] or stages.get("main-l5", "")
        _stepper(backend, v, why)
        if not entry_ok(contracts):
            return
        view = contracts.value
        ui.label(", ".join(f"{k}: {n}" for k, n in sorted(view.counts.items())) or "no contracts").mark("counts")
        # The charts (and the heatmap's read) wait until their tab is looked at.

        def contracts_tab() -> None:
            rows = [{c: getattr(x, c) for c in COLUMNS} for x in view.contracts]
            t = table(rows, COLUMNS, pagination=25).mark("contracts-table")
            search.bind_value_to(t, "filter")

        def heatmap_tab() -> None:
            def heat(entry: Any) -> None:
                if entry_ok(entry):
                    coverage_heatmap(entry.value)

            live(
                lambda: backend.read(f"heatmap:{v}", "run_query", heatmap_sql(v), max_rows=100_000, ttl=120.0),
                heat,
                every=0,
            )

        lazy_tabs(
            {
                "Contracts": contracts_tab,
                "Coverage": lambda: coverage_chart(list(view.contracts)),
                "Heatmap": heatmap_tab,
            },
            picked,
        )

    box = live(load, show, every=15.0)

    async def reload() -> None:
        value = await load()
        box.clear()
        with box:
            show(value)

    variety.on_value_change(reload)


def _step(title: str, what: str, why_disabled: str, on_click: Any) -> None:
    with ui.card().classes("w-56"):
        ui.label(title).classes("text-bold")
        ui.label(what).classes("text-xs")
        button = ui.button("Run", on_click=on_click).props("dense")
        if why_disabled:
            button.disable()
            ui.label(why_disabled).classes("text-xs text-negative")


def _stepper(backend: Backend, v: str, why: dict[str, str]) -> None:
    def refresh() -> None:
        backend.cache.invalidate(f"contracts:{v}")
        backend.cache.invalidate(f"heatmap:{v}")
        ui.navigate.reload()

    with ui.row().classes("gap-2 items-stretch"):
        _step("0 Refresh", "Reload the contract status from the index.", "", refresh)
        _step(
            "1 Index + Bootstrap",
            "Rebuild the symbol-day index from stored ticks.",
            why["bootstrap"],
            lambda: submit_job(backend, "bootstrap index", "bootstrap_index"),
        )
        _step(
            "2 Verify",
            f"Compare stored days of {v} with the trading calendar.",
            why["verify"],
            lambda: submit_job(backend, f"verify {v}", "verify", v),
        )
        with ui.card().classes("w-56"):
            ui.label("3 Fill missing").classes("text-bold")
            ui.label("Download the missing days (init: from each contract's start).").classes("text-xs")
            mode = ui.select(["normal", "init"], value="normal").props("dense")
            b = ui.button(
                "Run",
                on_click=lambda: submit_job(
                    backend, f"fill-missing {v} ({mode.value})", "fill_missing", v, mode=mode.value
                ),
            ).props("dense")
            if why["fill"]:
                b.disable()
                ui.label(why["fill"]).classes("text-xs text-negative")
        _step(
            "4 Update all",
            f"Download new days for active and recently expired {v} contracts.",
            why["update"],
            lambda: submit_job(backend, f"update {v}", "update", v),
        )
        _step(
            "5 Schedule",
            f"Roll schedule of {v} from open interest (the OI rule).",
            why["schedule"],
            lambda: submit_job(backend, f"main-schedule {v}", "build_main_schedule", v),
        )
        _step(
            "6 main_l5",
            f"The continuous main_l5 series of {v} along its schedule, with real depth.",
            why["l5"],
            lambda: submit_job(backend, f"main-l5 {v}", "build_main_l5", v),
        )
