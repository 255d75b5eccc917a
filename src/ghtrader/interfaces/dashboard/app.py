"""The NiceGUI app: one root page (login, top bar, navigation) routing to the sub pages."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from typing import Any

from nicegui import app, ui

from ghtrader.interfaces.dashboard.alerts_panel import alerts_badge
from ghtrader.interfaces.dashboard.backend import ACTIVE_STATES, Backend
from ghtrader.interfaces.dashboard.config import DashboardConfig
from ghtrader.interfaces.dashboard.pages import data, explorer, home, jobs, models, ops, system, trading

log = logging.getLogger(__name__)

# (path, label, icon, page builder)
PAGES: tuple[tuple[str, str, str, Callable[[Backend], None]], ...] = (
    ("/", "Command center", "dashboard", home.render),
    ("/data", "Data", "storage", data.render),
    ("/models", "Models", "model_training", models.render),
    ("/trading", "Trading", "show_chart", trading.render),
    ("/ops", "Ops", "build", ops.render),
    ("/jobs", "Jobs", "work", jobs.render),
    ("/explorer", "Explorer", "table_view", explorer.render),
    ("/system", "System", "memory", system.render),
)


class Dashboard:
    """Holds the configuration and the backend; :meth:`root` builds every page visit."""

    def __init__(self, config: DashboardConfig, client_factory: Callable[[], Any] | None = None) -> None:
        self.config = config
        self._client_factory = client_factory
        self._backend: Backend | None = None

    @property
    def backend(self) -> Backend:
        # Created on the first page visit, i.e. inside the running event loop, never at import.
        if self._backend is None:
            self._backend = Backend(self.config, self._client_factory)
        return self._backend

    def shutdown(self) -> None:
        if self._backend is not None:
            self._backend.close()

    def authenticated(self) -> bool:
        return not self.config.token or bool(app.storage.user.get("authenticated"))

    def root(self) -> None:
        ui.page_title("ghTrader")
        if not self.authenticated():
            self._login()
            return
        self._shell()
        routes = {path: (lambda b=builder: b(self.backend)) for path, _l, _i, builder in PAGES}
        ui.sub_pages(routes).classes("w-full p-4")

    def _login(self) -> None:
        expected = self.config.token or ""

        def attempt() -> None:
            if hmac.compare_digest(password.value.encode(), expected.encode()):
                app.storage.user["authenticated"] = True
                ui.navigate.reload()
            else:
                error.set_text("wrong token")
                error.set_visibility(True)

        with ui.card().classes("absolute-center"):
            ui.label("ghTrader dashboard").classes("text-h6")
            password = ui.input("Token", password=True).on("keydown.enter", attempt).mark("token")
            ui.button("Log in", on_click=attempt).mark("login")
            error = ui.label("").classes("text-negative")
            error.set_visibility(False)

    def _shell(self) -> None:
        backend = self.backend
        with ui.header().classes("items-center gap-4 bg-slate-800"):
            ui.label("ghTrader").classes("text-h6")
            indicators = ui.row().classes("items-center gap-3 text-sm")
            alerts_badge(backend)
            ui.space()
            if self.config.token:

                def logout() -> None:
                    app.storage.user["authenticated"] = False
                    ui.navigate.reload()

                ui.button(icon="logout", on_click=logout).props("flat round color=white")
        banner = ui.row().classes("w-full bg-negative text-white p-2")
        banner.set_visibility(False)
        with ui.left_drawer(value=True).classes("bg-slate-100").props("width=200"):
            badge_holder: dict[str, Any] = {}
            for path, label, icon, _b in PAGES:
                with ui.link(target=path).classes("no-underline text-black w-full"):
                    with ui.row().classes("items-center gap-2 p-1"):
                        ui.icon(icon)
                        ui.label(label)
                        if path == "/jobs":
                            badge = ui.badge("0", color="orange").mark("running-jobs")
                            badge.set_visibility(False)
                            badge_holder["badge"] = badge

        shown: dict[str, Any] = {}  # what the bar shows now: unchanged reads rebuild nothing

        async def update() -> None:
            status = await backend.status()
            active = await backend.jobs(states=ACTIVE_STATES)
            now = (
                None if status is None else (status.value, status.error, status.unreachable),
                None if active is None else (len(active.value) if active.ok else -1),
            )
            if shown.get("now") == now and "now" in shown:
                return
            shown["now"] = now
            indicators.clear()
            with indicators:
                if status is None:
                    ui.label("connecting...")
                elif status.ok:
                    s = status.value
                    store = "store ok" if s.store_reachable else "store DOWN"
                    ui.chip(f"{s.store_backend}: {store}", color="green" if s.store_reachable else "red").props(
                        "dense text-color=white"
                    )
                    ui.label(f"CPU {s.cpu_percent:.0f}%")
                    if s.memory_total_bytes:
                        ui.label(f"mem {100 * s.memory_used_bytes / s.memory_total_bytes:.0f}%")
                    ui.label(f"GPU: {s.gpu[:40] or 'none'}")
            unreachable = status is not None and not status.ok and status.unreachable
            banner.clear()
            if unreachable and status is not None:
                with banner:
                    ui.icon("cloud_off")
                    ui.label(f"The ghTrader server at {self.config.target} is not reachable: {status.error}")
            banner.set_visibility(unreachable)
            badge = badge_holder["badge"]
            n = len(active.value) if active is not None and active.ok else 0
            badge.set_text(str(n))
            badge.set_visibility(n > 0)

        ui.timer(0.01, update, once=True)
        ui.timer(3.0, update)


def run_dashboard(config: DashboardConfig) -> None:
    """Serve the dashboard in the foreground (blocks until stopped)."""
    config.check()
    dashboard = Dashboard(config)
    app.on_shutdown(dashboard.shutdown)
    ui.run(
        dashboard.root,
        host=config.host,
        port=config.port,
        title="ghTrader",
        storage_secret=config.storage_secret,
        reload=False,
        show=False,
        show_welcome_message=False,
        uvicorn_logging_level="warning",
    )
