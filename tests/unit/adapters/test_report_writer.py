"""The matplotlib benchmark report writer: JSON (strict), PNGs and one self-contained HTML."""

from __future__ import annotations

import base64
import json
import math
from pathlib import Path

import numpy as np
import pytest

from ghtrader.adapters.reports import MatplotlibBenchmarkReportWriter
from ghtrader.application.ports.reports import (
    LineFigure,
    MatrixFigure,
    MatrixPanel,
    PlotSeries,
    ReportTable,
)

FIGURES = (
    LineFigure(
        "curves",
        "All styles",
        "x",
        "y",
        (
            PlotSeries("line", [0, 1, 2], [0.0, 1.0, 0.5]),
            PlotSeries("points", [0, 1, 2], [0.2, 0.4, 0.6], "points", group="line"),
            PlotSeries("step", [0, 1, 2], [1, 0, 1], "step", dashed=True),
            PlotSeries("markers", [0, 1, 2], [0.3, 0.1, 0.2], "markers", color="0.6"),
            PlotSeries("bars", [0, 1, 2], [0.1, 0.2, 0.3], "bars"),
        ),
        diagonal=True,
        hline=0.0,
        caption="a caption",
    ),
    LineFigure("logx", "Log x", "h", "ic", (PlotSeries("m", [10, 50, 200], [0.4, 0.2, 0.1], "points"),), log_x=True),
    LineFigure(
        "dated",
        "Dates",
        "trading day",
        "oi",
        (PlotSeries("cu2405", [19800, 19801, 19804], [5.0, 6.0, 9.0]),),
        x_dates=True,
        vlines=(19801.0,),
    ),
    MatrixFigure(
        "matrix",
        "Two panels",
        "pred",
        "true",
        (
            MatrixPanel("a", [[0.5, 0.5], [math.nan, 1.0]], ("x", "y"), ("x", "y")),
            MatrixPanel("b", [[1, 0], [0, 1]], ("x", "y"), ("x", "y")),
        ),
    ),
)


def test_writes_json_pngs_and_html(tmp_path: Path) -> None:
    writer = MatplotlibBenchmarkReportWriter(tmp_path)
    payload = {
        "a": 1.5,
        "nan": float("nan"),
        "inf": float("inf"),
        "arr": np.array([1.0, np.nan]),
        "nested": {"x": np.float64(2.0)},
    }
    table = ReportTable("T <1>", ("metric", "value"), (("acc", "0.5 ± 0.1"),), caption="c & d")
    out = writer.write("rep_1", payload, FIGURES, [table], title="Title")

    assert Path(out.json_path) == tmp_path / "benchmarks" / "rep_1.json"
    data = json.loads(Path(out.json_path).read_text(encoding="utf-8"), parse_constant=pytest.fail)
    assert data == {"a": 1.5, "nan": None, "inf": None, "arr": [1.0, None], "nested": {"x": 2.0}}
    assert set(out.figure_paths) == {"curves", "logx", "dated", "matrix"}
    pngs = {name: Path(p).read_bytes() for name, p in out.figure_paths.items()}
    for data_png in pngs.values():
        assert data_png[:8] == b"\x89PNG\r\n\x1a\n" and len(data_png) > 5_000
    html = Path(out.html_path).read_text(encoding="utf-8")
    for data_png in pngs.values():  # every figure is embedded, byte for byte
        assert "data:image/png;base64," + base64.b64encode(data_png).decode("ascii") in html
    assert "<h2>T &lt;1&gt;</h2>" in html and "<td>0.5 ± 0.1</td>" in html and "c &amp; d" in html
    assert "<title>Title</title>" in html


def test_rewrite_replaces_and_rejects_bad_names(tmp_path: Path) -> None:
    writer = MatplotlibBenchmarkReportWriter(tmp_path, folder="cmp")
    writer.write("r", {"v": 1}, FIGURES[:1])
    out = writer.write("r", {"v": 2}, FIGURES[:1])
    assert json.loads(Path(out.json_path).read_text(encoding="utf-8")) == {"v": 2}
    assert sorted(p.name for p in (tmp_path / "cmp").iterdir()) == ["r", "r.html", "r.json"]
    for bad in ("../x", "a/b", "", ".hidden"):
        with pytest.raises(ValueError, match="invalid report id"):
            writer.write(bad, {}, ())
    with pytest.raises(ValueError, match="figure names"):
        writer.write("r2", {}, (FIGURES[0], FIGURES[0]))
    with pytest.raises(ValueError, match="figure names"):
        writer.write("r3", {}, (LineFigure("bad name", "t", "x", "y", ()),))


def test_dated_axes_and_vertical_markers() -> None:
    from matplotlib import dates as mdates

    from ghtrader.adapters.reports.figures import _line

    fig = _line(FIGURES[2])
    (ax,) = fig.axes
    assert isinstance(ax.xaxis.get_major_formatter(), mdates.ConciseDateFormatter)
    vertical = [ln for ln in ax.get_lines() if list(ln.get_xdata()) == [19801.0, 19801.0]]
    assert len(vertical) == 1  # the roll marker


def test_the_stamp_records_the_code_version_in_the_report_json(tmp_path: Path) -> None:
    writer = MatplotlibBenchmarkReportWriter(tmp_path, stamp=lambda: {"git_commit": "abc", "git_dirty": False})
    out = writer.write("rep_2", {"a": 1.0}, ())
    assert json.loads(Path(out.json_path).read_text()) == {"a": 1.0, "git_commit": "abc", "git_dirty": False}
