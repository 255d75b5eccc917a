"""The ExperimentStore port on the real PostgreSQL and on the in-memory fake: the same behaviour
(start is idempotent, finish / annotate update, filters and newest-first order, NaN metrics and
curves round-trip)."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ghtrader.adapters.memory.experiment_store import InMemoryExperimentStore
from ghtrader.adapters.postgres import open_postgres_stores
from ghtrader.adapters.postgres.experiment_store import PostgresExperimentStore
from ghtrader.application.errors import NotFound
from ghtrader.application.ports.experiments import (
    ExperimentFilter,
    ExperimentOutcome,
    ExperimentRecord,
    ExperimentStore,
)

pytestmark = pytest.mark.integration

T0 = 1_760_000_000_123_456_000


@pytest.fixture(params=["memory", "postgres"])
def store(request: pytest.FixtureRequest) -> Iterator[ExperimentStore]:
    if request.param == "memory":
        yield InMemoryExperimentStore()
        return
    import psycopg

    url = request.getfixturevalue("postgres_url")
    schema = f"exp_{uuid.uuid4().hex[:12]}"
    bundle, close = open_postgres_stores(url, Path("unused"), schema=schema, max_connections=2, ensure_schema=False)
    try:
        yield PostgresExperimentStore(bundle.pool)
    finally:
        close()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def _record(eid: str, *, kind: str = "train", project: str = "p", created: int = T0, **kw: object) -> ExperimentRecord:
    return ExperimentRecord(
        experiment_id=eid,
        kind=kind,  # type: ignore[arg-type]
        project=project,
        run_id=kw.pop("run_id", ""),  # type: ignore[arg-type]
        hyperparameters={"family": "lightgbm", "scope": {"train": {"params": {"num_leaves": 31}}}, "lr": math.nan},
        git_commit="abc123",
        git_dirty=False,
        created_at_ns=created,
        **kw,  # type: ignore[arg-type]
    )


def test_start_finish_get_round_trip(store: ExperimentStore) -> None:
    store.start(_record("e1", run_id="7", tags=("base", "base", " x "), notes="first"))
    store.start(_record("e1", notes="a retry changes nothing"))
    got = store.get("e1")
    assert got is not None
    assert (got.status, got.run_id, got.notes, got.tags, got.duration_s) == (
        "running",
        "7",
        "first",
        ("base", "x"),
        None,
    )
    assert got.created_at_ns == T0 and got.git_commit == "abc123" and got.git_dirty is False
    assert got.hyperparameters["scope"]["train"]["params"]["num_leaves"] == 31
    assert math.isnan(float(got.hyperparameters["lr"]))

    done = store.finish(
        "e1",
        ExperimentOutcome(
            status="succeeded",
            finished_at_ns=T0 + 2_500_000_000,
            duration_s=2.5,
            metrics={"accuracy": 0.61, "log_loss": math.inf, "f1": math.nan},
            learning_curves={"train_loss": ((1, 0.9), (2, 0.7)), "valid_loss": ((1, math.nan),)},
            artifacts=("artifacts/models/lightgbm/1", "artifacts/models/lightgbm/1/model.onnx"),
            report_path="artifacts/models/lightgbm/1/meta_h10.json",
        ),
    )
    again = store.get("e1")
    assert again is not None and again.artifacts == done.artifacts and again.metrics.keys() == done.metrics.keys()
    assert done.status == "succeeded" and done.duration_s == 2.5 and done.finished_at_ns == T0 + 2_500_000_000
    assert done.metrics["accuracy"] == 0.61 and math.isinf(done.metrics["log_loss"]) and math.isnan(done.metrics["f1"])
    assert done.learning_curves["train_loss"] == ((1, 0.9), (2, 0.7))
    assert math.isnan(done.learning_curves["valid_loss"][0][1])
    assert done.artifacts[1].endswith("model.onnx") and done.report_path.endswith("meta_h10.json")


def test_unknown_ids(store: ExperimentStore) -> None:
    assert store.get("nope") is None
    with pytest.raises(NotFound):
        store.finish("nope", ExperimentOutcome(status="failed", finished_at_ns=T0, duration_s=0.0))
    with pytest.raises(NotFound):
        store.annotate("nope", notes="x")


def test_list_filters_and_order(store: ExperimentStore) -> None:
    store.start(_record("a", kind="train", project="p", created=T0, tags=("base",), run_id="1"))
    store.start(_record("b", kind="benchmark", project="p", created=T0 + 1000, run_id="2"))
    store.start(_record("c", kind="train", project="q", created=T0 + 2000, tags=("base", "wide"), run_id="3"))
    store.finish("c", ExperimentOutcome(status="failed", finished_at_ns=T0 + 5000, duration_s=0.0, error="boom"))

    def ids(**kw: object) -> list[str]:
        return [r.experiment_id for r in store.list(ExperimentFilter(**kw))]  # type: ignore[arg-type]

    assert ids() == ["c", "b", "a"]
    assert ids(limit=2) == ["c", "b"]
    assert ids(kind="train") == ["c", "a"]
    assert ids(project="p") == ["b", "a"]
    assert ids(tag="base") == ["c", "a"]
    assert ids(tag="wide", project="q") == ["c"]
    assert ids(status="failed") == ["c"]
    assert ids(run_id="2") == ["b"]
    assert ids(since_ns=T0 + 1000) == ["c", "b"]
    assert store.get("c").error == "boom"  # type: ignore[union-attr]


def test_annotate_notes_and_tags(store: ExperimentStore) -> None:
    store.start(_record("a", tags=("base",)))
    r = store.annotate("a", notes="wider trees help", add_tags=["keep", "base"], remove_tags=["base"])
    assert (r.notes, r.tags) == ("wider trees help", ("keep",))
    r = store.annotate("a", add_tags=["x"])
    assert (r.notes, r.tags) == ("wider trees help", ("keep", "x"))
    assert store.get("a") == r
