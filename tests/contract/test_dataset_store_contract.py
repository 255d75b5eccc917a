"""DatasetStore contract: wide feature / label tables, build metadata, main_l5 provenance and
the feature registry behave the same on every backend."""

from __future__ import annotations

import threading
from datetime import date

import numpy as np
import pytest

from ghtrader.application.errors import InvalidArgument
from ghtrader.application.ports.datasets import (
    DATASET_DTYPES,
    BuildMetadata,
    DatasetRows,
    DatasetStore,
    FeatureDefinition,
    MainL5DayProvenance,
)
from ghtrader.application.ports.stores import StoreBundle
from tests.contract._data import DAYS, day_start_ns

SYM = "KQ.m@SHFE.cu"
FAR = (date(2000, 1, 1), date(2100, 1, 1))


@pytest.fixture
def datasets(stores: StoreBundle) -> DatasetStore:
    return stores.datasets


def make_rows(
    days: list[date],
    per_day: int,
    columns: tuple[str, ...] = ("f_a", "f_b"),
    *,
    seed: int = 0,
    symbol: str = SYM,
    lake: str = "main_l5",
    provenance: bool = True,
) -> DatasetRows:
    rng = np.random.default_rng(seed)
    k = np.arange(per_day, dtype=np.int64)
    dt = np.concatenate([day_start_ns(d) + k * 500_000_000 + 7 for d in days])
    n = dt.shape[0]
    cols = {c: rng.normal(size=n) for c in columns}
    for c in cols.values():
        c[::5] = np.nan
    trading_day = np.repeat(np.array(days, dtype="datetime64[D]"), per_day)
    second = np.arange(n) >= n // 2
    return DatasetRows(
        symbol=symbol,
        ticks_lake=lake,
        trading_day=trading_day,
        datetime_ns=dt,
        columns=cols,
        underlying_contract=np.where(second, "SHFE.cu2405", "SHFE.cu2404").astype(object) if provenance else None,
        segment_id=(second.astype(np.int64) + 3) if provenance else None,
    )


def assert_same(got: dict[str, np.ndarray], rows: DatasetRows, build_id: str, kind: str = "features") -> None:
    np.testing.assert_array_equal(got["datetime_ns"], rows.datetime_ns)
    assert got["datetime_ns"].dtype == np.int64
    assert got["trading_day"].dtype == np.dtype("datetime64[D]")
    np.testing.assert_array_equal(got["trading_day"], rows.trading_day)
    for name, col in rows.columns.items():
        assert got[name].dtype == np.float64
        np.testing.assert_array_equal(got[name], stored(col, kind), err_msg=name)  # NaN == NaN here
    assert set(got["build_id"].tolist()) == {build_id}
    if rows.underlying_contract is not None:
        assert got["underlying_contract"].tolist() == rows.underlying_contract.tolist()
        np.testing.assert_array_equal(got["segment_id"], rows.segment_id)
    else:
        assert set(got["underlying_contract"].tolist()) == {None}
        assert set(got["segment_id"].tolist()) == {-1}


def stored(values: np.ndarray, kind: str = "features") -> np.ndarray:
    """What a store keeps of float64 values: the nearest value of the kind's dtype, as float64."""
    return values.astype(DATASET_DTYPES[kind]).astype(np.float64)


def put(datasets: DatasetStore, build_id: str, config_hash: str, kind: str = "features") -> None:
    datasets.put_build(BuildMetadata(build_id, kind, config_hash, {"symbol": SYM}))


def test_round_trip_keeps_keys_provenance_and_nan(datasets: DatasetStore) -> None:
    rows = make_rows(DAYS[:3], 7)
    put(datasets, "b1", "cfg1")
    assert datasets.write_rows("features", "b1", rows) == 21
    got = datasets.read("features", SYM, *FAR)
    assert_same(got, rows, "b1")
    assert datasets.column_names("features") == ["f_a", "f_b"]
    part = datasets.read("features", SYM, DAYS[1], DAYS[1], columns=["f_b"])
    assert set(part) == {"trading_day", "datetime_ns", "underlying_contract", "segment_id", "build_id", "f_b"}
    np.testing.assert_array_equal(part["f_b"], stored(rows.columns["f_b"][7:14]))
    assert not np.array_equal(part["f_b"], rows.columns["f_b"][7:14], equal_nan=True)  # features are float32
    # labels are a separate table; other symbols and lakes are separate series
    assert len(datasets.read("labels", SYM, *FAR)["datetime_ns"]) == 0
    assert len(datasets.read("features", SYM, *FAR, ticks_lake="raw")["datetime_ns"]) == 0
    assert len(datasets.read("features", "SHFE.cu2404", *FAR)["datetime_ns"]) == 0


