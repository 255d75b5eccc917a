"""``/ops``: the pipeline with its preconditions, a form for each data / dataset command, locks."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from ghtrader.interfaces.dashboard.actions import submit_job
from ghtrader.interfaces.dashboard.backend import Backend
from ghtrader.interfaces.dashboard.widgets import entry_ok, fmt_ns, lazy_tabs, live, opt_float, opt_int, split, table


def pipeline_blockers(status: Any) -> list[str]:
    if status is None:
        return ["waiting for the server"]
    if not status.ok:
        return ["server not reachable"]
    return [] if status.value.store_reachable else ["store not reachable"]


def stage_blockers(status: Any, readiness: Any) -> dict[str, dict[str, str]]:
    """Variety -> stage (main-schedule, main-l5, build) -> why it cannot run now ("" when it can).
    Each stage needs what the previous one makes: raw ticks, then a schedule, then main_l5."""
    blockers = pipeline_blockers(status)
    if blockers:
        return {v: dict.fromkeys(STAGES, blockers[0]) for v in VARIETIES}
    if readiness is None:
        return {v: dict.fromkeys(STAGES, "waiting for the server") for v in VARIETIES}
    if not readiness.ok:
        return {v: dict.fromkeys(STAGES, readiness.error) for v in VARIETIES}
    r = readiness.value
    if not r["store_reachable"]:
        return {v: dict.fromkeys(STAGES, "store not reachable") for v in VARIETIES}
    out: dict[str, dict[str, str]] = {}
    for v in r["varieties"]:
        if v["error"]:
            out[v["variety"]] = dict.fromkeys(STAGES, v["error"])
            continue
        out[v["variety"]] = {
            "main-schedule": "" if v["raw_contracts"] else "no raw ticks indexed: download or update first",
            "main-l5": "" if v["schedule_present"] else "schedule missing: run main-schedule",
            "build": "" if v["main_l5_days"] else "main_l5 not built: run main-l5",
        }
    return out


VARIETIES = ("SHFE.cu", "SHFE.au", "SHFE.ag")
STAGES = ("main-schedule", "main-l5", "build")


def _readiness_table(readiness: Any) -> None:
    if readiness is None or not readiness.ok or not readiness.value["store_reachable"]:
        return
    rows = [
        {
            "variety": v["variety"],
            "raw contracts": v["raw_contracts"],
            "schedule": "yes" if v["schedule_present"] else "missing",
            "main_l5 days": v["main_l5_days"],
            "main_l5 last day": v["main_l5_last_day"],
            "error": v["error"],
        }
        for v in readiness.value["varieties"]
    ]
    columns = ("variety", "raw contracts", "schedule", "main_l5 days", "main_l5 last day", "error")
    table(rows, columns).mark("readiness-table")


def _stage_buttons(backend: Backend, why: dict[str, dict[str, str]]) -> None:
    """A row per variety: main-schedule, main-l5 and build, each disabled with its reason."""
    actions = {
        "main-schedule": lambda v: submit_job(backend, f"main-schedule {v}", "build_main_schedule", v),
        "main-l5": lambda v: submit_job(backend, f"main-l5 {v}", "build_main_l5", v),
        "build": lambda v: submit_job(
            backend, f"build KQ.m@{v}", "build_dataset", f"KQ.m@{v}", start_day="", end_day="", overwrite=False
        ),
    }
    for variety, stages in why.items():
        with ui.row().classes("items-center gap-2"):
            ui.label(variety).classes("w-20 text-bold")
            for stage in STAGES:
                with ui.column().classes("gap-0 w-56"):
                    b = ui.button(stage, on_click=lambda s=stage, v=variety: actions[s](v)).props("dense outline")
                    b.mark(f"stage-{variety}-{stage}")
                    if stages.get(stage):
                        b.disable()
                        ui.label(stages[stage]).classes("text-xs text-negative").mark(f"why-{variety}-{stage}")


def render(backend: Backend) -> None:
    ui.label("Operations").classes("text-h5")

    def pipeline() -> None:
        def show(status: Any) -> None:
            blockers = pipeline_blockers(status)
            for blocker in blockers:
                ui.label(blocker).classes("text-negative")
            with ui.row().classes("items-end"):
                varieties = ui.select(["cu", "au", "ag"], value=["cu"], multiple=True, label="varieties").classes(
                    "w-48"
                )
                days = ui.number("trading days", precision=0)
                skip = ui.checkbox("skip research")
                b = ui.button(
                    "Run the pipeline",
                    on_click=lambda: submit_job(
                        backend,
                        "pipeline",
                        "run_pipeline",
                        varieties=list(varieties.value),
                        trading_days=opt_int(days.value),
                        skip_research=bool(skip.value),
                    ),
                )
                if blockers:
                    b.disable()

        live(backend.status, show, every=0)
        ui.label("Stages per variety").classes("text-h6")

        async def load() -> tuple[Any, Any]:
            return await backend.status(), await backend.read(
                "readiness", "pipeline_readiness", list(VARIETIES), ttl=10.0
            )

        def stages(loaded: tuple[Any, Any]) -> None:
            status, readiness = loaded
            _readiness_table(readiness)
            _stage_buttons(backend, stage_blockers(status, readiness))

        live(load, stages, every=10.0)

    def locks() -> None:
        def show(entry: Any) -> None:
            if entry_ok(entry):
                rows = [{**x, "acquired": fmt_ns(x["acquired_ns"])} for x in entry.value]
                table(rows, ("key", "job_id", "pid", "acquired")) if rows else ui.label("no locks held")

        live(lambda: backend.read("locks", "list_locks", ttl=2.0), show, every=3.0)

    lazy_tabs(
        {
            "Pipeline": pipeline,
            "Commands": lambda: _forms(backend),
            "Audit reports": lambda: live(lambda: backend.jobs(limit=200), _audits, every=10.0),
            "Locks": locks,
        }
    )


def _audits(entry: Any) -> None:
    """The latest audits: verdict, summary and the report each wrote on the server."""
    if not entry_ok(entry):
        return
    rows = [{**j, "ended": fmt_ns(j["end_ns"])} for j in entry.value if j["command"] == "Audit"]
    if rows:
        table(rows, ("id", "state", "ok", "ended", "summary", "report_path"), pagination=10).mark("audits-table")
    else:
        ui.label("no audit has run yet (Commands tab)")


def _card(title: str) -> ui.card:
    card = ui.card().classes("w-full")
    with card:
        ui.label(title).classes("text-bold")
    return card


def _forms(backend: Backend) -> None:
    with _card("download"), ui.row().classes("items-end"):
        d_sym = ui.input("symbol", value="SHFE.cu2612")
        d_start = ui.input("start day")
        d_end = ui.input("end day")
        d_chunk = ui.number("chunk days", precision=0)
        ui.button(
            "Download",
            on_click=lambda: submit_job(
                backend,
                f"download {d_sym.value}",
                "download",
                d_sym.value,
                d_start.value,
                d_end.value,
                chunk_days=opt_int(d_chunk.value),
            ),
        )
    with _card("download-contract-range"), ui.row().classes("items-end"):
        r_var = ui.input("variety", value="SHFE.cu")
        r_first = ui.input("first contract", value="SHFE.cu2601")
        r_last = ui.input("last contract", value="SHFE.cu2612")
        ui.button(
            "Download range",
            on_click=lambda: submit_job(
                backend,
                f"download {r_var.value} {r_first.value}-{r_last.value}",
                "download_contract_range",
                r_var.value,
                r_first.value,
                r_last.value,
            ),
        )
    with _card("record (live ticks)"), ui.row().classes("items-end"):
        rec_syms = ui.input("symbols")
        rec_dur = ui.number("duration s", value=60)
        ui.button(
            "Record",
            on_click=lambda: submit_job(
                backend,
                f"record {rec_syms.value}",
                "record",
                split(rec_syms.value),
                duration_s=opt_float(rec_dur.value),
            ),
        )
    with _card("main-schedule / main-l5"), ui.row().classes("items-end"):
        m_var = ui.input("variety", value="SHFE.cu")
        m_start = ui.input("start day")
        m_end = ui.input("end day")
        ui.button(
            "main-schedule",
            on_click=lambda: submit_job(
                backend,
                f"main-schedule {m_var.value}",
                "build_main_schedule",
                m_var.value,
                start_day=m_start.value,
                end_day=m_end.value,
            ),
        )
        ui.button(
            "main-l5",
            on_click=lambda: submit_job(
                backend,
                f"main-l5 {m_var.value}",
                "build_main_l5",
                m_var.value,
                start_day=m_start.value,
                end_day=m_end.value,
            ),
        )
    with _card("build (factors + labels)"), ui.row().classes("items-end"):
        b_sym = ui.input("symbol", value="KQ.m@SHFE.cu").mark("build-symbol")
        b_start = ui.input("start day").mark("build-start")
        b_end = ui.input("end day").mark("build-end")
        b_over = ui.checkbox("overwrite")
        ui.button(
            "Build",
            on_click=lambda: submit_job(
                backend,
                f"build {b_sym.value}",
                "build_dataset",
                b_sym.value,
                start_day=b_start.value or "",
                end_day=b_end.value or "",
                overwrite=bool(b_over.value),
            ),
        ).mark("build-submit")
    with _card("audit"), ui.row().classes("items-end"):
        a_syms = ui.input("symbols (empty: all)")
        a_days = ui.number("sample days", precision=0)
        ui.button(
            "Audit",
            on_click=lambda: submit_job(
                backend, "audit", "audit", split(a_syms.value), sample_days=opt_int(a_days.value)
            ),
        )
    with _card("verify / fill-missing / update"), ui.row().classes("items-end"):
        v_var = ui.input("variety", value="SHFE.cu")
        ui.button("Verify", on_click=lambda: submit_job(backend, f"verify {v_var.value}", "verify", v_var.value))
        ui.button(
            "Fill missing",
            on_click=lambda: submit_job(backend, f"fill-missing {v_var.value}", "fill_missing", v_var.value),
        )
        ui.button("Update", on_click=lambda: submit_job(backend, f"update {v_var.value}", "update", v_var.value))
