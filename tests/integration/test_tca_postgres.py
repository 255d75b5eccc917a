"""The TcaStore port on a real PostgreSQL (embedded) and in memory: the same behaviour."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import replace

import psycopg
import pytest

from ghtrader.adapters.memory.tca_store import InMemoryTcaStore
from ghtrader.adapters.postgres import open_postgres_stores
from ghtrader.adapters.postgres.tca_store import PostgresTcaStore
from ghtrader.application.ports.tca import ExecutionLabel, TcaRecord, TcaStore

pytestmark = pytest.mark.integration


@pytest.fixture(params=["memory", "postgres"])
def store(request: pytest.FixtureRequest) -> Iterator[TcaStore]:
    if request.param == "memory":
        yield InMemoryTcaStore()
        return
    url = request.getfixturevalue("postgres_url")  # the session's server (tests/conftest.py)
    schema = "it_tca_" + request.node.name.lower().replace("[", "_").replace("]", "")[:30]
    bundle, close = open_postgres_stores(url, schema=schema, ensure_schema=False)
    try:
        yield PostgresTcaStore(bundle.pool)
    finally:
        close()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def _label(order_id: str, ns: int, run_id: str = "run-a", **kw: object) -> ExecutionLabel:
    base = ExecutionLabel(
        run_id=run_id, order_id=order_id, symbol="SHFE.cu2612", datetime_ns=ns, side=1, order_qty=2.0,
        filled_qty=2.0, arrival_price=70005.0, execution_price=70010.0, slippage_ticks=0.5, spread_cost=50.0,
        impact_cost=10.0, timing_cost=-10.0, opportunity_cost=0.0, shortfall=50.0, fees=3.2, duration_ns=1000,
    )  # fmt: skip
    return replace(base, **kw)  # type: ignore[arg-type]


def _record(run_id: str, analyzed_ns: int, n_obs: int, variety: str = "cu") -> TcaRecord:
    return TcaRecord(
        run_id=run_id, source="sim_run", symbol="SHFE.cu2612", variety=variety, analyzed_ns=analyzed_ns, orders=3,
        filled_qty=6.0, spread_cost=150.0, impact_cost=20.0, timing_cost=-5.0, opportunity_cost=0.0,
        shortfall=165.0, fees=9.6, slippage_ticks_per_lot=0.55, impact_kind="sqrt", impact_eta=0.25,
        impact_n_obs=n_obs, impact_r2=math.nan, details={"total_cost": 174.6, "nan": math.nan},
    )  # fmt: skip


def test_labels_are_replaced_per_run_and_read_back_in_time_order(store: TcaStore) -> None:
    rows = [_label("sim-1", 2_000), _label("sim-0", 1_000, execution_price=math.nan, filled_qty=0.0)]
    assert store.write_labels("run-a", rows) == 2
    store.write_labels("run-b", [_label("sim-0", 5_000, run_id="run-b")])
    got = store.labels("run-a")
    assert [x.order_id for x in got] == ["sim-0", "sim-1"]
    assert math.isnan(got[0].execution_price) and got[1] == rows[0]
    # a rerun replaces, never duplicates
    store.write_labels("run-a", [_label("sim-1", 2_000, fees=1.0)])
    assert [(x.order_id, x.fees) for x in store.labels("run-a")] == [("sim-1", 1.0)]
    assert len(store.labels("run-b")) == 1 and store.labels("nope") == []


def test_records_upsert_and_the_latest_fitted_impact_per_variety(store: TcaStore) -> None:
    assert store.record("run-a") is None and store.latest_impact("cu", 1) is None
    store.write_record(_record("run-a", 100, n_obs=40))
    store.write_record(_record("run-b", 200, n_obs=2))  # too few fills to count as a calibration
    store.write_record(_record("run-c", 50, n_obs=40, variety="au"))
    got = store.record("run-a")
    assert got is not None and got.impact_eta == 0.25 and math.isnan(got.impact_r2)
    assert got.details == {"total_cost": 174.6, "nan": None}
    latest = store.latest_impact("cu", 5)
    assert latest is not None and latest.run_id == "run-a"
    store.write_record(replace(_record("run-b", 300, n_obs=50), impact_eta=0.5))  # re-analysed: replaced
    latest = store.latest_impact("cu", 5)
    assert latest is not None and (latest.run_id, latest.impact_eta) == ("run-b", 0.5)
    assert store.record("run-b").analyzed_ns == 300  # type: ignore[union-attr]
