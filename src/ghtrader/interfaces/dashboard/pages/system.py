"""``/system``: the server's host: CPU, memory, uptime, disks, GPU, store."""

from __future__ import annotations

from typing import Any

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
    ui.label("Folders").classes("text-h6")
    live(lambda: backend.read("dirsizes", "directory_sizes", ttl=10.0), _folders, every=10.0)


def folder_rows(sizes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per folder: its size (a lower bound when the walk was cut), files, when measured."""
    rows = []
    for d in sizes:
        if d["error"]:
            size = d["error"]
        else:
            size = ("at least " if d["partial"] else "") + fmt_bytes(d["bytes"])
        rows.append(
            {
                "path": d["path"],
                "size": size,
                "files": d["files"],
                "walk": f"{d['walk_seconds']:.1f} s" + (" (partial: time budget hit)" if d["partial"] else ""),
                "measured": fmt_ns(d["measured_ns"]),
            }
        )
    return rows


def _folders(entry: Any) -> None:
    if not entry_ok(entry):
        return
    d = entry.value
    if d["sizes"]:
        table(folder_rows(d["sizes"]), ("path", "size", "files", "walk", "measured")).mark("folders-table")
    ui.label(
        ("measuring in the background... " if d["measuring"] else "")
        + f"sizes are re-measured when older than {d['ttl_seconds']:.0f} s; each walk stops after "
        f"{d['budget_seconds']:.0f} s and then says partial"
    ).classes("text-xs text-grey").mark("folders-note")
