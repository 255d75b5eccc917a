"""The regime-state store on the embedded PostgreSQL and its in-memory fake: same behaviour
(round trip, upsert by identity, day filter, summaries)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date

import numpy as np
import pytest

from ghtrader.adapters.memory.regime_store import InMemoryRegimeStateStore
from ghtrader.adapters.postgres.connections import open_pool
from ghtrader.adapters.postgres.regime_store import PostgresRegimeStateStore
from ghtrader.application.ports.regimes import RegimeStates, RegimeStateStore

pytestmark = pytest.mark.integration

DAY_NS = 86_400 * 10**9


@pytest.fixture(params=["memory", "postgres"])
def store(request: pytest.FixtureRequest) -> Iterator[RegimeStateStore]:
    if request.param == "memory":
        yield InMemoryRegimeStateStore()
        return
    import psycopg

    url = request.getfixturevalue("postgres_url")
    schema = f"rg_{uuid.uuid4().hex[:12]}"
    pool = open_pool(url, schema=schema, max_size=2)
    try:
        s = PostgresRegimeStateStore(pool)
        s.ensure_schema()
        s.ensure_schema()  # idempotent
        yield s
    finally:
        pool.close()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def _states(n: int, k: int, method: str = "hmm-filter", model_hash: str = "abc", seed: int = 0) -> RegimeStates:
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(k), size=n)
    day0 = np.datetime64("2026-03-02", "D")
    days = day0 + (np.arange(n) * 3 // n).astype("timedelta64[D]")  # three trading days
    dt = days.astype("datetime64[ns]").astype(np.int64) - 3600 * 10**9 + np.arange(n) * 500_000_000
    return RegimeStates("KQ.m@SHFE.cu", method, model_hash, dt, days, p.argmax(axis=1), p)


def test_round_trip_upsert_and_day_filter(store: RegimeStateStore):
    s = _states(3000, 3)
    assert store.write_states(s) == 3000
    assert store.write_states(s) == 3000  # a rerun does not duplicate
    back = store.read_states(s.symbol, s.detection_method, "abc", date(2026, 3, 1), date(2026, 3, 10))
    np.testing.assert_array_equal(back.datetime_ns, s.datetime_ns)
    np.testing.assert_array_equal(back.trading_day, s.trading_day)
    np.testing.assert_array_equal(back.regime_id, s.regime_id)
    np.testing.assert_array_equal(back.probabilities, s.probabilities)
    one = store.read_states(s.symbol, s.detection_method, "abc", date(2026, 3, 3), date(2026, 3, 3))
    assert len(one) == int((s.trading_day == np.datetime64("2026-03-03")).sum()) > 0
    # an upsert with new values replaces them
    changed = RegimeStates(
        s.symbol,
        s.detection_method,
        "abc",
        s.datetime_ns[:10],
        s.trading_day[:10],
        np.full(10, 2),
        np.tile([0.0, 0.0, 1.0], (10, 1)),
    )
    store.write_states(changed)
    back = store.read_states(s.symbol, s.detection_method, "abc", date(2026, 3, 1), date(2026, 3, 10))
    assert len(back) == 3000 and (back.regime_id[:10] == 2).all() and (back.probabilities[:10, 2] == 1).all()


def test_series_are_kept_apart_and_summarised(store: RegimeStateStore):
    a = _states(100, 3)
    b = _states(50, 1, method="bocpd", model_hash="def", seed=1)
    b = RegimeStates(
        b.symbol,
        b.detection_method,
        b.model_config_hash,
        b.datetime_ns,
        b.trading_day,
        np.arange(50) // 20,
        b.probabilities,
    )
    store.write_states(a)
    store.write_states(b)
    assert len(store.read_states(a.symbol, "hmm-filter", "def", date(2026, 3, 1), date(2026, 3, 9))) == 0
    got = store.read_states(a.symbol, "bocpd", "def", date(2026, 3, 1), date(2026, 3, 9))
    assert got.probabilities.shape == (50, 1)
    sums = {(x.detection_method, x.model_config_hash): x for x in store.summaries(a.symbol)}
    assert set(sums) == {("hmm-filter", "abc"), ("bocpd", "def")}
    assert sums[("bocpd", "def")].counts == {0: 20, 1: 20, 2: 10}
    assert sums[("hmm-filter", "abc")].rows == 100
    assert sums[("hmm-filter", "abc")].first_ns == int(a.datetime_ns[0])
    assert sums[("hmm-filter", "abc")].last_ns == int(a.datetime_ns[-1])
    assert store.summaries("SHFE.au2606") == []
