"""Ensemble configs: versioned saves (idempotent on an unchanged config), rollback, checks before
storing, and ``ensemble-<id>[@v]`` family names resolving to the stored config. The store
contract (``check_store_contract``) also runs on PostgreSQL in tests/integration."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ghtrader.adapters.memory.ensemble_configs import InMemoryEnsembleConfigStore
from ghtrader.application.errors import InvalidArgument, NotFound
from ghtrader.application.ports.ensembles import EnsembleConfig, EnsembleConfigStore
from ghtrader.application.research.calibration import CalibratedFamily
from ghtrader.application.research.ensemble import EnsembleFamily
from ghtrader.application.research.ensemble_configs import EnsembleConfigs, StoredEnsembles
from ghtrader.application.research.families import FamilyRegistry


class _Clock:
    def now_ns(self) -> int:
        return 1_800_000_000_000_000_000


class _Family:
    def __init__(self, name: str, kind: str = "tabular") -> None:
        self.name, self.kind = name, kind

    def default_params(self) -> dict:
        return {}


def check_store_contract(store: EnsembleConfigStore) -> None:
    base = EnsembleConfig("fast", 0, ("logistic", "lightgbm"), "stacking", config_hash="h1", created_at_ns=10**18)
    first = store.save(base)
    assert first.version == 1 and first.active
    assert store.save(replace(base, note="same hash")).version == 1  # unchanged: no new version
    second = store.save(replace(base, strategy="equal", weights=(0.5, 0.5), config_hash="h2", params={"x": [1]}))
    assert second.version == 2 and second.active and second.params == {"x": [1]} and second.weights == (0.5, 0.5)
    assert store.get("fast") == second
    assert store.get("fast", 1) is not None and not store.get("fast", 1).active  # type: ignore[union-attr]
    store.save(replace(base, ensemble_id="other", config_hash="h9"))
    assert [(c.ensemble_id, c.version) for c in store.list()] == [("fast", 1), ("fast", 2), ("other", 1)]
    assert [c.version for c in store.list("fast")] == [1, 2]
    back = store.activate("fast", 1)
    assert back.version == 1 and back.active and back.strategy == "stacking"
    assert store.get("fast").version == 1  # type: ignore[union-attr]
    assert [c.active for c in store.list("fast")] == [True, False]
    assert store.save(replace(base, config_hash="h1")).version == 1  # the active one again
    third = store.save(replace(base, config_hash="h3"))
    assert third.version == 3 and [c.active for c in store.list("fast")] == [False, False, True]
    with pytest.raises(NotFound):
        store.activate("fast", 9)
    assert store.get("nope") is None and store.get("fast", 9) is None
    assert first.created_at_ns == 10**18


def test_memory_store_contract() -> None:
    check_store_contract(InMemoryEnsembleConfigStore())


def _world() -> tuple[FamilyRegistry, EnsembleConfigs, InMemoryEnsembleConfigStore]:
    registry = FamilyRegistry([_Family("logistic"), _Family("lightgbm"), _Family("tcn", "deep")])  # type: ignore[list-item]
    store = InMemoryEnsembleConfigStore()
    graph = object()
    registry.resolve = StoredEnsembles(lambda: store, registry, graph, graph)  # type: ignore[arg-type]
    return registry, EnsembleConfigs(store, registry, graph, _Clock()), store  # type: ignore[arg-type]


def test_create_checks_hashes_and_resolves_family_names() -> None:
    registry, configs, _ = _world()
    v1 = configs.create("fast", ["logistic", "lightgbm"], "stacking", params={"member_params": {"lightgbm": {"a": 1}}})
    assert v1.version == 1 and len(v1.config_hash) == 64
    assert (
        configs.create("fast", ["logistic", "lightgbm"], "stacking", params={"member_params": {"lightgbm": {"a": 1}}})
        == v1
    )
    v2 = configs.create("fast", ["logistic", "lightgbm"], "weighted", weights=[2, 1], performance_window_days=3)
    assert v2.version == 2 and v2.config_hash != v1.config_hash

    family = registry.get("ensemble-fast")
    assert isinstance(family, CalibratedFamily) and family.name == "ensemble-fast"
    assert isinstance(family.base, EnsembleFamily)
    params = family.default_params()
    assert params["strategy"] == "weighted" and params["weights"] == [2.0, 1.0]
    assert params["ensemble_config"] == {"ensemble_id": "fast", "version": 2, "hash": v2.config_hash}
    assert params["calibration"] == "auto"
    old = registry.get("ensemble-fast@1").default_params()
    assert old["strategy"] == "stacking" and old["member_params"] == {"lightgbm": {"a": 1}}

    configs.rollback("fast", 1)
    assert registry.get("ensemble-fast").default_params()["strategy"] == "stacking"
    assert configs.show("fast").version == 1 and configs.show("fast", 2).strategy == "weighted"
    assert [c.version for c in configs.list()] == [1, 2]

    with pytest.raises(NotFound):
        registry.get("ensemble-missing")
    with pytest.raises(InvalidArgument, match="unknown model family"):
        registry.get("nope")


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("bad id!", ["logistic"], "equal"), {}, "ensemble id"),
        (("e", ["logistic", "xgb"], "equal"), {}, "unknown ensemble member"),
        (("e", ["logistic", "tcn"], "equal"), {}, "deep family"),
        (("e", ["logistic"], "median"), {}, "strategy must be one of"),
        (("e", ["logistic", "lightgbm"], "weighted"), {"weights": [1.0]}, "one weight per member"),
        (("e", ["logistic"], "equal"), {"params": {"strategy": "x"}}, "own options"),
        (("e", ["logistic"], "equal"), {"params": {"nope": 1}}, "unknown ensemble params"),
        (("e", ["logistic"], "equal"), {"performance_window_days": -1}, ">= 0"),
        (("e", ["logistic"], "equal"), {"params": {"calibration": "none"}}, "calibration is not part"),
    ],
)
def test_create_refuses_bad_configs(args: tuple, kwargs: dict, message: str) -> None:
    _, configs, store = _world()
    with pytest.raises(InvalidArgument, match=message):
        configs.create(*args, **kwargs)
    assert store.list() == []
