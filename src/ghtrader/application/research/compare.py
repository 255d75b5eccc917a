"""CompareModels: several model families benchmarked on IDENTICAL walk-forward folds.

The frame is loaded once and the plan built once; every family is fitted and scored on the same
train / validation / test rows (the plan fingerprint in each report proves it). The result is
one table (mean ± std over folds per metric and family) and overlaid figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from ghtrader.application.errors import InvalidArgument
from ghtrader.application.ports.models import FeatureFrame, ModelFamily
from ghtrader.application.ports.reports import BenchmarkReportWriter
from ghtrader.application.progress import ProgressCallback, no_progress
from ghtrader.application.reporting import make_run_id, to_jsonable
from ghtrader.application.research.benchmark import RunBenchmark
from ghtrader.application.research.benchmark_figures import (
    SUMMARY_METRICS,
    benchmark_figures,
    benchmark_tables,
    format_mean_std,
)
from ghtrader.application.research.benchmark_report import (
    BenchmarkReport,
    BenchmarkRequest,
)

__all__ = ["CompareModels", "CompareRequest", "ComparisonReport"]


@dataclass(frozen=True)
class CompareRequest:
    """Families to compare (names for the ModelFamilies lookup) and the shared benchmark setup
    (``base.family`` is ignored)."""

    families: tuple[str, ...]
    base: BenchmarkRequest


@dataclass
class ComparisonReport:
    """One benchmark per family on the same folds, plus the side-by-side table."""

    report_id: str
    families: tuple[str, ...]
    plan_fingerprint: str
    table: dict[str, dict[str, dict[str, float]]]  # metric -> family -> {mean, std, n}
    reports: list[BenchmarkReport]
    notes: list[str]
    report_paths: dict[str, Any] | None = None

    def to_payload(self) -> dict[str, Any]:
        return {
            "report_id": self.report_id,
            "families": list(self.families),
            "plan_fingerprint": self.plan_fingerprint,
            "table": self.table,
            "notes": self.notes,
            "reports": [r.to_payload() for r in self.reports],
        }

    def formatted_table(self) -> list[tuple[str, ...]]:
        """Rows ``(metric, "mean ± std" per family)`` in the summary order."""
        rows = []
        for key, spec in SUMMARY_METRICS:
            if key in self.table:
                cells = self.table[key]
                rows.append(
                    (
                        key,
                        *(
                            format_mean_std(cells[f]["mean"], cells[f]["std"], spec) if f in cells else "-"
                            for f in self.families
                        ),
                    )
                )
        return rows


class CompareModels:
    """Run :class:`RunBenchmark` for several families on one frame and one walk-forward plan."""

    def __init__(self, *, benchmark: RunBenchmark, writer: BenchmarkReportWriter | None = None) -> None:
        self._benchmark = benchmark
        self._writer = writer

    def __call__(
        self,
        request: CompareRequest,
        progress: ProgressCallback = no_progress,
        *,
        frame: FeatureFrame | None = None,
        families: Sequence[ModelFamily] | None = None,
    ) -> ComparisonReport:
        """Compare ``families`` (objects) or ``request.families`` (names) on ``frame`` (or the
        frame source's frame)."""
        fams = (
            list(families)
            if families is not None
            else [self._benchmark.resolve_family(replace(request.base, family=name), None) for name in request.families]
        )
        if len(fams) < 2:
            raise InvalidArgument("compare needs at least two model families")
        names = [f.name for f in fams]
        if len(set(names)) != len(names):
            raise InvalidArgument(f"model families repeated: {names}")
        base = request.base
        frame, provenance = self._benchmark.load_frame(base, frame)
        plan = self._benchmark.plan(base, frame)
        context = self._benchmark.context(base, frame)
        n = len(fams)
        reports: list[BenchmarkReport] = []
        for i, fam in enumerate(fams):

            def sub(done: int, total: int, message: str, _i: int = i) -> None:
                frac = done / total if total else 1.0
                progress(min(int(1000 * (_i + frac) / n), 999), 1000, message)

            sub_request = replace(base, family=fam.name, report_id=None, write_report=False)
            report = self._benchmark.run_on_plan(sub_request, fam, frame, plan, sub, context=context)
            report.provenance = provenance
            reports.append(report)
        table: dict[str, dict[str, dict[str, float]]] = {}
        for r in reports:
            for key, s in r.summary.items():
                table.setdefault(key, {})[r.family] = {"mean": s.mean, "std": s.std, "n": s.n}
        notes = sorted({note for r in reports for note in r.notes})
        label = "_".join(names)
        report_id = base.report_id or make_run_id(
            self._benchmark.now_ns(), f"compare_{label}_{frame.symbol}_h{base.horizon}"
        )
        out = ComparisonReport(
            report_id=report_id,
            families=tuple(names),
            plan_fingerprint=reports[0].plan_fingerprint,
            table=table,
            reports=reports,
            notes=notes,
        )
        if base.write_report and self._writer is not None:
            written = self._writer.write(
                report_id,
                out.to_payload(),
                benchmark_figures(reports),
                benchmark_tables(reports),
                title=f"Compare {', '.join(names)} on {frame.symbol} (h={base.horizon})",
            )
            out.report_paths = to_jsonable(written)
        progress(1000, 1000, f"compared {n} families on {len(plan.splits)} folds")
        return out
