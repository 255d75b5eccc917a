"""The composition root hands each use case the ports of the store bundle it was given."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from dependency_injector import providers

from ghtrader.adapters.memory import InMemoryStoreBundle, open_memory_stores
from ghtrader.application.datasets.build import BuildDataset
from ghtrader.application.datasets.main_l5 import BuildMainL5
from ghtrader.application.datasets.schedule import BuildMainSchedule
from ghtrader.container import Container
from ghtrader.settings import Settings


@pytest.fixture
def wired(tmp_path: Path) -> Iterator[tuple[Container, InMemoryStoreBundle]]:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path / "data",
        runs_dir=tmp_path / "runs",
        artifacts_dir=tmp_path / "artifacts",
        provider="synthetic",
    )
    container = Container()
    container.settings.override(settings)
    bundle = open_memory_stores()
    container.stores.override(providers.Object(bundle))
    try:
        yield container, bundle
    finally:
        container.shutdown_resources()


def test_every_store_provider_is_the_bundles_own_port(wired: tuple[Container, InMemoryStoreBundle]) -> None:
    container, bundle = wired
    assert container.ticks_store() is bundle.ticks
    assert container.index_store() is bundle.index
    assert container.schema_manager() is bundle.schema
    assert container.schedule_store() is bundle.schedules
    assert container.dataset_store() is bundle.datasets
    assert container.model_registry() is bundle.models
    assert container.store_probe() is bundle.probe


def test_system_status_reports_the_bundles_store(wired: tuple[Container, InMemoryStoreBundle]) -> None:
    container, _ = wired
    status = container.get_system_status()()
    assert status.store.backend == "memory" and status.store.reachable
    assert status.provider == "synthetic"


def test_dataset_use_cases_resolve_on_the_bundle(wired: tuple[Container, InMemoryStoreBundle]) -> None:
    container, _ = wired
    use_cases = container.dataset_use_cases()
    assert isinstance(use_cases.build_main_schedule(), BuildMainSchedule)
    assert isinstance(use_cases.build_main_l5(), BuildMainL5)
    assert isinstance(use_cases.build_dataset(), BuildDataset)


def test_every_model_family_is_calibrated(wired: tuple[Container, InMemoryStoreBundle]) -> None:
    from ghtrader.application.research.calibration import CalibratedFamily

    container, _ = wired
    families = container.model_families()
    assert {"logistic", "lightgbm", "xgboost", "tcn", "deeplob"} <= set(families.names())
    for name in families.names():
        family = families.get(name)
        assert isinstance(family, CalibratedFamily) and family.base.name == name
        assert family.default_params()["calibration"] == "auto"
