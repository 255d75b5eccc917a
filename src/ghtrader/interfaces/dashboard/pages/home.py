"""``/``: the command center: status, KPIs, pipeline stages with their last result, jobs."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from ghtrader.interfaces.dashboard.actions import submit_job
from ghtrader.interfaces.dashboard.alerts_panel import alerts_panel
from ghtrader.interfaces.dashboard.backend import ACTIVE_STATES, Backend
from ghtrader.interfaces.dashboard.widgets import entry_ok, fmt_bytes, fmt_ns, live, table

# Pipeline stage -> the job commands that are that stage.
STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Ingest", ("Download", "DownloadContractRange", "Update", "Record")),
    ("Verify", ("Verify", "FillMissing", "Audit", "BootstrapIndex")),
    ("Schedule", ("BuildMainSchedule",)),
    ("main_l5", ("BuildMainL5",)),
    ("Build", ("BuildDataset",)),
    ("Train", ("Train", "Sweep", "DailyTrain", "Benchmark", "Compare")),
    ("Backtest", ("Backtest",)),
)
JOB_COLUMNS = ("id", "command", "state", "source", "created", "progress", "summary")


def job_rows(jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for j in jobs:
        total = j.get("progress_total") or 0
        progress = f"{j.get('progress_done', 0)}/{total}" if total else j.get("progress_message", "")
        rows.append({**j, "created": fmt_ns(j.get("created_ns", 0)), "progress": progress})
    return rows


def last_by_stage(jobs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The newest job of each stage (``jobs`` newest first)."""
    found: dict[str, dict[str, Any]] = {}
    for stage, commands in STAGES:
        for j in jobs:
            if j.get("command") in commands:
                found[stage] = j
                break
    return found


def render(backend: Backend) -> None:
    ui.label("Command center").classes("text-h5")

    async def load() -> tuple[Any, ...]:
        # One after the other: cached reads then return without waiting (see widgets.live).
        return (
            await backend.status(),
            await backend.jobs(limit=200),
            await backend.read("models", "list_models", ttl=30.0),
            await backend.read("runs", "list_trading_runs", ttl=10.0),
        )

    def show(loaded: tuple[Any, ...]) -> None:
        status, jobs, models, runs = loaded
        with ui.row().classes("gap-4"):
            if status is not None and status.ok:
                s = status.value
                _kpi("Store", f"{s.store_backend} {'reachable' if s.store_reachable else 'DOWN'}")
                _kpi("CPU", f"{s.cpu_percent:.0f}% of {s.cpu_count}")
                _kpi("Memory", f"{fmt_bytes(s.memory_used_bytes)} / {fmt_bytes(s.memory_total_bytes)}")
                _kpi("GPU", s.gpu or "none")
            all_jobs = jobs.value if jobs is not None and jobs.ok else []
            running = [j for j in all_jobs if j["state"] in ACTIVE_STATES]
            _kpi("Running jobs", str(len(running)))
            _kpi("Models", str(len(models.value)) if models is not None and models.ok else "?")
            if runs is not None and runs.ok:
                live_runs = [r for r in runs.value if r["status"] in ("running", "starting")]
                _kpi("Trading", f"{len(live_runs)} running / {len(runs.value)} runs")
        ui.label("Pipeline").classes("text-h6")
        stages = last_by_stage(all_jobs)
        with ui.row().classes("gap-2 items-stretch"):
            for stage, _commands in STAGES:
                j = stages.get(stage)
                color = {"succeeded": "bg-green-1", "failed": "bg-red-1", "running": "bg-blue-1"}.get(
                    j["state"] if j else "", "bg-grey-2"
                )
                with ui.card().classes(f"{color} w-40").mark(f"stage-{stage}"):
                    ui.label(stage).classes("text-bold")
                    if j:
                        ui.label(f"#{j['id']} {j['command']} {j['state']}")
                        ui.label(j.get("summary", "")[:80]).classes("text-xs")
                    else:
                        ui.label("never run").classes("text-grey")
            production = [m for m in models.value if m["status"] == "production"] if models and models.ok else []
            with ui.card().classes(f"{'bg-green-1' if production else 'bg-grey-2'} w-40").mark("stage-Promote"):
                ui.label("Promote").classes("text-bold")
                for m in production:
                    ui.label(f"{m['model_id']}@{m['version']} in production")
                if not production:
                    ui.label("no production model").classes("text-grey")
        ui.label("Running jobs").classes("text-h6")
        if entry_ok(jobs):
            table(job_rows(running), JOB_COLUMNS, pagination=10)
            ui.label("Recent jobs").classes("text-h6")
            table(job_rows(all_jobs[:15]), JOB_COLUMNS)

    live(load, show, every=5.0)
    alerts_panel(backend)
    ui.label("Quick actions").classes("text-h6")
    with ui.row():
        for variety in ("cu", "au", "ag"):
            key = f"SHFE.{variety}"
            ui.button(
                f"Update {variety}", on_click=lambda v=key: submit_job(backend, f"update {v}", "update", v)
            ).props("outline")
            ui.button(
                f"Verify {variety}", on_click=lambda v=key: submit_job(backend, f"verify {v}", "verify", v)
            ).props("outline")


def _kpi(title: str, value: str) -> None:
    with ui.card().classes("p-2 min-w-32"):
        ui.label(title).classes("text-xs text-grey")
        ui.label(value).classes("text-subtitle1")