def test_raw_series_without_provenance(datasets: DatasetStore) -> None:
    rows = make_rows(DAYS[:2], 4, symbol="SHFE.cu2404", lake="raw", provenance=False)
    datasets.write_rows("labels", "b2", rows)
    got = datasets.read("labels", "SHFE.cu2404", *FAR, ticks_lake="raw")
    assert_same(got, rows, "b2", "labels")
    np.testing.assert_array_equal(got["f_a"], rows.columns["f_a"])  # labels keep every float64 bit


def test_a_write_replaces_whole_days_only(datasets: DatasetStore) -> None:
    datasets.write_rows("features", "b1", make_rows(DAYS[:3], 6))
    again = make_rows([DAYS[1]], 2, seed=5)  # day 1 shrinks to 2 rows written by another build
    datasets.write_rows("features", "b2", again)
    got = datasets.read("features", SYM, *FAR)
    assert got["datetime_ns"].shape[0] == 6 + 2 + 6
    day1 = got["trading_day"] == np.datetime64(DAYS[1])
    np.testing.assert_array_equal(got["f_a"][day1], stored(again.columns["f_a"]))
    assert set(got["build_id"][day1].tolist()) == {"b2"}
    assert set(got["build_id"][~day1].tolist()) == {"b1"}
    assert np.all(np.diff(got["datetime_ns"]) > 0)
    # writing the same rows twice changes nothing
    datasets.write_rows("features", "b2", again)
    assert datasets.read("features", SYM, *FAR)["datetime_ns"].shape[0] == 14


def test_new_columns_are_added_and_old_rows_read_nan(datasets: DatasetStore) -> None:
    datasets.write_rows("features", "b1", make_rows([DAYS[0]], 3, ("f_a",)))
    datasets.write_rows("features", "b1", make_rows([DAYS[1]], 3, ("f_a", "f_new")))
    assert datasets.column_names("features") == ["f_a", "f_new"]
    got = datasets.read("features", SYM, *FAR)
    assert np.isnan(got["f_new"][:3]).all() and not np.isnan(got["f_new"][4:]).all()
    with pytest.raises(InvalidArgument):
        datasets.read("features", SYM, *FAR, columns=["f_missing"])


def _write_at_once(datasets: DatasetStore, writes: list[tuple[str, DatasetRows]]) -> None:
    """Run every (build_id, rows) write on its own thread, all released at the same moment;
    raise the first error any of them hit."""
    start = threading.Barrier(len(writes))
    errors: list[BaseException] = []

    def write(build_id: str, rows: DatasetRows) -> None:
        start.wait()
        try:
            datasets.write_rows("features", build_id, rows)
        except BaseException as exc:  # noqa: BLE001 - raised in the test thread below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=w) for w in writes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def _take(rows: DatasetRows, pick: np.ndarray) -> DatasetRows:
    return DatasetRows(
        rows.symbol,
        rows.ticks_lake,
        rows.trading_day[pick],
        rows.datetime_ns[pick],
        {name: col[pick] for name, col in rows.columns.items()},
        None if rows.underlying_contract is None else rows.underlying_contract[pick],
        None if rows.segment_id is None else rows.segment_id[pick],
    )


def test_concurrent_writers_of_one_day_leave_one_row_per_tick(datasets: DatasetStore) -> None:
    # Two builds rewriting the same day at the same moment (a scheduled job and a manual
    # rebuild, say): whichever lands last wins, and no tick is stored twice.
    rows = make_rows(DAYS[:1], 300)
    datasets.write_rows("features", "build-old", rows)
    for r in range(5):
        _write_at_once(datasets, [(f"build-{r}-{k}", rows) for k in range(2)])
        got = datasets.read("features", SYM, *FAR)
        np.testing.assert_array_equal(got["datetime_ns"], rows.datetime_ns)
        assert set(got["build_id"].tolist()) < {f"build-{r}-0", f"build-{r}-1"}


