"""InMemoryFeatureSetStore: named feature sets in a dict (tests)."""

from __future__ import annotations

from ghtrader.application.ports.feature_sets import FeatureSet

__all__ = ["InMemoryFeatureSetStore"]


class InMemoryFeatureSetStore:
    def __init__(self) -> None:
        self._sets: dict[str, FeatureSet] = {}

    def save(self, feature_set: FeatureSet) -> str:
        self._sets[feature_set.name] = feature_set
        return f"memory:{feature_set.name}"

    def get(self, name: str) -> FeatureSet | None:
        return self._sets.get(name)

    def list(self) -> list[FeatureSet]:
        return [self._sets[k] for k in sorted(self._sets)]
