"""Named, versioned ensemble configurations and the families they define.

``EnsembleConfigs`` is the use case behind ``ghtrader ensemble create | list | show | rollback``:
a config is checked against the family registry (members, strategy, weights, params) before it
is stored, its hash covers everything that changes what is trained, and saving an unchanged
config returns the active version instead of adding one.

``StoredEnsembles`` resolves family names ``ensemble-<id>`` (the active version) and
``ensemble-<id>@<version>`` to an :class:`EnsembleFamily` with that config's params as its
defaults, so ``train``, ``benchmark``, ``compare`` and ``backtest`` take a stored ensemble by
name like any family.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from ghtrader.application.errors import FailedPrecondition, InvalidArgument, NotFound
from ghtrader.application.ports.clock import Clock
from ghtrader.application.ports.ensembles import EnsembleConfig, EnsembleConfigStore, EnsembleGraphWriter
from ghtrader.application.ports.models import CalibrationGraphWriter, ModelFamilies, ModelFamily, TrainConfig
from ghtrader.application.research.artifacts import config_hash
from ghtrader.application.research.calibration import CALIBRATION_PARAMS, CalibratedFamily
from ghtrader.application.research.ensemble import ENSEMBLE_DEFAULTS, EnsembleFamily
from ghtrader.application.research.ensemble_registered import RegisteredEnsembleFamily, RegisteredMembers

__all__ = ["PREFIX", "EnsembleConfigs", "StoredEnsembles", "family_params_of"]

PREFIX = "ensemble-"
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def family_params_of(config: EnsembleConfig) -> dict[str, Any]:
    """The ensemble family params (calibration keys included) a stored config stands for."""
    params = dict(config.params)
    params.update(
        members=list(config.member_models),
        strategy=config.strategy,
        weights=list(config.weights) or None,
        performance_window_days=int(config.performance_window_days),
        ensemble_config={"ensemble_id": config.ensemble_id, "version": config.version, "hash": config.config_hash},
    )
    return params


class EnsembleConfigs:
    """Create, list, show and roll back ensemble configurations (see the module docstring)."""

    def __init__(
        self,
        store: EnsembleConfigStore,
        families: ModelFamilies,
        graph: EnsembleGraphWriter,
        clock: Clock,
        registered: RegisteredMembers | None = None,
    ) -> None:
        self._store = store
        self._families = families
        self._graph = graph
        self._clock = clock
        self._registered = registered

    def create(
        self,
        ensemble_id: str,
        members: Sequence[str],
        strategy: str,
        *,
        weights: Sequence[float] = (),
        performance_window_days: int = 0,
        params: Mapping[str, Any] | None = None,
        note: str = "",
        registered: Sequence[str] = (),
    ) -> EnsembleConfig:
        """Check and store a config as the ensemble's next active version (or return the active
        one when nothing changed). ``registered`` (``model_id[@version]``, instead of
        ``members``): members are those registered model versions (pinned now), not families."""
        if not _ID.match(ensemble_id or ""):
            raise InvalidArgument(
                f"ensemble id {ensemble_id!r}: 1-64 letters, digits, '_', '.', '-' (starting with a letter or digit)"
            )
        if performance_window_days < 0:
            raise InvalidArgument(f"performance_window_days must be >= 0 (got {performance_window_days})")
        extra = dict(params or {})
        owned = {"members", "strategy", "weights", "performance_window_days", "ensemble_config", "registered"}
        if owned & set(extra):
            raise InvalidArgument(f"set {sorted(owned & set(extra))} with their own options, not as params")
        if registered:
            if members:
                raise InvalidArgument("give member families or registered members, not both")
            if self._registered is None:
                raise FailedPrecondition("this server has no model registry for registered ensemble members")
            members = self._registered.pin(list(registered))
            extra["registered"] = True
        config = EnsembleConfig(
            ensemble_id=ensemble_id,
            version=0,
            member_models=tuple(members),
            strategy=strategy,
            weights=tuple(float(w) for w in weights),
            performance_window_days=int(performance_window_days),
            params=extra,
            created_at_ns=int(self._clock.now_ns()),
            note=note,
        )
        if set(CALIBRATION_PARAMS) & set(extra):
            raise InvalidArgument(
                "calibration is not part of an ensemble config (the ensemble is calibrated as any family)"
            )
        family: EnsembleFamily | RegisteredEnsembleFamily
        if registered:
            assert self._registered is not None
            family = RegisteredEnsembleFamily(self._registered, self._graph, name=PREFIX + ensemble_id)
        else:
            family = EnsembleFamily(self._families, self._graph, name=PREFIX + ensemble_id)
        # the same checks fit() makes, before anything is stored
        family.check_params(TrainConfig(horizon=1, params=family_params_of(config)))
        digest = config_hash(
            {
                "members": list(config.member_models),
                "strategy": config.strategy,
                "weights": list(config.weights),
                "performance_window_days": config.performance_window_days,
                "params": extra,
            }
        )
        return self._store.save(replace(config, config_hash=digest))

    def list(self, ensemble_id: str | None = None) -> list[EnsembleConfig]:
        return self._store.list(ensemble_id or None)

    def show(self, ensemble_id: str, version: int | None = None) -> EnsembleConfig:
        found = self._store.get(ensemble_id, version)
        if found is None:
            raise NotFound(f"no ensemble {ensemble_id!r}" + (f" version {version}" if version else ""))
        return found

    def rollback(self, ensemble_id: str, version: int) -> EnsembleConfig:
        """Make an earlier (or any) version the active one."""
        return self._store.activate(ensemble_id, version)


class StoredEnsembles:
    """Family resolver for ``ensemble-<id>[@<version>]`` names (see the module docstring)."""

    def __init__(
        self,
        store: Callable[[], EnsembleConfigStore],
        families: ModelFamilies,
        graph: EnsembleGraphWriter,
        calibration: CalibrationGraphWriter,
        registered: RegisteredMembers | None = None,
    ) -> None:
        self._store = store
        self._families = families
        self._graph = graph
        self._calibration = calibration
        self._registered = registered

    def __call__(self, name: str) -> ModelFamily | None:
        if not name.startswith(PREFIX):
            return None
        ensemble_id, _, version = name[len(PREFIX) :].partition("@")
        if version and not version.isdigit():
            raise InvalidArgument(f"{name!r}: the version after '@' must be a whole number")
        config = self._store().get(ensemble_id, int(version) if version else None)
        if config is None:
            raise NotFound(f"no stored ensemble {ensemble_id!r}" + (f" version {version}" if version else ""))
        family: EnsembleFamily | RegisteredEnsembleFamily
        if config.params.get("registered"):
            if self._registered is None:
                raise FailedPrecondition(f"{name!r} has registered members but this process has no model registry")
            family = RegisteredEnsembleFamily(self._registered, self._graph, family_params_of(config), name=name)
        else:
            family = EnsembleFamily(
                self._families, self._graph, {**ENSEMBLE_DEFAULTS, **family_params_of(config)}, name=name
            )
        return CalibratedFamily(family, self._calibration)