def test_concurrent_writers_with_different_ticks_leave_one_writers_day(datasets: DatasetStore) -> None:
    # A writer must see what the other wrote before it: a read-then-write store that lets both
    # read the old day would keep ticks only one of them has beside the other's day.
    every = make_rows(DAYS[:1], 350)
    old = _take(every, np.arange(300))
    mine = _take(every, np.r_[0:150, 300:350])  # drops old ticks and adds new ones
    for r in range(6):
        datasets.write_rows("features", "build-old", old)
        _write_at_once(datasets, [(f"mine-{r}", mine), (f"old-{r}", old)])
        got = datasets.read("features", SYM, *FAR)
        builds = set(got["build_id"].tolist())
        assert builds in ({f"mine-{r}"}, {f"old-{r}"}), builds
        want = mine if builds == {f"mine-{r}"} else old
        np.testing.assert_array_equal(got["datetime_ns"], want.datetime_ns)


def test_built_days_follow_the_config_hash_of_the_writing_build(datasets: DatasetStore) -> None:
    put(datasets, "b1", "cfg1")
    put(datasets, "b2", "cfg2")
    datasets.write_rows("features", "b1", make_rows(DAYS[:2], 3))
    datasets.write_rows("features", "b2", make_rows(DAYS[3:5], 3))
    assert datasets.built_days("features", SYM, "main_l5") == [DAYS[0], DAYS[1], DAYS[3], DAYS[4]]
    assert datasets.built_days("features", SYM, "main_l5", "cfg1") == DAYS[:2]
    assert datasets.built_days("features", SYM, "main_l5", "cfg2") == DAYS[3:5]
    assert datasets.built_days("features", SYM, "main_l5", "cfg9") == []
    assert datasets.built_days("labels", SYM, "main_l5") == []
    assert datasets.stored_config_hashes("features", SYM, "main_l5") == ["cfg1", "cfg2"]

    datasets.delete_days("features", SYM, "main_l5", [DAYS[0], DAYS[1], date(2024, 1, 1)])
    assert datasets.built_days("features", SYM, "main_l5") == DAYS[3:5]
    assert datasets.stored_config_hashes("features", SYM, "main_l5") == ["cfg2"]
    datasets.delete_days("features", SYM, "main_l5", [])


def test_invalid_writes_are_rejected(datasets: DatasetStore) -> None:
    rows = make_rows(DAYS[:1], 4)
    with pytest.raises(InvalidArgument):
        datasets.write_rows("cooked", "b1", rows)
    with pytest.raises(InvalidArgument):
        datasets.write_rows("features", "", rows)
    backwards = DatasetRows(SYM, "main_l5", rows.trading_day, rows.datetime_ns[::-1].copy(), rows.columns)
    with pytest.raises(InvalidArgument):
        datasets.write_rows("features", "b1", backwards)
    with pytest.raises(InvalidArgument):
        datasets.write_rows(
            "features",
            "b1",
            DatasetRows(SYM, "main_l5", rows.trading_day, rows.datetime_ns, {"Bad-Name": rows.columns["f_a"]}),
        )
    with pytest.raises(InvalidArgument):
        datasets.write_rows(
            "features",
            "b1",
            DatasetRows(SYM, "main_l5", rows.trading_day, rows.datetime_ns, {"segment_id": rows.columns["f_a"]}),
        )
    with pytest.raises(InvalidArgument):
        datasets.write_rows(
            "features", "b1", DatasetRows(SYM, "cooked", rows.trading_day, rows.datetime_ns, rows.columns)
        )
    assert datasets.built_days("features", SYM, "main_l5") == []


