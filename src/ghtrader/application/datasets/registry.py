"""SyncFeatureRegistry: mirror the domain factor registry into ``ghtrader_feature_registry_v2``.

Each factor becomes one row keyed by (name, version) with its definition hash, the raw tick
columns it reads (its lineage), its output dtype, lookback and TTL. Stored factors that are no
longer registered (or whose version moved on) are marked deprecated; a factor that comes back
is un-deprecated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ghtrader.application.ports.clock import Clock
from ghtrader.application.ports.datasets import DatasetStore, FeatureDefinition
from ghtrader.domain.factors import FactorSpec, registry
from ghtrader.domain.factors.generated import is_generated

__all__ = ["SyncFeatureRegistry", "SyncFeatureRegistryResult", "feature_definition"]


def feature_definition(spec: FactorSpec) -> FeatureDefinition:
    """The registry row of one factor spec."""
    return FeatureDefinition(
        feature_name=spec.name,
        version=int(spec.version),
        definition_hash=spec.definition_hash,
        input_columns=tuple(spec.inputs),
        output_dtype=spec.dtype,
        lookback_ticks=int(spec.lookback),
        ttl_seconds=float(spec.ttl_s),
    )


@dataclass
class SyncFeatureRegistryResult:
    registered: int  # factors in the domain registry
    added: list[str] = field(default_factory=list)  # "name@version" newly stored
    updated: list[str] = field(default_factory=list)  # stored, definition changed (or revived)
    deprecated: list[str] = field(default_factory=list)  # stored, no longer registered


class SyncFeatureRegistry:
    """Write the factor registry's definitions to the DatasetStore (idempotent)."""

    def __init__(self, *, datasets: DatasetStore, clock: Clock) -> None:
        self._datasets = datasets
        self._clock = clock

    def __call__(self, specs: Sequence[FactorSpec] | None = None) -> SyncFeatureRegistryResult:
        """Sync ``specs`` (default: every registered factor) and deprecate the rest."""
        current = [feature_definition(s) for s in (registry() if specs is None else specs)]
        stored = {(r.feature_name, r.version): r for r in self._datasets.feature_registry()}
        result = SyncFeatureRegistryResult(registered=len(current))
        changes: list[FeatureDefinition] = []
        for d in current:
            key = (d.feature_name, d.version)
            old = stored.get(key)
            tag = f"{d.feature_name}@{d.version}"
            if old is None:
                result.added.append(tag)
                changes.append(d)
            elif (
                old.definition_hash,
                tuple(old.input_columns),
                old.output_dtype,
                old.lookback_ticks,
                old.ttl_seconds,
                old.deprecated_at_ns,
            ) != (d.definition_hash, d.input_columns, d.output_dtype, d.lookback_ticks, d.ttl_seconds, None):
                result.updated.append(tag)
                changes.append(d)
        live = {(d.feature_name, d.version) for d in current}
        now_ns = self._clock.now_ns()
        if specs is None:  # only a full sync knows what left the registry
            for key, old in sorted(stored.items()):
                # generated features (gen__...) are registered by feature selection, not the factor catalog
                if key not in live and old.deprecated_at_ns is None and not is_generated(old.feature_name):
                    result.deprecated.append(f"{key[0]}@{key[1]}")
                    changes.append(
                        FeatureDefinition(
                            old.feature_name,
                            old.version,
                            old.definition_hash,
                            tuple(old.input_columns),
                            old.output_dtype,
                            old.lookback_ticks,
                            old.ttl_seconds,
                            deprecated_at_ns=now_ns,
                        )
                    )
        if changes:
            self._datasets.upsert_features(changes)
        return result
