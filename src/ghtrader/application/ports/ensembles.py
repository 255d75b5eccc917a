"""Ensemble ports: the ONNX graph that combines member graphs, and the versioned store of
ensemble configurations (``ghtrader_ensemble_configs_v2``)."""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from ghtrader.application.ports.models import OnnxSignature

__all__ = ["EnsembleConfig", "EnsembleConfigStore", "EnsembleGraphWriter", "GraphCombination"]

GraphCombination = Literal["vote", "stack"]


class EnsembleGraphWriter(Protocol):
    """Writes one ONNX graph that runs every member graph on the shared raw-feature input."""

    def combine(
        self,
        member_graphs: Sequence[Path],
        path: Path,
        *,
        combination: GraphCombination,
        weights: np.ndarray,
        meta_weights: np.ndarray | None = None,
        meta_bias: np.ndarray | None = None,
        eps: float = 1e-6,
    ) -> OnnxSignature:
        """Write ``path``: input ``features`` (batch, f); outputs ``probabilities`` (batch, 3) =
        ``sum_k weights[k] * p_k`` ("vote") or ``softmax(log(max(p, eps)).flat @ meta_weights +
        meta_bias)`` ("stack"), ``disagreement`` (batch,) = the weighted mean total-variation
        distance of the members to their ``weights`` vote, and ``member_probabilities``
        (batch, K, 3)."""
        ...


@dataclass(frozen=True)
class EnsembleConfig:
    """One version of a named ensemble configuration.

    ``member_models`` are family names trained together inside each fold (e.g. ``logistic``);
    ``weights`` is empty (equal) or one per member; ``params`` holds the rest of the ensemble
    family's params (folds, holdout fraction, per-member params ...).
    """

    ensemble_id: str
    version: int
    member_models: tuple[str, ...]
    strategy: str
    weights: tuple[float, ...] = ()
    performance_window_days: int = 0
    params: Mapping[str, Any] = field(default_factory=dict)
    config_hash: str = ""
    created_at_ns: int = 0
    active: bool = True
    note: str = ""


class EnsembleConfigStore(Protocol):
    """Versioned ensemble configurations: every save appends a version; exactly one version of an
    ensemble is active (the newest, unless rolled back)."""

    def save(self, config: EnsembleConfig) -> EnsembleConfig:
        """Append ``config`` as the next version of its ensemble and make it active; returns it
        with ``version`` filled. A config whose hash equals the active version's returns that
        version unchanged (idempotent)."""
        ...

    def get(self, ensemble_id: str, version: int | None = None) -> EnsembleConfig | None:
        """``version`` of the ensemble, or its active version when None."""
        ...

    def list(self, ensemble_id: str | None = None) -> builtins.list[EnsembleConfig]:
        """Every version (of one ensemble when given), by ensemble id then version."""
        ...

    def activate(self, ensemble_id: str, version: int) -> EnsembleConfig:
        """Make ``version`` the active one (rollback); NotFound when it does not exist."""
        ...
