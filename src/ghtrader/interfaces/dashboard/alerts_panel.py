"""Alerts on the dashboard: a panel of recent anomaly events (command center) and a top-bar
badge counting WARNING and CRITICAL events of the last 24 hours. Reads through the client only
(``list_alerts``, the AlertService), cached like every other read."""

from __future__ import annotations

import json
import time
from typing import Any

from nicegui import ui

from ghtrader.interfaces.dashboard.backend import Backend
from ghtrader.interfaces.dashboard.widgets import entry_ok, fmt_ns, live, table

__all__ = ["ALERT_COLUMNS", "alert_rows", "alerts_badge", "alerts_panel", "badge_text"]

ALERT_COLUMNS = ("time", "severity", "type", "symbol", "score", "method", "details")
DAY_NS = 86_400 * 10**9


def alert_rows(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"time": fmt_ns(e["datetime_ns"]), "severity": e["severity"], "type": e["anomaly_type"],
         "symbol": e["symbol"], "score": "" if e.get("drift_score") is None else f"{e['drift_score']:.3g}",
         "method": e["detection_method"], "details": json.dumps(e.get("details", {}), sort_keys=True)[:80]}
        for e in events
    ]  # fmt: skip


def badge_text(counts: dict[str, int]) -> tuple[str, str]:
    """(text, colour) of the badge: critical first; "" when there is nothing to show."""
    crit, warn = counts.get("CRITICAL", 0), counts.get("WARNING", 0)
    if crit:
        return f"{crit} critical", "red"
    if warn:
        return f"{warn} warning", "orange"
    return "", "grey"


async def _recent(backend: Backend) -> Any:
    since = (time.time_ns() // DAY_NS - 1) * DAY_NS  # a whole-day step keeps the cache key stable
    return await backend.read(f"alerts:{since}", "list_alerts", severity="warning", since_ns=since, limit=1000,
                              ttl=5.0)  # fmt: skip


def alerts_panel(backend: Backend) -> None:
    """Recent WARNING / CRITICAL events, newest first (the command center's alerts section)."""
    ui.label("Alerts").classes("text-h6").mark("alerts-panel")

    async def load() -> Any:
        return await backend.read("alerts:panel", "list_alerts", severity="warning", limit=50, ttl=5.0)

    def show(entry: Any) -> None:
        if not entry_ok(entry):
            return
        events = entry.value["events"]
        if not events:
            ui.label("no warnings or critical anomalies").classes("text-grey")
            return
        table(alert_rows(events), ALERT_COLUMNS, pagination=10)

    live(load, show, every=5.0)


def alerts_badge(backend: Backend) -> None:
    """A top-bar badge: CRITICAL (red) or WARNING (orange) events of the last day; hidden at zero."""
    badge = ui.badge("", color="grey").mark("alerts-badge")
    badge.set_visibility(False)

    async def update() -> None:
        entry = await _recent(backend)
        if badge.is_deleted:
            return
        counts = entry.value.get("counts", {}) if entry is not None and entry.ok else {}
        text, color = badge_text(counts)
        badge.set_text(f"alerts: {text}")
        badge.props(f"color={color}")
        badge.set_visibility(bool(text))

    ui.timer(0.01, update, once=True)
    ui.timer(5.0, update)
