"""Small building blocks shared by the pages: live sections, confirmations, tables, formats."""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from nicegui import ui

from ghtrader.interfaces.dashboard.cache import Entry


def fmt_ns(ns: int) -> str:
    if not ns:
        return ""
    return dt.datetime.fromtimestamp(ns / 1e9, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def fmt_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} TiB"


def _ready_now(load: Callable[[], Awaitable[Any]]) -> tuple[bool, Any]:
    """Run ``load()`` up to its first suspension: with every read already cached it finishes
    without waiting, and the page is built with its data (no extra round trip)."""
    coro = load()
    if not inspect.iscoroutine(coro):
        return False, None
    try:
        coro.send(None)
    except StopIteration as done:
        return True, done.value
    coro.close()  # it would wait (a read not cached yet): the timer below loads it instead
    return False, None


def shown(value: Any) -> Any:
    """What a section shows of ``value``: cache entries by their value and error, not by when
    they were loaded, so a refresh that brought nothing new compares equal."""
    if isinstance(value, Entry):
        return (value.value, value.error, value.unreachable)
    if isinstance(value, (tuple, list)):
        return type(value)(shown(v) for v in value)
    return value


_UNSET = object()


def live(load: Callable[[], Awaitable[Any]], render: Callable[[Any], None], every: float = 5.0) -> ui.column:
    """A section showing ``render(await load())``: built at once when the reads are cached,
    otherwise filled right after the page is sent; refreshed every ``every`` seconds (0: never).
    A refresh that loads what is already shown leaves the section alone (no rebuild: less
    traffic, and the user's sorting, paging and open panels survive). The page itself never
    waits for the server."""
    box = ui.column().classes("w-full")
    ready, value = _ready_now(load)
    last: dict[str, Any] = {"shown": shown(value) if ready else _UNSET}
    with box:
        if ready:
            render(value)
        else:
            ui.label("loading...").classes("text-grey")

    async def update() -> None:
        value = await load()
        if box.is_deleted:
            return
        now = shown(value)
        if value is not None and now == last["shown"]:
            return
        last["shown"] = now
        box.clear()
        with box:
            render(value)

    # Built from the cache: once more shortly, to show what a background refresh of a stale read brought.
    ui.timer(1.0 if ready else 0.01, update, once=True)
    if every:
        ui.timer(every, update)
    return box


def tab_name(value: Any) -> str:
    """A tab's name from a tabs value (the name, or the tab element itself)."""
    return value if isinstance(value, str) else str(getattr(value, "_props", {}).get("name", ""))


def lazy_tabs(builders: dict[str, Callable[[], None]], picked: dict[str, str] | None = None) -> None:
    """Tabs whose panels are built the first time they are shown: a page load pays only for
    the first tab (its elements, its reads, its chart library). ``picked["tab"]`` is the tab
    to show and is kept up to date, so a section rebuilt by a refresh reopens the same tab."""
    picked = picked if picked is not None else {}
    names = list(builders)
    if picked.get("tab") not in builders:
        picked["tab"] = names[0]
    panels: dict[str, ui.tab_panel] = {}
    built: set[str] = set()

    def fill(name: str) -> None:
        if name in built or name not in panels:
            return
        built.add(name)
        with panels[name]:
            builders[name]()

    def on_change(value: Any) -> None:
        picked["tab"] = tab_name(value)
        fill(picked["tab"])

    with ui.tabs(value=picked["tab"], on_change=lambda e: on_change(e.value)) as tabs:
        tab_elements = [ui.tab(name) for name in names]
    with ui.tab_panels(tabs, value=picked["tab"]).classes("w-full"):
        for name, tab in zip(names, tab_elements, strict=True):
            panels[name] = ui.tab_panel(tab)
    fill(picked["tab"])


def entry_ok(entry: Entry | None) -> bool:
    """True with a value to render; otherwise shows why not (loading, unreachable, refused)."""
    if entry is None:
        ui.label("loading...").classes("text-grey")
        return False
    if not entry.ok:
        ui.label(("server unreachable: " if entry.unreachable else "error: ") + entry.error).classes("text-negative")
        return False
    return True


def confirm(title: str, detail: str, action: Callable[[], Any], *, label: str = "Run") -> None:
    """A dialog that runs ``action`` (sync or async) only when confirmed."""
    with ui.dialog() as dialog, ui.card():
        ui.label(title).classes("text-h6")
        ui.label(detail)
        with ui.row():

            async def ok() -> None:
                dialog.close()
                result = action()
                if inspect.isawaitable(result):
                    await result

            ui.button(label, on_click=ok).props("color=primary").mark("confirm")
            ui.button("Cancel", on_click=dialog.close).props("flat")
    dialog.open()


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str], *, row_key: str = "", **kwargs: Any) -> ui.table:
    cols = [{"name": c, "label": c, "field": c, "sortable": True, "align": "left"} for c in columns]
    data = [{c: _cell(r.get(c)) for c in columns} | ({"_key": r.get(row_key)} if row_key else {}) for r in rows]
    return ui.table(columns=cols, rows=data, row_key="_key" if row_key else columns[0], **kwargs).classes("w-full")


def _cell(v: Any) -> Any:
    if isinstance(v, (list, tuple)):
        return ", ".join(map(str, v))
    if isinstance(v, dict):
        return str(v)
    return v


def opt_int(value: Any) -> int | None:
    return None if value in (None, "") else int(value)


def opt_float(value: Any) -> float | None:
    return None if value in (None, "") else float(value)


def split(value: str | None) -> list[str]:
    return [s for s in (value or "").replace(",", " ").split() if s]
