"""The HPO stores on the embedded PostgreSQL: ghtrader_hpo_trials_v2 upserts by (study, trial),
and Optuna's RDB storage reaches the same server through the store's libpq URL."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from ghtrader.adapters.optuna import OptunaStudies, YamlSpaceCatalog
from ghtrader.adapters.postgres import EmbeddedPostgres, open_postgres_stores
from ghtrader.adapters.postgres.hpo_store import PostgresHpoTrialStore
from ghtrader.application.ports.hpo import StudyConfig, TrialRecord

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = EmbeddedPostgres(tmp_path_factory.mktemp("pg") / "data", settings={"fsync": "off"})
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


def test_trial_rows_upsert_and_read_back(postgres_url: str) -> None:
    bundle, close = open_postgres_stores(postgres_url, Path("unused"), max_connections=2)
    try:
        store = PostgresHpoTrialStore(bundle.pool)
        running = TrialRecord("st", 0, "running", {"lr": 0.1, "leaves": 31}, created_at_ns=1_700_000_000_123_456_000,
                              family="lightgbm", objectives=("info_captured",), baseline=True,
                              experiment_id="e1a2b3")  # fmt: skip
        store.upsert(running)
        store.upsert(TrialRecord("other", 0, "failed", {}, error="boom"))
        done = TrialRecord("st", 0, "completed", {"lr": 0.1, "leaves": 31}, values=(0.42,), intermediate={0: 0.4, 1: math.nan},
                           duration_s=3.5, worker="node-a", family="lightgbm", objectives=("info_captured",), baseline=True)  # fmt: skip
        store.upsert(done)  # same key: updated, created_at kept
        (row,) = store.list("st")
        assert row.state == "completed" and row.values == (0.42,) and row.worker == "node-a" and row.baseline
        assert (
            row.params == {"lr": 0.1, "leaves": 31} and row.intermediate[0] == 0.4 and math.isnan(row.intermediate[1])
        )
        assert row.created_at_ns == 1_700_000_000_123_456_000 and row.duration_s == 3.5
        assert row.experiment_id == "e1a2b3"  # kept by an update that does not name it (the trial's experiment)
        store.upsert(TrialRecord("st", 1, "running", {}, experiment_id="e2"))
        assert [r.experiment_id for r in store.list("st")] == ["e1a2b3", "e2"]
        assert [r.error for r in store.list("other")] == ["boom"] and store.list("none") == []
    finally:
        close()


def test_optuna_storage_on_the_store_url(postgres_url: str) -> None:
    space = YamlSpaceCatalog().default("lightgbm")
    studies = OptunaStudies(postgres_url)  # a libpq URI; the adapter picks the psycopg 3 driver
    study = studies.open(StudyConfig(name="pg1", directions=("maximize",), space=space))
    asked = study.ask(space)
    assert set(asked.params) >= {"learning_rate", "num_leaves"}
    assert ("bagging_fraction" in asked.params) == (asked.params["bagging_freq"] in (1, 5))  # conditional
    study.tell(asked.number, "completed", [0.5], {"worker": "w1", "experiment_id": "e9"})
    again = OptunaStudies(postgres_url).load("pg1")
    (best,) = again.best()
    assert best.values == (0.5,) and best.worker == "w1" and best.state == "completed"
    assert best.experiment_id == "e9"
