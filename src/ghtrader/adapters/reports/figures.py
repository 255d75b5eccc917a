"""Render the report port's figure specs to PNG bytes with matplotlib (Agg, no pyplot state)."""

from __future__ import annotations

import io
import math

import numpy as np
from matplotlib import dates as mdates
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ghtrader.application.ports.reports import BarFigure, FigureSpec, LineFigure, MatrixFigure

__all__ = ["render_png"]

_DPI = 110
_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")


def render_png(spec: FigureSpec) -> bytes:
    """The figure as PNG bytes."""
    if isinstance(spec, LineFigure):
        fig = _line(spec)
    elif isinstance(spec, MatrixFigure):
        fig = _matrix(spec)
    elif isinstance(spec, BarFigure):
        fig = _bars(spec)
    else:  # pragma: no cover - the port's union is closed
        raise TypeError(f"unknown figure spec {type(spec).__name__}")
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI)
    return buf.getvalue()


def _line(spec: LineFigure) -> Figure:
    fig = Figure(figsize=(7.5, 4.6), layout="constrained")
    ax = fig.add_subplot()
    n_bars = sum(1 for s in spec.series if s.style == "bars")
    bar_i = 0
    colors: dict[str, str] = {}
    stack_up: dict[bytes, np.ndarray] = {}  # stacked bars: running tops above 0 and bottoms below 0
    stack_down: dict[bytes, np.ndarray] = {}
    for s in spec.series:
        group = s.group or s.label
        color = s.color or colors.setdefault(group, _COLORS[len(colors) % len(_COLORS)])
        x = np.asarray(s.x, dtype=np.float64)
        y = np.asarray(s.y, dtype=np.float64)
        ls = "--" if s.dashed else "-"
        if s.style == "points":
            ax.plot(x, y, marker="o", linestyle=ls, color=color, label=s.label, markersize=4, linewidth=1.2, zorder=3)
        elif s.style == "markers":
            ax.plot(x, y, marker="o", linestyle="none", color=color, label=s.label, markersize=4, zorder=3)
        elif s.style == "step":
            ax.step(x, y, where="post", linestyle=ls, color=color, label=s.label, linewidth=1.2, zorder=2)
        elif s.style == "bars" and spec.stacked:
            key = x.tobytes()  # series on the same x positions stack on each other
            up, down = stack_up.setdefault(key, np.zeros_like(x)), stack_down.setdefault(key, np.zeros_like(x))
            ax.bar(x, y, bottom=np.where(y >= 0, up, down), width=_bar_width(x), color=color, alpha=0.8,
                   label=s.label, zorder=1)  # fmt: skip
            stack_up[key], stack_down[key] = up + np.maximum(y, 0.0), down + np.minimum(y, 0.0)
        elif s.style == "bars":
            width = _bar_width(x) / max(n_bars, 1)
            ax.bar(
                x + (bar_i - (n_bars - 1) / 2) * width,
                y,
                width=width * 0.95,
                color=color,
                alpha=0.3 if n_bars < len(spec.series) else 0.75,
                label=s.label,
                zorder=1,
            )
            bar_i += 1
        else:
            ax.plot(x, y, linestyle=ls, color=color, label=s.label, linewidth=1.2, zorder=2)
    if spec.diagonal:
        ax.plot([0, 1], [0, 1], linestyle="--", color="0.5", linewidth=1, label="perfect calibration")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
    if spec.hline is not None and math.isfinite(spec.hline):
        ax.axhline(spec.hline, color="0.4", linestyle=":", linewidth=1)
    for v in spec.vlines:
        if math.isfinite(v):
            ax.axvline(v, color="0.35", linestyle=":", linewidth=1, zorder=1)
    if spec.log_x:
        ax.set_xscale("log")
    if spec.x_dates:  # matplotlib's date unit is days since 1970-01-01, the same as ours
        locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_title(spec.title)
    ax.set_xlabel(spec.xlabel)
    ax.set_ylabel(spec.ylabel)
    ax.grid(True, alpha=0.3)
    if len(spec.series) > 8:  # many curves: the legend goes beside the axes, not over the data
        fig.set_size_inches(9.5, 4.6)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    elif any(s.label for s in spec.series) or spec.diagonal:
        ax.legend(fontsize=8, loc="best")
    _caption(fig, spec.caption)
    return fig


