"""CheckDrift on stored features, and SyncFeatureRegistry's add / update / deprecate cycle."""

from __future__ import annotations

import dataclasses
from datetime import date

import numpy as np
import pytest

from ghtrader.adapters.memory import InMemoryDatasetStore
from ghtrader.application.datasets.drift import CheckDrift, CheckDriftRequest
from ghtrader.application.datasets.registry import SyncFeatureRegistry
from ghtrader.application.errors import FailedPrecondition
from ghtrader.application.ports.datasets import DatasetRows
from ghtrader.domain.factors import get_factor, registry
from tests.fakes.system import FakeClock

SYM = "KQ.m@SHFE.cu"
DAYS = [date(2024, 3, d) for d in (4, 5, 6, 7)]


def store_with_shift() -> InMemoryDatasetStore:
    """Two reference days and two recent days: ``stable`` keeps its law, ``shifted`` moves by
    one standard deviation."""
    store = InMemoryDatasetStore()
    rng = np.random.default_rng(3)
    for i, day in enumerate(DAYS):
        n = 4_000
        dt = np.int64(1_709_510_400_000_000_000 + i * 86_400_000_000_000) + np.arange(n, dtype=np.int64) * 500_000_000
        cols = {"stable": rng.normal(size=n), "shifted": rng.normal(1.0 if i >= 2 else 0.0, 1.0, n)}
        store.write_rows("features", "b1", DatasetRows(SYM, "main_l5", np.full(n, np.datetime64(day)), dt, cols))
    return store


def test_drift_flags_only_the_shifted_feature(tmp_path) -> None:
    from ghtrader.adapters.filesystem.json_reports import JsonFileReportSink

    check = CheckDrift(datasets=store_with_shift(), clock=FakeClock(), reports=JsonFileReportSink(tmp_path))
    result = check(CheckDriftRequest(SYM, DAYS[0], DAYS[1], DAYS[2], DAYS[3]))
    by = {f.feature: f for f in result.features}
    assert result.drifted == ["shifted"]
    assert by["shifted"].stats.psi > 0.25 and by["shifted"].stats.ks_statistic > 0.3
    assert by["stable"].stats.psi < 0.05 and by["stable"].stats.ks_statistic < 0.05
    assert (result.reference_rows, result.recent_rows) == (8_000, 8_000)
    assert result.report_path is not None
    sub = check(CheckDriftRequest(SYM, DAYS[0], DAYS[1], DAYS[2], DAYS[3], columns=("stable",), max_samples=500))
    assert [f.feature for f in sub.features] == ["stable"] and sub.features[0].stats.n_recent == 500
    with pytest.raises(FailedPrecondition):
        check(CheckDriftRequest(SYM, date(2024, 1, 1), date(2024, 1, 2), DAYS[2], DAYS[3]))


def test_registry_sync_adds_updates_and_deprecates() -> None:
    store = InMemoryDatasetStore()
    clock = FakeClock()
    sync = SyncFeatureRegistry(datasets=store, clock=clock)
    first = sync()
    assert first.registered == len(registry()) == len(first.added) and first.deprecated == []
    assert sync().added == [] and sync().updated == []  # idempotent

    # a factor that left the code base is deprecated, not deleted
    ghost = dataclasses.replace(store.feature_registry()[0], feature_name="ghost_factor")
    store.upsert_features([ghost])
    third = sync()
    assert third.deprecated == ["ghost_factor@1"]
    rows = {r.feature_name: r for r in store.feature_registry()}
    assert rows["ghost_factor"].deprecated_at_ns is not None
    assert "ghost_factor" not in {r.feature_name for r in store.feature_registry(include_deprecated=False)}
    # a changed definition is updated in place
    spec = get_factor("ret_10")
    store.upsert_features([dataclasses.replace(rows["ret_10"], definition_hash="old")])
    assert sync().updated == ["ret_10@1"]
    assert {r.feature_name: r for r in store.feature_registry()}["ret_10"].definition_hash == spec.definition_hash
