"""OnlineFeatureService: live factors equal the batch build's, TTL freshness, stale policy."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from ghtrader.adapters.memory import InMemoryOnlineFeatureStore
from ghtrader.application.datasets.online import OnlineFeatureService, StaleFeature
from ghtrader.application.errors import InvalidArgument, NotFound
from ghtrader.domain.factors import compute_factors, get_factor
from ghtrader.domain.factors.generated import compute_generated, parse_generated
from tests.unit.application.datasets.conftest import DatasetWorld

NAMES = ("imb_l1", "ret_10", "ema_gap_10_100", "spread_ticks")
DAY = date(2024, 2, 20)


@pytest.fixture
def ticks(dworld: DatasetWorld) -> np.ndarray:
    return dworld.market.ticks("SHFE.cu2404", DAY)[:400]


def service(world: DatasetWorld, **kw: object) -> OnlineFeatureService:
    return OnlineFeatureService(store=world.online, clock=world.clock, names=NAMES, **kw)  # type: ignore[arg-type]


def test_live_values_equal_the_batch_engine(dworld: DatasetWorld, ticks: np.ndarray) -> None:
    svc = service(dworld)
    dworld.clock.now = int(ticks["datetime_ns"][-1])
    svc.update("SHFE.cu2404", ticks[:300], np.full(300, np.datetime64(DAY)))  # warm up on history
    for row in ticks[300:]:
        svc.on_tick("SHFE.cu2404", row, DAY)
    batch = compute_factors(
        ticks, np.full(len(ticks), np.datetime64(DAY)), None, names=NAMES, price_tick=10.0, multiplier=5.0
    )
    got = svc.get_vector("SHFE.cu2404")
    for name in NAMES:
        expected = batch[name][-1]
        assert (got[name] is not None and np.isnan(expected) and np.isnan(got[name])) or got[name] == expected
    latest = dworld.online.get_latest("SHFE.cu2404", "ret_10")
    assert latest is not None and latest.event_time_ns == int(ticks["datetime_ns"][-1])
    assert dworld.online.symbols() == ["SHFE.cu2404"]


def test_generated_features_are_served(dworld: DatasetWorld, ticks: np.ndarray) -> None:
    names = ("gen__mean20__imb_l1", "ret_10", "gen__mul__imb_l1__spread_ticks")
    svc = OnlineFeatureService(store=dworld.online, clock=dworld.clock, names=names)
    assert svc.names == names
    assert svc.ttl_seconds(names[2]) == min(get_factor("imb_l1").ttl_s, get_factor("spread_ticks").ttl_s)
    dworld.clock.now = int(ticks["datetime_ns"][-1])
    svc.update("SHFE.cu2404", ticks[:300], np.full(300, np.datetime64(DAY)))
    for row in ticks[300:]:
        svc.on_tick("SHFE.cu2404", row, DAY)
    days = np.full(len(ticks), np.datetime64(DAY))
    base = compute_factors(ticks, days, None, names=("imb_l1", "spread_ticks"), price_tick=10.0, multiplier=5.0)
    parents = np.column_stack([base["imb_l1"], base["spread_ticks"]]).astype(np.float32)
    specs = [parse_generated(names[0]), parse_generated(names[2])]
    want = compute_generated(parents, ("imb_l1", "spread_ticks"), np.zeros(len(ticks), np.int64), specs, np.float64)
    got = svc.get_vector("SHFE.cu2404")
    assert set(got) == set(names) and np.isfinite(want[-1]).all()
    assert got[names[0]] == pytest.approx(want[-1, 0], abs=1e-9)
    assert got[names[2]] == pytest.approx(want[-1, 1], abs=1e-9)
    assert dworld.online.get_latest("SHFE.cu2404", "imb_l1") is None  # a parent only: not stored


def test_ttl_makes_values_stale(dworld: DatasetWorld, ticks: np.ndarray) -> None:
    svc = service(dworld, ttl_seconds={"imb_l1": 2.0})
    t_last = int(ticks["datetime_ns"][99])
    svc.update("SHFE.cu2404", ticks[:100], np.full(100, np.datetime64(DAY)))
    assert svc.ttl_seconds("imb_l1") == 2.0
    assert svc.ttl_seconds("ema_gap_10_100") == get_factor("ema_gap_10_100").ttl_s

    dworld.clock.now = t_last + 1_500_000_000
    assert svc.get_latest("SHFE.cu2404", "imb_l1") is not None
    dworld.clock.now = t_last + 2_500_000_000
    assert svc.get_latest("SHFE.cu2404", "imb_l1") is None  # older than its 2 s TTL
    assert svc.get_latest("SHFE.cu2404", "spread_ticks") is not None  # default TTL is longer
    assert svc.get_latest("SHFE.cu2405", "imb_l1") is None  # never seen

    strict = service(dworld, ttl_seconds={"imb_l1": 2.0}, stale="raise")
    with pytest.raises(StaleFeature, match="imb_l1 of SHFE.cu2404 is stale"):
        strict.get_latest("SHFE.cu2404", "imb_l1")
    with pytest.raises(StaleFeature):
        strict.get_vector("SHFE.cu2404")


def test_store_ignores_older_updates_and_bad_requests_fail(dworld: DatasetWorld) -> None:
    store = InMemoryOnlineFeatureStore()
    store.put_latest("S", {"a": 1.0, "b": 2.0}, 100)
    store.put_latest("S", {"a": 5.0}, 50)  # late, older event: ignored
    store.put_latest("S", {"b": 3.0}, 200)
    assert store.get_latest("S", "a").value == 1.0  # type: ignore[union-attr]
    got = store.get_many("S", ["a", "b", "c"])
    assert (got["b"].value, got["b"].event_time_ns, got["c"]) == (3.0, 200, None)  # type: ignore[union-attr]

    with pytest.raises(InvalidArgument):
        OnlineFeatureService(store=store, clock=dworld.clock, names=("nope",))
    with pytest.raises(InvalidArgument):
        service(dworld, ttl_seconds={"not_served": 1.0})
    with pytest.raises(InvalidArgument):
        service(dworld, stale="sometimes")
    with pytest.raises(NotFound):
        service(dworld).get_latest("SHFE.cu2404", "rv_100")
