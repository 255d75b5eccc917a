"""CompareModels: several families on identical walk-forward folds, one table, overlaid figures."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from ghtrader.adapters.linear import LogisticFamily
from ghtrader.adapters.onnx.runtime import OnnxInferenceRuntime
from ghtrader.adapters.reports import MatplotlibBenchmarkReportWriter
from ghtrader.application.errors import InvalidArgument
from ghtrader.application.research.benchmark import RunBenchmark
from ghtrader.application.research.compare import CompareModels, CompareRequest
from ghtrader.application.research.families import FamilyRegistry
from tests.fakes.frames import synthetic_frame
from tests.fakes.system import FakeClock

from .bench_families import FRAME_ARGS, REQUEST, PriorFamily, RecordingFamily


def test_families_share_identical_folds_and_one_table(tmp_path: Path) -> None:
    logistic = RecordingFamily(LogisticFamily())
    prior = RecordingFamily(PriorFamily())
    writer = MatplotlibBenchmarkReportWriter(tmp_path)
    bench = RunBenchmark(families=FamilyRegistry([logistic, prior]), runtime=OnnxInferenceRuntime(), clock=FakeClock())
    progress: list[tuple[int, int, str]] = []
    out = CompareModels(benchmark=bench, writer=writer)(
        CompareRequest(("logistic", "prior"), REQUEST),
        lambda d, t, m: progress.append((d, t, m)),
        frame=synthetic_frame(**FRAME_ARGS),
    )

    assert out.families == ("logistic", "prior")
    assert {r.plan_fingerprint for r in out.reports} == {out.plan_fingerprint}
    assert [f.test_rows for f in out.reports[0].folds] == [f.test_rows for f in out.reports[1].folds]
    for a, b in zip(logistic.train_times, prior.train_times, strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(logistic.valid_times, prior.valid_times, strict=True):
        np.testing.assert_array_equal(a, b)

    table = out.table["macro_f1"]
    assert table["logistic"]["mean"] > table["prior"]["mean"]
    assert table["logistic"]["mean"] == pytest.approx(out.reports[0].summary["macro_f1"].mean)
    rows = {r[0]: r[1:] for r in out.formatted_table()}
    assert " ± " in rows["macro_f1"][0] and len(rows["macro_f1"]) == 2
    assert any("prior cannot export ONNX" in n for n in out.notes)

    assert progress[-1][0] == progress[-1][1] == 1000
    assert all(a[0] <= b[0] for a, b in itertools.pairwise(progress))

    paths = out.report_paths
    assert paths is not None
    data = json.loads(Path(paths["json_path"]).read_text(encoding="utf-8"))
    assert [r["family"] for r in data["reports"]] == ["logistic", "prior"]
    assert len(paths["figure_paths"]) == 5
    html = Path(paths["html_path"]).read_text(encoding="utf-8")
    assert "<th>logistic</th><th>prior</th>" in html


def test_compare_needs_two_distinct_families() -> None:
    bench = RunBenchmark(clock=FakeClock())
    compare = CompareModels(benchmark=bench)
    frame = synthetic_frame(**FRAME_ARGS)
    with pytest.raises(InvalidArgument, match="at least two"):
        compare(CompareRequest(("prior",), REQUEST), frame=frame, families=[PriorFamily()])
    with pytest.raises(InvalidArgument, match="repeated"):
        compare(
            CompareRequest((), replace(REQUEST, write_report=False)),
            frame=frame,
            families=[PriorFamily(), PriorFamily()],
        )
