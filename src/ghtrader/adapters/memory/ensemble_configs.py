"""``InMemoryEnsembleConfigStore``: the EnsembleConfigStore port in a dict (tests, memory backend)."""

from __future__ import annotations

import builtins
import threading
from dataclasses import replace

from ghtrader.application.errors import NotFound
from ghtrader.application.ports.ensembles import EnsembleConfig

__all__ = ["InMemoryEnsembleConfigStore"]


class InMemoryEnsembleConfigStore:
    """EnsembleConfigStore in process memory. Thread-safe."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, int], EnsembleConfig] = {}
        self._lock = threading.Lock()

    def _versions(self, ensemble_id: str) -> builtins.list[EnsembleConfig]:
        return sorted((c for (e, _), c in self._rows.items() if e == ensemble_id), key=lambda c: c.version)

    def save(self, config: EnsembleConfig) -> EnsembleConfig:
        with self._lock:
            versions = self._versions(config.ensemble_id)
            active = next((c for c in versions if c.active), None)
            if active is not None and active.config_hash == config.config_hash:
                return active
            for c in versions:
                self._rows[(c.ensemble_id, c.version)] = replace(c, active=False)
            saved = replace(config, version=(versions[-1].version if versions else 0) + 1, active=True)
            self._rows[(saved.ensemble_id, saved.version)] = saved
            return saved

    def get(self, ensemble_id: str, version: int | None = None) -> EnsembleConfig | None:
        with self._lock:
            if version is not None:
                return self._rows.get((ensemble_id, int(version)))
            return next((c for c in self._versions(ensemble_id) if c.active), None)

    def list(self, ensemble_id: str | None = None) -> builtins.list[EnsembleConfig]:
        with self._lock:
            rows = [c for c in self._rows.values() if ensemble_id is None or c.ensemble_id == ensemble_id]
            return sorted(rows, key=lambda c: (c.ensemble_id, c.version))

    def activate(self, ensemble_id: str, version: int) -> EnsembleConfig:
        with self._lock:
            if (ensemble_id, int(version)) not in self._rows:
                raise NotFound(f"no ensemble {ensemble_id!r} version {version}")
            for c in self._versions(ensemble_id):
                self._rows[(ensemble_id, c.version)] = replace(c, active=c.version == int(version))
            return self._rows[(ensemble_id, int(version))]