def _caption(fig: Figure, text: str) -> None:
    """A small note under the axes; the layout keeps a strip free for it."""
    if not text:
        return
    fig.get_layout_engine().set(rect=(0.0, 0.045, 1.0, 0.955))
    fig.text(0.01, 0.008, text, fontsize=7, color="0.35", ha="left", va="bottom")


def _bar_width(x: np.ndarray) -> float:
    if x.shape[0] < 2:
        return 0.8
    d = np.diff(np.unique(x))
    return float(d.min()) * 0.8 if d.shape[0] else 0.8


def _matrix(spec: MatrixFigure) -> Figure:
    n = max(len(spec.panels), 1)
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(max(5.6, 3.6 * cols + 0.6), 3.4 * rows + 0.6), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    for k, ax in enumerate(axes.flat):
        if k >= len(spec.panels):
            ax.set_visible(False)
            continue
        panel = spec.panels[k]
        values = np.asarray(panel.values, dtype=np.float64)
        finite = values[np.isfinite(values)]
        top = float(finite.max()) if finite.size else 1.0
        image = ax.imshow(values, cmap="Blues", vmin=0.0, vmax=top if top > 0 else 1.0)
        if not spec.annotate:
            fig.colorbar(image, ax=ax, shrink=0.8)
            _sparse_ticks(ax, panel.row_labels, panel.col_labels)
            ax.set_xlabel(spec.xlabel)
            ax.set_ylabel(spec.ylabel)
            ax.set_title(panel.label, fontsize=10)
            continue
        for (r, c), v in np.ndenumerate(values):
            text = "-" if not math.isfinite(v) else format(v, spec.value_format)
            ax.text(
                c,
                r,
                text,
                ha="center",
                va="center",
                fontsize=9,
                color="white" if math.isfinite(v) and v > 0.6 * top else "black",
            )
        ax.set_xticks(range(len(panel.col_labels)), panel.col_labels)
        ax.set_yticks(range(len(panel.row_labels)), panel.row_labels)
        ax.set_xlabel(spec.xlabel)
        ax.set_ylabel(spec.ylabel)
        ax.set_title(panel.label, fontsize=10)
    fig.suptitle(spec.title, fontsize=11)
    _caption(fig, spec.caption)
    return fig


def _sparse_ticks(ax: object, rows: tuple[str, ...], cols: tuple[str, ...], most: int = 12) -> None:
    """At most ``most`` evenly spaced tick labels per axis (always the last one)."""
    for labels, setter in ((cols, ax.set_xticks), (rows, ax.set_yticks)):  # type: ignore[attr-defined]
        n = len(labels)
        at = sorted({*range(n - 1, -1, -max(1, math.ceil(n / most)))}) if n else []
        setter(at, [labels[i] for i in at], fontsize=7)
    ax.tick_params(axis="x", labelrotation=90)  # type: ignore[attr-defined]


def _bars(spec: BarFigure) -> Figure:
    n = len(spec.labels)
    fig = Figure(figsize=(7.5, max(2.4, 0.6 + 0.26 * n)), layout="constrained")
    ax = fig.add_subplot()
    values = np.asarray(spec.values, dtype=np.float64)
    starts = np.asarray(spec.starts, dtype=np.float64) if spec.starts else np.zeros(n)
    y = np.arange(n)[::-1]  # first label on top
    if spec.signed:
        colors = [_COLORS[1] if v >= 0 else _COLORS[0] for v in values]
    else:
        colors = [_COLORS[0]] * n
    errors = np.asarray(spec.errors, dtype=np.float64) if spec.errors else None
    ax.barh(y, values, left=starts, color=colors, xerr=errors, height=0.7, alpha=0.85, zorder=2)
    ax.set_yticks(y, [label[:40] for label in spec.labels], fontsize=7 if n > 25 else 8)
    if spec.vline is not None and math.isfinite(spec.vline):
        ax.axvline(spec.vline, color="0.35", linestyle=":", linewidth=1, zorder=1)
    ax.set_title(spec.title)
    ax.set_xlabel(spec.xlabel)
    ax.grid(True, axis="x", alpha=0.3)
    _caption(fig, spec.caption)
    return fig
