"""Report ports: the JSON run-report sink (ingest, audit, verify ...) and the rich benchmark
report writer (JSON + figures + HTML)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


class ReportSink(Protocol):
    def write_json(self, kind: str, run_id: str, payload: dict[str, Any]) -> str:
        """Store ``payload`` as the report ``run_id`` of ``kind`` (replacing one of the same id)
        and return where it went (a path or URI a person can open)."""
        ...


# --- rich reports (benchmark / compare) ---------------------------------------------------------
# Figures cross this port as data (what to draw), never as drawing-library objects: the adapter
# picks the technology (matplotlib today) and use cases stay free of it.
@dataclass(frozen=True)
class PlotSeries:
    """One curve of a :class:`LineFigure`: ``style`` is "line", "points" (joined markers),
    "markers" (markers only), "step" or "bars";
    series of the same ``group`` (default: the label) share a colour, e.g. one model's curves;
    ``dashed`` draws a line dashed; ``color`` (a matplotlib-style name such as "black") overrides
    the group colour."""

    label: str
    x: Sequence[float]
    y: Sequence[float]
    style: str = "line"
    group: str = ""
    dashed: bool = False
    color: str = ""


@dataclass(frozen=True)
class LineFigure:
    """Curves on shared axes (overlaid models, reference lines).

    ``diagonal`` draws the y = x reference (reliability diagrams); ``hline`` a horizontal
    reference (e.g. 0 or half of the first value); ``log_x`` a log-scaled x axis; ``x_dates``:
    x values are days since 1970-01-01, drawn as dates; ``vlines``: x positions of vertical
    markers (e.g. roll days); ``stacked``: the "bars" series stack on one bar per x (positive
    values above 0, negative below) instead of standing side by side.
    """

    name: str  # file stem: letters, digits, '_' and '-'
    title: str
    xlabel: str
    ylabel: str
    series: tuple[PlotSeries, ...]
    diagonal: bool = False
    hline: float | None = None
    log_x: bool = False
    caption: str = ""
    x_dates: bool = False
    vlines: tuple[float, ...] = ()
    stacked: bool = False


@dataclass(frozen=True)
class MatrixPanel:
    """One annotated matrix (e.g. a confusion matrix): ``values`` is rows x columns."""

    label: str
    values: Sequence[Sequence[float]]
    row_labels: tuple[str, ...]
    col_labels: tuple[str, ...]


@dataclass(frozen=True)
class MatrixFigure:
    """One or more heat-map panels side by side (one per model when comparing).

    ``annotate``: write each cell's value (small matrices); otherwise a colour bar, and at most
    about a dozen tick labels per axis (large maps such as attention weights)."""

    name: str
    title: str
    xlabel: str
    ylabel: str
    panels: tuple[MatrixPanel, ...]
    value_format: str = ".2f"
    caption: str = ""
    annotate: bool = True


@dataclass(frozen=True)
class BarFigure:
    """Labelled horizontal bars, first label on top (feature importances, a waterfall).

    ``starts`` (empty, or one per bar) offsets each bar: a bar spans ``starts[i]`` to
    ``starts[i] + values[i]``, which draws a waterfall; ``signed`` colours bars by the sign of
    their value; ``errors`` (empty, or one per bar) adds error whiskers.
    """

    name: str
    title: str
    xlabel: str
    labels: tuple[str, ...]
    values: tuple[float, ...]
    starts: tuple[float, ...] = ()
    errors: tuple[float, ...] = ()
    signed: bool = False
    vline: float | None = None
    caption: str = ""


FigureSpec = LineFigure | MatrixFigure | BarFigure


@dataclass(frozen=True)
class ReportTable:
    """A table for the HTML page: cells are already formatted strings."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str = ""


@dataclass(frozen=True)
class WrittenReport:
    """Where a rich report went: the JSON payload, the HTML page and one PNG per figure."""

    json_path: str
    html_path: str
    figure_paths: Mapping[str, str] = field(default_factory=dict)


class BenchmarkReportWriter(Protocol):
    """Writes a benchmark / compare report: JSON payload, PNG figures and one self-contained
    HTML page (figures embedded, tables as HTML)."""

    def write(
        self,
        report_id: str,
        payload: Mapping[str, Any],
        figures: Sequence[FigureSpec],
        tables: Sequence[ReportTable] = (),
        title: str = "",
    ) -> WrittenReport:
        """Store the report ``report_id`` (replacing one of the same id); NaN and infinities
        in ``payload`` become JSON null."""
        ...


# --- reading written reports back (the dashboard shows their figures) ----------------------------
@dataclass(frozen=True)
class ReportFigure:
    """One figure of a written report: its name (``reliability``) and its PNG bytes."""

    name: str
    png: bytes


class ReportFigures(Protocol):
    def figures(self, report_path: str, max_bytes: int) -> list[ReportFigure]:
        """The figures of the report at ``report_path`` (its JSON or HTML, under the runs root),
        by name, at most ``max_bytes`` in all; NotFound outside the root or when there is none,
        InvalidArgument when the path is not a report."""
        ...
