"""The composition root wires the regime use cases and the HMM report grouping."""

from __future__ import annotations

from pathlib import Path

from dependency_injector import providers

from ghtrader.adapters.memory import open_memory_stores
from ghtrader.application.regimes import DecodeRegimes, FitRegimeModel, ListRegimes
from ghtrader.application.regimes.grouping import HmmGrouping
from ghtrader.container import Container
from ghtrader.settings import Settings


def test_regime_use_cases_and_report_grouping_resolve(tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path / "data",
        runs_dir=tmp_path / "runs",
        artifacts_dir=tmp_path / "artifacts",
        provider="synthetic",
    )
    container = Container()
    container.settings.override(settings)
    container.stores.override(providers.Object(open_memory_stores()))
    try:
        uc = container.regime_use_cases()
        assert isinstance(uc.fit(), FitRegimeModel)
        assert isinstance(uc.decode(), DecodeRegimes)
        overview = uc.overview()
        assert isinstance(overview, ListRegimes) and overview().models == []
        assert isinstance(container.run_benchmark()._regimes, HmmGrouping)
        assert isinstance(container.run_backtest()._regimes, HmmGrouping)
        catalog = container.job_catalog()
        assert {"ghtrader.v1.FitRegimesRequest", "ghtrader.v1.DecodeRegimesRequest"} <= set(catalog)
    finally:
        container.shutdown_resources()
