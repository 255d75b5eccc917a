"""Sweep points (grid and seeded random) and the variant family that fixes hyper-parameters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ghtrader.adapters.linear import LogisticFamily
from ghtrader.adapters.reports import MatplotlibBenchmarkReportWriter
from ghtrader.application.errors import InvalidArgument
from ghtrader.application.ports.models import TrainConfig
from ghtrader.application.research.benchmark import RunBenchmark
from ghtrader.application.research.compare import CompareModels
from ghtrader.application.research.families import FamilyRegistry
from ghtrader.application.research.sweep import MAX_SWEEP_POINTS, ParamsVariant, RunSweep, SweepRequest, sweep_points
from tests.fakes.frames import synthetic_frame
from tests.fakes.system import FakeClock

from .bench_families import FRAME_ARGS, REQUEST


def test_grid_is_every_combination_in_a_fixed_order() -> None:
    pts = sweep_points({"num_leaves": [15, 31], "learning_rate": [0.05, 0.1, 0.2]})
    assert len(pts) == 6
    assert pts[0] == {"learning_rate": 0.05, "num_leaves": 15} and pts[-1] == {"learning_rate": 0.2, "num_leaves": 31}
    assert len({tuple(sorted(p.items())) for p in pts}) == 6


def test_random_draws_distinct_points_reproducibly() -> None:
    grid = {"a": list(range(10)), "b": [1, 2, 3]}
    one = sweep_points(grid, "random", samples=5, seed=3)
    assert one == sweep_points(grid, "random", samples=5, seed=3)
    assert len({tuple(sorted(p.items())) for p in one}) == 5
    assert all(p["a"] in grid["a"] and p["b"] in grid["b"] for p in one)
    assert len(sweep_points({"a": [1, 2]}, "random", samples=50)) == 2  # capped at the grid


def test_bad_sweeps_are_refused() -> None:
    for grid, mode, match in (
        ({}, "grid", "at least one"),
        ({"a": []}, "grid", "no values"),
        ({"a": [1, 1]}, "grid", "repeats"),
        ({"a": [1]}, "grid", "two points"),
        ({"a": [1, 2]}, "bayes", "grid or random"),
        ({"a": list(range(MAX_SWEEP_POINTS + 1))}, "grid", "limit"),
    ):
        with pytest.raises(InvalidArgument, match=match):
            sweep_points(grid, mode)


class _Family:
    name = "fake"
    kind = "tabular"

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    def default_params(self) -> dict[str, Any]:
        return {"depth": 3, "rate": 0.1}

    def fit(self, train: Any, valid: Any, config: TrainConfig, progress: Any) -> Any:
        self.seen.append(dict(config.params))
        return "model"

    def load(self, directory: Any) -> Any:
        return "loaded"


def test_variant_fixes_its_params_over_the_config_and_names_them() -> None:
    base = _Family()
    v = ParamsVariant(base, {"rate": 0.05, "depth": 5})  # type: ignore[arg-type]
    assert v.name == "fake[depth=5,rate=0.05]" and v.kind == "tabular"
    assert v.default_params() == {"depth": 5, "rate": 0.05}
    v.fit(None, None, TrainConfig(horizon=10, params={"rate": 0.3, "other": 1}), lambda *a: None)  # type: ignore[arg-type]
    assert base.seen == [{"rate": 0.05, "other": 1, "depth": 5}]


def test_a_sweep_benchmarks_every_point_on_identical_folds_in_one_report(tmp_path: Path) -> None:
    families = FamilyRegistry([LogisticFamily()])
    bench = RunBenchmark(families=families, clock=FakeClock())
    sweep = RunSweep(
        families=families, compare=CompareModels(benchmark=bench, writer=MatplotlibBenchmarkReportWriter(tmp_path))
    )
    frame = synthetic_frame(**FRAME_ARGS)
    with pytest.raises(InvalidArgument, match="unknown logistic params"):
        sweep(SweepRequest("logistic", {"depth": [1, 2]}, REQUEST), frame=frame)
    out = sweep(SweepRequest("logistic", {"max_iter": [3, 300]}, REQUEST), frame=frame)
    assert out.families == ("logistic[max_iter=3]", "logistic[max_iter=300]")
    assert set(out.table["macro_f1"]) == set(out.families)
    assert {r.plan_fingerprint for r in out.reports} == {out.plan_fingerprint}
    assert out.report_paths is not None and Path(out.report_paths["json_path"]).is_file()
