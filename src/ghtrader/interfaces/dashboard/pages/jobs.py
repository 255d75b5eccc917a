"""``/jobs``: jobs with filters, a detail panel with progress and a live log tail, cancel, locks."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from nicegui import ui

from ghtrader.interfaces.dashboard.actions import act
from ghtrader.interfaces.dashboard.backend import ACTIVE_STATES, TERMINAL_STATES, Backend, classify
from ghtrader.interfaces.dashboard.pages.home import JOB_COLUMNS, job_rows
from ghtrader.interfaces.dashboard.widgets import confirm, entry_ok, fmt_ns, lazy_tabs, live, table

STATES = ("", *ACTIVE_STATES, *TERMINAL_STATES)
SOURCES = ("", "terminal", "dashboard", "scheduler", "api")
LOG_TAIL_CHARS = 20_000
PAGE_SIZE = 50  # jobs per page of the list (fetched from the server one page at a time)


def render(backend: Backend) -> None:
    ui.label("Jobs").classes("text-h5")
    lazy_tabs(
        {
            "Jobs": lambda: _jobs_panel(backend),
            "Locks": lambda: live(lambda: backend.read("locks", "list_locks", ttl=2.0), _locks, every=3.0),
        }
    )


def _locks(entry: Any) -> None:
    if entry_ok(entry):
        rows = [{**lock, "acquired": fmt_ns(lock["acquired_ns"])} for lock in entry.value]
        if rows:
            table(rows, ("key", "job_id", "pid", "acquired"))
        else:
            ui.label("no locks held")


def _jobs_panel(backend: Backend) -> None:
    selected: dict[str, int] = {}
    with ui.row().classes("items-end"):
        state = ui.select(list(STATES), value="", label="state").classes("w-40").mark("state-filter")
        source = ui.select(list(SOURCES), value="", label="source").classes("w-40")
        job_id = ui.number("job id", precision=0).classes("w-32").mark("job-id")
        ui.button("Show", on_click=lambda: open_job(int(job_id.value)) if job_id.value else None)
    with ui.row().classes("w-full no-wrap items-start"):
        listing = ui.column().classes("w-1/2")
        detail = ui.column().classes("w-1/2")

    # Pages by id (keyset): each page's first-id cursor; the server sends only the page shown.
    page: dict[str, Any] = {"cursors": [None], "last_id": None}

    async def load() -> Any:
        states = (state.value,) if state.value else ()
        # One job more than shown tells whether there is an older page.
        return await backend.jobs(
            states=states, source=source.value or "", limit=PAGE_SIZE + 1, before_id=page["cursors"][-1]
        )

    def turn(step: int) -> None:
        if step > 0 and page["last_id"] is not None:
            page["cursors"].append(page["last_id"])
        elif step < 0 and len(page["cursors"]) > 1:
            page["cursors"].pop()
        _reload(box, load, show)

    def show(entry: Any) -> None:
        if entry_ok(entry):
            n = len(page["cursors"]) - 1  # pages before this one
            start = PAGE_SIZE * n
            shown = entry.value[:PAGE_SIZE]
            more = len(entry.value) > PAGE_SIZE
            page["last_id"] = shown[-1]["id"] if shown else None
            t = table(job_rows(shown), JOB_COLUMNS, row_key="id", pagination=PAGE_SIZE).mark("jobs-table")
            t.props("hide-pagination")
            t.on("rowClick", lambda e: open_job(int(e.args[1]["id"])))
            with ui.row().classes("items-center"):
                newer = ui.button("newer", on_click=lambda: turn(-1)).props("flat dense").mark("jobs-newer")
                newer.set_enabled(n > 0)
                ui.label(f"jobs {start + 1}-{start + len(shown)}" if shown else "no jobs").mark("jobs-range")
                older = ui.button("older", on_click=lambda: turn(1)).props("flat dense").mark("jobs-older")
                older.set_enabled(more)

    with listing:
        box = live(load, show, every=3.0)

    def refilter() -> None:
        page.update(cursors=[None], last_id=None)
        _reload(box, load, show)

    state.on_value_change(refilter)
    source.on_value_change(refilter)

    log_state: dict[str, Any] = {"offset": 0, "text": ""}

    async def refresh_detail() -> None:
        jid = selected.get("id")
        if jid is None or detail.is_deleted:
            return
        try:
            job = await backend.call("get_job", jid)
            pieces = await _tail(backend, jid, log_state["offset"])
        except Exception as exc:  # noqa: BLE001 - shown in the panel
            detail.clear()
            with detail:
                ui.label(classify(exc)[0]).classes("text-negative")
            return
        text = "".join(pieces)
        log_state["offset"] += len(text.encode())
        log_state["text"] = (log_state["text"] + text)[-LOG_TAIL_CHARS:]
        _render_detail(backend, detail, job, log_state["text"])

    def open_job(jid: int) -> None:
        selected["id"] = jid
        log_state.update(offset=0, text="")
        ui.timer(0.01, refresh_detail, once=True)

    ui.timer(2.0, refresh_detail)


async def _tail(backend: Backend, job_id: int, offset: int) -> list[str]:
    """The log written since ``offset`` (one non-following read; the panel polls)."""
    return await asyncio.to_thread(lambda: list(backend.client.tail_job_log(job_id, offset=offset, follow=False)))


def _reload(box: ui.column, load: Any, show: Any) -> None:
    async def again() -> None:
        value = await load()
        box.clear()
        with box:
            show(value)

    ui.timer(0.01, again, once=True)


def _render_detail(backend: Backend, detail: ui.column, job: dict[str, Any], log_text: str) -> None:
    detail.clear()
    with detail:
        ui.label(f"Job {job['id']}: {job['command']} ({job['state']})").classes("text-h6").mark("job-title")
        total = job.get("progress_total") or 0
        if total:
            ui.linear_progress(value=job["progress_done"] / total, show_value=False)
        ui.label(job.get("progress_message", ""))
        facts = {
            "source": job["source"],
            "created": fmt_ns(job["created_ns"]),
            "started": fmt_ns(job["start_ns"]),
            "ended": fmt_ns(job["end_ns"]),
            "exit code": job["exit_code"] if job["has_exit_code"] else "",
            "locks held": ", ".join(job["locks_held"]),
            "waited for": job["waited_for"],
            "summary": job["summary"],
            "error": f"{job['error_kind']} {job['error']}".strip(),
            "report": job["report_path"],
        }
        for k, v in facts.items():
            if v not in ("", None):
                ui.label(f"{k}: {v}").classes("text-sm")
        with ui.expansion("request"):
            ui.code(json.dumps(json.loads(job["args_json"] or "{}"), indent=2), language="json")
        if job["state"] in ACTIVE_STATES:

            async def cancel() -> None:
                await act(backend, f"cancel job {job['id']}", "cancel_job", job["id"])
                backend.cache.invalidate("jobs:")

            ui.button(
                "Cancel job",
                on_click=lambda: confirm(f"Cancel job {job['id']}?", "Its whole process group is stopped.", cancel),
            ).props("color=negative").mark("cancel-job")
        ui.label("log").classes("text-bold")
        ui.code(log_text or "(empty)").classes("w-full text-xs").style("max-height: 400px; overflow: auto")
