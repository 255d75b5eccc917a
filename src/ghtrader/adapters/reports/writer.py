"""BenchmarkReportWriter on the file system: ``<root>/<folder>/<id>.json``, ``<id>.html`` and
``<id>/<figure>.png``, each written atomically (temp file + rename)."""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ghtrader.adapters.reports.figures import render_png
from ghtrader.adapters.reports.html_page import render_html
from ghtrader.application.ports.reports import FigureSpec, ReportTable, WrittenReport
from ghtrader.application.reporting import to_jsonable

__all__ = ["MatplotlibBenchmarkReportWriter"]

_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,199}")
_FIG_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")


def _finite(value: Any) -> Any:
    """JSON-ready value with NaN / infinities as None (strict JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # reports are for reading (mkstemp creates 0600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class MatplotlibBenchmarkReportWriter:
    """Benchmark / compare reports under ``root / folder`` (usually ``runs/benchmarks``)."""

    def __init__(
        self, root: Path, folder: str = "benchmarks", stamp: Callable[[], Mapping[str, Any]] | None = None
    ) -> None:
        self._dir = Path(root) / folder
        self._stamp = stamp  # fields every report JSON gets unless its payload sets them (the code version)

    @property
    def directory(self) -> Path:
        return self._dir

    def write(
        self,
        report_id: str,
        payload: Mapping[str, Any],
        figures: Sequence[FigureSpec],
        tables: Sequence[ReportTable] = (),
        title: str = "",
    ) -> WrittenReport:
        if not isinstance(report_id, str) or _ID_RE.fullmatch(report_id) is None or ".." in report_id:
            raise ValueError(
                f"invalid report id {report_id!r}: expected letters, digits, '.', '_', '-', '@' (no path separators)"
            )
        names = [f.name for f in figures]
        bad = [n for n in names if _FIG_RE.fullmatch(n) is None]
        if bad or len(set(names)) != len(names):
            raise ValueError(f"figure names must be unique file stems of letters, digits, '_', '-': got {names}")

        if self._stamp is not None:
            payload = {**self._stamp(), **payload}
        text = json.dumps(_finite(to_jsonable(dict(payload))), indent=2, sort_keys=True, allow_nan=False)
        json_path = self._dir / f"{report_id}.json"
        _write_atomically(json_path, (text + "\n").encode("utf-8"))

        pngs: dict[str, bytes] = {}
        figure_paths: dict[str, str] = {}
        for spec in figures:
            data = render_png(spec)
            path = self._dir / report_id / f"{spec.name}.png"
            _write_atomically(path, data)
            pngs[spec.name] = data
            figure_paths[spec.name] = str(path)

        meta = [("report", report_id), ("data", json_path.name)]
        page = render_html(title or report_id, tables, figures, pngs, meta)
        html_path = self._dir / f"{report_id}.html"
        _write_atomically(html_path, page.encode("utf-8"))
        return WrittenReport(json_path=str(json_path), html_path=str(html_path), figure_paths=figure_paths)
