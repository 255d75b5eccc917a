"""Starting jobs and operator actions from a page: confirmation first, a toast after."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from ghtrader.interfaces.dashboard.backend import Backend, classify
from ghtrader.interfaces.dashboard.widgets import confirm


def submit_job(backend: Backend, label: str, method: str, *args: Any, heavy: bool = True, **kwargs: Any) -> None:
    """Submit ``client.<method>`` as a server job; heavy work asks for confirmation first."""

    def go() -> None:
        backend.submit(label, method, *args, **kwargs)
        ui.notify(f"{label}: submitted; follow it on the Jobs page", type="info")

    if heavy:
        confirm(
            f"Start {label}?", "This runs as a job on the server (see Jobs to follow or cancel it).", go, label="Start"
        )
    else:
        go()


async def act(backend: Backend, label: str, method: str, *args: Any, **kwargs: Any) -> Any:
    """A short call with a toast for its outcome; returns its result (None when it failed)."""
    try:
        result = await backend.call(method, *args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - reported as a toast
        ui.notify(f"{label} failed: {classify(exc)[0]}", type="negative", multi_line=True)
        return None
    ui.notify(f"{label}: done", type="positive")
    return result
