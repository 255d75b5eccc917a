"""Generated features in training frames, and their rows in the feature registry.

:class:`GeneratedFrameSource` wraps any FrameSource: names that are generated features
(``gen__...``, see :mod:`ghtrader.domain.factors.generated`) are computed from their parent
factors, read with the stored columns, after the frame is loaded; other names pass through. So
train, benchmark and compare take generated features by name without storing them.
:func:`generated_definitions` gives their feature-registry rows (lineage: the parent factors as
input columns; operator and parameter are in the name and its definition hash).

Serving (backtest, trading runs) computes the same features with the online factor engine,
which evaluates generated features tick by tick with equal values
(:mod:`ghtrader.domain.factors.online_generated`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date

import numpy as np

from ghtrader.application.errors import InvalidArgument
from ghtrader.application.ports.datasets import FeatureDefinition
from ghtrader.application.ports.models import FeatureFrame, FrameProvenance, FrameSource
from ghtrader.domain.factors.generated import GeneratedSpec, compute_generated, is_generated, parse_generated
from ghtrader.domain.factors.spec import FactorError

__all__ = ["GeneratedFrameSource", "generated_definitions", "with_generated"]


def _specs(names: Sequence[str]) -> list[GeneratedSpec]:
    try:
        return [parse_generated(n) for n in names if is_generated(n)]
    except FactorError as exc:
        raise InvalidArgument(str(exc)) from exc


def with_generated(frame: FeatureFrame, names: Sequence[str]) -> FeatureFrame:
    """``frame`` with exactly the columns ``names``: stored ones copied, generated ones computed
    from their parents (which ``frame`` must hold)."""
    names = tuple(names)
    position = {n: j for j, n in enumerate(frame.feature_names)}
    specs = _specs(names)
    try:
        values = compute_generated(frame.features, frame.feature_names, frame.segment_id, specs)
    except FactorError as exc:
        raise InvalidArgument(str(exc)) from exc
    generated = {s.name: values[:, k] for k, s in enumerate(specs)}
    missing = [n for n in names if n not in generated and n not in position]
    if missing:
        raise InvalidArgument(f"features not in the frame: {', '.join(missing)}")
    columns = [generated[n] if n in generated else frame.features[:, position[n]] for n in names]
    features = np.ascontiguousarray(np.column_stack(columns), dtype=np.float32)
    return replace(frame, features=features, feature_names=names)


class GeneratedFrameSource:
    """FrameSource that adds generated features to another FrameSource's frames."""

    def __init__(self, base: FrameSource) -> None:
        self._base = base

    def load(
        self,
        symbol: str,
        ticks_lake: str,
        start_day: date,
        end_day: date,
        horizon: int,
        feature_names: Sequence[str],
    ) -> tuple[FeatureFrame, FrameProvenance]:
        names = tuple(feature_names)
        specs = _specs(names)
        if not specs:
            return self._base.load(symbol, ticks_lake, start_day, end_day, horizon, names)
        stored = [n for n in names if not is_generated(n)]
        read = tuple(dict.fromkeys([*stored, *(p for s in specs for p in s.parents)]))
        frame, provenance = self._base.load(symbol, ticks_lake, start_day, end_day, horizon, read)
        return with_generated(frame, names), provenance


def generated_definitions(names: Sequence[str]) -> list[FeatureDefinition]:
    """Feature-registry rows of the generated features among ``names`` (version 1)."""
    return [
        FeatureDefinition(
            feature_name=s.name,
            version=1,
            definition_hash=s.definition_hash,
            input_columns=tuple(s.parents),
            output_dtype="float32",
            lookback_ticks=s.lookback,
            ttl_seconds=None,
        )
        for s in _specs(names)
    ]
