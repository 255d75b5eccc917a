"""ReportService over the real gRPC stack and the filesystem adapter: a report's figures come back
by name within the budget; paths outside the runs folder and non-reports are refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ghtrader.adapters.filesystem.report_figures import FilesystemReportFigures
from ghtrader.interfaces.client import ApiError, GhTraderClient
from ghtrader.interfaces.grpc.server import GrpcServer, ServerOptions
from ghtrader.interfaces.grpc.servicers.reports import reports_service


@pytest.fixture()
def served(tmp_path: Path) -> Iterator[tuple[GhTraderClient, Path]]:
    runs = tmp_path / "runs"
    figs = runs / "benchmarks" / "b1"
    figs.mkdir(parents=True)
    (runs / "benchmarks" / "b1.json").write_text("{}")
    (figs / "reliability.png").write_bytes(b"\x89PNG-reliability")
    (figs / "alpha_decay.png").write_bytes(b"\x89PNG-alpha" + b"x" * 100)
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "x.png").write_bytes(b"\x89PNG-not-yours")
    server = GrpcServer(ServerOptions(host="127.0.0.1", port=0), [reports_service(FilesystemReportFigures(runs))])
    server.start()
    client = GhTraderClient(server.target)
    try:
        yield client, runs
    finally:
        client.close()
        server.stop(grace_s=0.5)


def test_figures_come_back_by_name(served: tuple[GhTraderClient, Path]) -> None:
    client, runs = served
    for path in (runs / "benchmarks" / "b1.json", runs / "benchmarks" / "b1.html"):
        got = client.report_figures(str(path))
        assert [n for n, _ in got] == ["alpha_decay", "reliability"]
        assert dict(got)["reliability"] == b"\x89PNG-reliability"
    # the budget: the first figure alone is over 20 bytes, so nothing fits
    assert client.report_figures(str(runs / "benchmarks" / "b1.json"), max_bytes=20) == []


def test_refusals(served: tuple[GhTraderClient, Path]) -> None:
    client, runs = served
    with pytest.raises(ApiError) as e:
        client.report_figures(str(runs.parent / "secret.json"))  # outside the runs folder
    assert e.value.code == "NOT_FOUND"
    with pytest.raises(ApiError) as e:
        client.report_figures(str(runs / "benchmarks" / ".." / ".." / "secret.json"))
    assert e.value.code == "NOT_FOUND"
    with pytest.raises(ApiError) as e:
        client.report_figures(str(runs / "benchmarks" / "b1.png"))
    assert e.value.code == "INVALID_ARGUMENT"
    with pytest.raises(ApiError) as e:
        client.report_figures(str(runs / "benchmarks" / "none.json"))
    assert e.value.code == "NOT_FOUND"
    with pytest.raises(ApiError) as e:
        client.report_figures(str(runs / "benchmarks" / "b1.json"), max_bytes=0)
    assert e.value.code == "INVALID_ARGUMENT"


def test_the_writers_own_layout_is_read_back(tmp_path: Path) -> None:
    """A report written by the project's report writer: its PNGs are what comes back."""
    from ghtrader.adapters.reports import MatplotlibBenchmarkReportWriter
    from ghtrader.application.ports.reports import LineFigure, PlotSeries

    writer = MatplotlibBenchmarkReportWriter(tmp_path / "runs")
    fig = LineFigure("reliability", "Reliability", "predicted", "observed", (PlotSeries("m", [0.0, 1.0], [0.1, 0.9]),))
    written = writer.write("bench-1", {"x": 1}, [fig])
    got = FilesystemReportFigures(tmp_path / "runs").figures(written.html_path, 1 << 20)
    assert [f.name for f in got] == ["reliability"]
    assert got[0].png == Path(written.figure_paths["reliability"]).read_bytes() and got[0].png.startswith(b"\x89PNG")
