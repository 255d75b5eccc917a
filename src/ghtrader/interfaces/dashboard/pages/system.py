"""``/system``: the server's host: CPU, memory, uptime, disks, GPU, store."""

from __future__ import annotations

from nicegui import ui

from ghtrader.interfaces.dashboard.backend import Backend
from ghtrader.interfaces.dashboard.widgets import entry_ok, fmt_bytes, fmt_ns, live, table


def render(backend: Backend) -> None:
    ui.label("System").classes("text-h5")

    def show(entry: object) -> None:
        if not entry_ok(entry):  # type: ignore[arg-type]
            return
        s = entry.value  # type: ignore[attr-defined]
        rows = [
            ("version", f"{s.version} ({s.git_commit[:10]})"),
            ("server time", fmt_ns(s.server_time_ns)),
            ("uptime", f"{s.uptime_seconds / 3600:.1f} h"),
            ("CPU", f"{s.cpu_percent:.0f}% of {s.cpu_count} cores"),
            ("memory", f"{fmt_bytes(s.memory_used_bytes)} of {fmt_bytes(s.memory_total_bytes)}"),
            ("store", f"{s.store_backend}: {'reachable' if s.store_reachable else 'NOT reachable'} {s.store_detail}"),
            ("provider", s.provider),
            ("GPU", s.gpu or "none"),
        ]
        table([{"item": k, "value": v} for k, v in rows], ("item", "value"))
        ui.label("Disks").classes("text-h6")
        table(
            [
                {
                    "path": d.path,
                    "used": fmt_bytes(d.used_bytes),
                    "free": fmt_bytes(d.free_bytes),
                    "total": fmt_bytes(d.total_bytes),
                    "used %": f"{100 * d.used_bytes / d.total_bytes:.0f}" if d.total_bytes else "",
                }
                for d in s.disks
            ],
            ("path", "used", "free", "total", "used %"),
        )

    live(backend.status, show, every=5.0)
