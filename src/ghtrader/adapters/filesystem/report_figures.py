"""ReportFigures on the runs folder: a rich report ``<dir>/<id>.json`` / ``<id>.html`` keeps its
figures in ``<dir>/<id>/<figure>.png`` (adapters/reports/writer.py); only files under the runs
root are read, whatever the path says."""

from __future__ import annotations

from pathlib import Path

from ghtrader.application.errors import InvalidArgument, NotFound
from ghtrader.application.ports.reports import ReportFigure

__all__ = ["FilesystemReportFigures"]


class FilesystemReportFigures:
    """Figures of the reports under ``root`` (the server's runs folder)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    def figures(self, report_path: str, max_bytes: int) -> list[ReportFigure]:
        if not report_path:
            raise InvalidArgument("report_path is required (a job's report, see `ghtrader jobs show`)")
        path = Path(report_path)
        if path.suffix not in (".json", ".html"):
            raise InvalidArgument(f"{report_path} is not a report (.json or .html)")
        folder = path.with_suffix("").resolve()
        if not folder.is_relative_to(self.root):
            raise NotFound(f"no report {report_path} under the server's runs folder")
        if not folder.is_dir():
            raise NotFound(f"report {report_path} has no figures")
        out: list[ReportFigure] = []
        left = int(max_bytes)
        for png in sorted(folder.glob("*.png")):
            size = png.stat().st_size
            if size > left:
                break  # the budget of one answer; the rest stay on disk
            out.append(ReportFigure(png.stem, png.read_bytes()))
            left -= size
        return out
