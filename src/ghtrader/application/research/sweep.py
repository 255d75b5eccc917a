"""``RunSweep``: a grid or random search over one family's hyper-parameters, every point
benchmarked on IDENTICAL walk-forward folds (through :class:`CompareModels`), results in one
comparison report whose columns are the points (``lightgbm[learning_rate=0.05,num_leaves=15]``).

Grid: every combination of the values given. Random: ``samples`` distinct combinations drawn
(seeded) from the same grid. A parameter name the family does not know is refused before any
training (the family's ``default_params``).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ghtrader.application.errors import InvalidArgument
from ghtrader.application.ports.models import FeatureFrame, ModelFamilies, ModelFamily, TrainConfig, TrainedModel
from ghtrader.application.progress import ProgressCallback, no_progress
from ghtrader.application.research.benchmark_report import BenchmarkRequest
from ghtrader.application.research.compare import CompareModels, CompareRequest, ComparisonReport

__all__ = ["MAX_SWEEP_POINTS", "ParamsVariant", "RunSweep", "SweepRequest", "sweep_points"]

MAX_SWEEP_POINTS = 64


@dataclass(frozen=True)
class SweepRequest:
    family: str
    grid: Mapping[str, Sequence[Any]]  # parameter -> values to try
    base: BenchmarkRequest  # data, splits and costs shared by every point (base.family ignored)
    mode: str = "grid"  # grid | random
    samples: int = 8  # random: points drawn
    seed: int = 0  # random: the draw's seed


def sweep_points(
    grid: Mapping[str, Sequence[Any]], mode: str = "grid", samples: int = 8, seed: int = 0
) -> list[dict[str, Any]]:
    """The parameter points of a sweep, in a deterministic order (see module docstring)."""
    if not grid:
        raise InvalidArgument("a sweep needs at least one parameter with values (e.g. num_leaves=15,31)")
    for name, values in grid.items():
        if not values:
            raise InvalidArgument(f"sweep parameter {name!r} has no values")
        if len(set(map(repr, values))) != len(values):
            raise InvalidArgument(f"sweep parameter {name!r} repeats a value: {list(values)}")
    names = sorted(grid)
    combos = [dict(zip(names, values, strict=True)) for values in itertools.product(*(grid[n] for n in names))]
    if mode == "grid":
        chosen = combos
    elif mode == "random":
        if samples < 1:
            raise InvalidArgument(f"random sweep samples must be >= 1, got {samples}")
        chosen = random.Random(seed).sample(combos, min(samples, len(combos)))
    else:
        raise InvalidArgument(f"sweep mode must be grid or random, got {mode!r}")
    if len(chosen) > MAX_SWEEP_POINTS:
        raise InvalidArgument(
            f"{len(chosen)} sweep points exceed the limit of {MAX_SWEEP_POINTS}: use fewer values or --random N"
        )
    if len(chosen) < 2:
        raise InvalidArgument("a sweep needs at least two points to compare: give a parameter two values")
    return chosen


def _label(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


class ParamsVariant:
    """A ModelFamily that is ``base`` with some hyper-parameters fixed (one sweep point)."""

    def __init__(self, base: ModelFamily, params: Mapping[str, Any]) -> None:
        self.base = base
        self.params = dict(params)
        self.kind = base.kind
        inner = ",".join(f"{k}={_label(v)}" for k, v in sorted(self.params.items()))
        self.name = f"{base.name}[{inner}]"

    def default_params(self) -> dict[str, Any]:
        return {**self.base.default_params(), **self.params}

    def fit(
        self, train: FeatureFrame, valid: FeatureFrame, config: TrainConfig, progress: ProgressCallback
    ) -> TrainedModel:
        return self.base.fit(train, valid, replace(config, params={**config.params, **self.params}), progress)

    def load(self, directory: Path) -> TrainedModel:
        return self.base.load(directory)


class RunSweep:
    """Benchmark every point of a sweep on one frame and one plan (module docstring)."""

    def __init__(self, *, families: ModelFamilies, compare: CompareModels) -> None:
        self._families = families
        self._compare = compare

    def __call__(
        self, request: SweepRequest, progress: ProgressCallback = no_progress, *, frame: FeatureFrame | None = None
    ) -> ComparisonReport:
        """Every point of ``request`` on ``frame`` (or the frame source's frame)."""
        family = self._families.get(request.family)
        known = family.default_params()
        unknown = sorted(set(request.grid) - set(known))
        if unknown:
            raise InvalidArgument(f"unknown {request.family} params {unknown}; known: {sorted(known)}")
        points = sweep_points(request.grid, request.mode, request.samples, request.seed)
        variants = [ParamsVariant(family, p) for p in points]
        compare = CompareRequest(families=tuple(v.name for v in variants), base=request.base)
        return self._compare(compare, progress, frame=frame, families=variants)
