"""Named feature sets: the feature lists ``features select`` writes and ``train --features @name`` reads."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["FEATURE_SET_NAME", "FeatureSet", "FeatureSetStore"]

#: A feature set's name: letters, digits, '.', '_', '-' (it names a file).
FEATURE_SET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


@dataclass(frozen=True)
class FeatureSet:
    """An ordered list of feature names and how it was chosen (``selection``: the JSON-ready
    record of the selection run: scores, rounds, request)."""

    name: str
    features: tuple[str, ...]
    created_at_ns: int
    symbol: str = ""
    horizon: int = 0
    selection: Mapping[str, Any] = field(default_factory=dict)


class FeatureSetStore(Protocol):
    def save(self, feature_set: FeatureSet) -> str:
        """Store ``feature_set`` under its name (replacing one of the same name); where it went."""
        ...

    def get(self, name: str) -> FeatureSet | None:
        """The set named ``name``, None when there is none."""
        ...

    def list(self) -> list[FeatureSet]:
        """Every stored set, by name."""
        ...