def test_build_metadata_upsert_keeps_created_at(datasets: DatasetStore) -> None:
    assert datasets.get_build("b1") is None
    datasets.put_build(
        BuildMetadata(
            "b1", "features", "cfg1", {"factors": ["a", "b"], "lookbacks": {"a": 10}}, 1_700_000_000_123_456_789
        )
    )
    datasets.put_build(BuildMetadata("b0", "main_l5", "sched", {"days": 3}, 1_600_000_000_000_000_000))
    got = datasets.get_build("b1")
    assert got is not None
    assert (got.kind, got.config_hash, dict(got.params)) == (
        "features",
        "cfg1",
        {"factors": ["a", "b"], "lookbacks": {"a": 10}},
    )
    assert got.created_at_ns == 1_700_000_000_123_456_000  # microseconds kept
    datasets.put_build(BuildMetadata("b1", "features", "cfg1", {"factors": ["a"], "days": 2}))
    again = datasets.get_build("b1")
    assert (
        again is not None
        and again.created_at_ns == got.created_at_ns
        and dict(again.params) == {"factors": ["a"], "days": 2}
    )
    assert [b.build_id for b in datasets.builds()] == ["b0", "b1"]
    assert [b.build_id for b in datasets.builds("main_l5")] == ["b0"]
    with pytest.raises(InvalidArgument):
        datasets.put_build(BuildMetadata("b9", "cooked", "cfg"))


def test_main_l5_provenance_upsert_and_delete(datasets: DatasetStore) -> None:
    recs = [
        MainL5DayProvenance(SYM, d, "SHFE.cu2404" if i < 2 else "SHFE.cu2405", int(i >= 2), "h1", 10 + i, 10 + i)
        for i, d in enumerate(DAYS[:4])
    ]
    datasets.put_main_l5_provenance(recs)
    datasets.put_main_l5_provenance([MainL5DayProvenance(SYM, DAYS[1], "SHFE.cu2405", 1, "h2", 5, 6)])
    got = datasets.main_l5_provenance(SYM)
    assert [
        (p.trading_day, p.underlying_contract, p.segment_id, p.schedule_hash, p.rows_total, p.source_rows) for p in got
    ] == [
        (DAYS[0], "SHFE.cu2404", 0, "h1", 10, 10),
        (DAYS[1], "SHFE.cu2405", 1, "h2", 5, 6),
        (DAYS[2], "SHFE.cu2405", 1, "h1", 12, 12),
        (DAYS[3], "SHFE.cu2405", 1, "h1", 13, 13),
    ]
    assert all(p.created_at_ns > 0 for p in got)
    assert [p.trading_day for p in datasets.main_l5_provenance(SYM, DAYS[1], DAYS[2])] == DAYS[1:3]
    datasets.delete_main_l5_provenance(SYM, [DAYS[0], DAYS[3]])
    assert [p.trading_day for p in datasets.main_l5_provenance(SYM)] == DAYS[1:3]
    assert datasets.main_l5_provenance("KQ.m@SHFE.au") == []


def test_feature_registry_upsert_and_deprecation(datasets: DatasetStore) -> None:
    a1 = FeatureDefinition("ofi", 1, "h-a1", ("bid_price1", "bid_volume1"), "float64", 50, 5.0)
    b1 = FeatureDefinition("spread", 1, "h-b1", ("bid_price1", "ask_price1"), "float64", 1, None)
    datasets.upsert_features([b1, a1])
    got = datasets.feature_registry()
    assert [
        (r.feature_name, r.version, r.definition_hash, r.input_columns, r.lookback_ticks, r.ttl_seconds) for r in got
    ] == [
        ("ofi", 1, "h-a1", ("bid_price1", "bid_volume1"), 50, 5.0),
        ("spread", 1, "h-b1", ("bid_price1", "ask_price1"), 1, None),
    ]
    created = got[0].created_at_ns
    assert created > 0 and got[0].deprecated_at_ns is None
    a2 = FeatureDefinition("ofi", 2, "h-a2", ("bid_price1",), "float64", 100, 5.0)
    datasets.upsert_features(
        [
            FeatureDefinition(
                "ofi", 1, "h-a1", a1.input_columns, "float64", 50, 5.0, deprecated_at_ns=1_800_000_000_000_000_000
            ),
            a2,
        ]
    )
    rows = datasets.feature_registry()
    assert [(r.feature_name, r.version) for r in rows] == [("ofi", 1), ("ofi", 2), ("spread", 1)]
    assert rows[0].created_at_ns == created and rows[0].deprecated_at_ns == 1_800_000_000_000_000_000
    assert [(r.feature_name, r.version) for r in datasets.feature_registry(include_deprecated=False)] == [
        ("ofi", 2),
        ("spread", 1),
    ]
