"""BuildDataset on synthetic KQ.m@SHFE.cu main_l5 around a roll (two segments, ~5.5k ticks/day)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from ghtrader.adapters.memory import InMemoryDatasetStore
from ghtrader.application.datasets.build import (
    BuildDataset,
    BuildDatasetRequest,
    features_config_hash,
)
from ghtrader.application.datasets.main_l5 import BuildMainL5Request
from ghtrader.application.datasets.schedule import BuildMainScheduleRequest
from ghtrader.application.errors import FailedPrecondition, InvalidArgument
from ghtrader.application.manifests import compute_manifests
from ghtrader.application.ports.datasets import DATASET_DTYPES
from ghtrader.application.ports.stores import MainL5Provenance, TickBatch
from ghtrader.domain.factors import compute_factors, get_factor
from ghtrader.domain.labels import LabelConfig, compute_labels, label_names
from ghtrader.domain.ticks import row_hash
from tests.unit.application.datasets.conftest import DatasetWorld


def stored(values: np.ndarray) -> np.ndarray:
    """Factor values as the features table keeps them (float32, read back as float64)."""
    return values.astype(DATASET_DTYPES["features"]).astype(np.float64)


ALIAS = "KQ.m@SHFE.cu"
CONTRACTS = ["SHFE.cu2403", "SHFE.cu2404", "SHFE.cu2405"]
FAR = (date(2000, 1, 1), date(2100, 1, 1))
# windowed, recursive (EWMA, regime, day means), order flow and one cross-asset factor
FACTORS = (
    "imb_l1",
    "spread_ticks",
    "ret_100",
    "rv_100",
    "ofi_l1_10",
    "ema_gap_10_100",
    "vol_z_100",
    "har_rv_prevday",
    "vpin_10",
    "xret_au_10",
)
LABELS = LabelConfig(direction_horizons=(5, 50), fill_horizons=(10, 100))
FIRST = date(2024, 2, 15)


def grow(world: DatasetWorld, end: date) -> None:
    """Raw ticks up to ``end``, then schedule and main_l5 (incremental, as a daily run does)."""
    have = world.ticks.tick_days(CONTRACTS[0], "raw")
    start = world.cal.next_trading_day(have[-1]) if have else FIRST
    world.store_market_days(world.cal.trading_days(start, end), CONTRACTS)
    world.schedule_use_case(with_catalog=False)(BuildMainScheduleRequest("SHFE.cu"))
    world.main_l5_use_case()(BuildMainL5Request("SHFE.cu"))


def builder(world: DatasetWorld, datasets: InMemoryDatasetStore | None = None) -> BuildDataset:
    return BuildDataset(
        ticks=world.ticks,
        index=world.index,
        datasets=datasets or world.datasets,
        clock=world.clock,
        reports=world.reports,
    )


def request(**kw: object) -> BuildDatasetRequest:
    return BuildDatasetRequest(ALIAS, factors=FACTORS, labels=LABELS, **kw)  # type: ignore[arg-type]


def read_all(store: InMemoryDatasetStore, kind: str) -> dict[str, np.ndarray]:
    return store.read(kind, ALIAS, *FAR)


def main_ticks_dt(world: DatasetWorld) -> np.ndarray:
    return world.ticks.read_ticks(ALIAS, "main_l5", *FAR).ticks["datetime_ns"]


def main_inputs(world: DatasetWorld) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ticks, trading day and segment id of the whole stored main_l5 series."""
    main = world.ticks.read_ticks(ALIAS, "main_l5", *FAR)
    assert main.segment_id is not None
    return main.ticks, main.trading_day, main.segment_id


def assert_same_values(a: dict[str, np.ndarray], b: dict[str, np.ndarray], columns: list[str]) -> None:
    np.testing.assert_array_equal(a["datetime_ns"], b["datetime_ns"])
    np.testing.assert_array_equal(a["segment_id"], b["segment_id"])
    assert a["underlying_contract"].tolist() == b["underlying_contract"].tolist()
    for c in columns:
        np.testing.assert_array_equal(a[c], b[c], err_msg=c)  # bit for bit, NaN where NaN


@pytest.fixture
def world(dworld: DatasetWorld) -> DatasetWorld:
    grow(dworld, date(2024, 2, 23))
    return dworld


def test_build_writes_every_day_and_a_rerun_changes_nothing(world: DatasetWorld) -> None:
    result = builder(world)(request())
    main_days = world.ticks.tick_days(ALIAS, "main_l5")
    features, labels, fills = result.kinds["features"], result.kinds["labels"], result.kinds["fill_labels"]
    assert features.days_written == main_days == labels.days_written == fills.days_written
    feats, labs = read_all(world.datasets, "features"), read_all(world.datasets, "labels")
    fill = read_all(world.datasets, "fill_labels")
    # direction labels in ghtrader_labels_v2, fill labels in ghtrader_fill_labels_v2
    assert labels.columns == list(label_names(LABELS, "direction"))
    assert fills.columns == list(label_names(LABELS, "fill"))
    assert not set(labels.columns) & set(fills.columns)
    np.testing.assert_array_equal(fill["datetime_ns"], main_ticks_dt(world))
    whole = compute_labels(*main_inputs(world), 10.0, LABELS)
    for c in fills.columns:  # one segment at a time equals the stored values
        np.testing.assert_array_equal(fill[c], whole[c], err_msg=c)
    main = world.ticks.read_ticks(ALIAS, "main_l5", *FAR)
    np.testing.assert_array_equal(feats["datetime_ns"], main.ticks["datetime_ns"])
    np.testing.assert_array_equal(labs["datetime_ns"], main.ticks["datetime_ns"])
    np.testing.assert_array_equal(feats["segment_id"], main.segment_id)
    assert feats["underlying_contract"].tolist() == main.underlying_contract.tolist()  # type: ignore[union-attr]
    assert set(feats["build_id"].tolist()) == {features.build_id}
    assert np.isfinite(feats["imb_l1"]).mean() > 0.9
    assert np.isnan(feats["xret_au_10"]).all()  # no gold main_l5 stored: the cross-asset input is absent
    assert np.isfinite(labs["dir_h5"]).mean() > 0.9

    # metadata: build id, config hash, factor set and lookbacks
    meta = world.datasets.get_build(features.build_id or "")
    assert meta is not None and meta.config_hash == features.config_hash
    assert meta.params["factors"] == list(FACTORS)
    assert meta.params["lookbacks"] == {n: get_factor(n).lookback for n in FACTORS}
    # the feature registry holds every factor with its lineage
    reg = {r.feature_name: r for r in world.datasets.feature_registry()}
    assert reg["ofi_l1_10"].input_columns == get_factor("ofi_l1_10").inputs
    assert "bid_volume1" in reg["ofi_l1_10"].input_columns and reg["ret_100"].lookback_ticks == 101

    builds_before = world.datasets.builds()
    again = builder(world)(request())
    assert all(k.days_written == [] and k.build_id is None and k.rows_written == 0 for k in again.kinds.values())
    assert again.kinds["features"].days_up_to_date == len(main_days)
    assert world.datasets.builds() == builds_before
    assert_same_values(read_all(world.datasets, "features"), feats, list(FACTORS))
    assert set(read_all(world.datasets, "features")["build_id"].tolist()) == {features.build_id}
    assert_same_values(read_all(world.datasets, "labels"), labs, labels.columns)
    assert_same_values(read_all(world.datasets, "fill_labels"), fill, fills.columns)


def test_incremental_days_equal_a_full_rebuild(world: DatasetWorld) -> None:
    first = builder(world)(request())
    grow(world, date(2024, 2, 28))  # three more days extend the second segment
    inc = builder(world)(request())
    new_days = [d for d in world.ticks.tick_days(ALIAS, "main_l5") if d > date(2024, 2, 23)]
    assert inc.kinds["features"].days_written == new_days
    # labels of the last old day look ahead into the new days: rewritten too
    assert inc.kinds["labels"].days_written == [first.kinds["labels"].days_written[-1], *new_days]

    fresh = InMemoryDatasetStore()
    full = builder(world, fresh)(request())
    assert full.kinds["features"].config_hash == inc.kinds["features"].config_hash
    assert_same_values(read_all(world.datasets, "features"), read_all(fresh, "features"), list(FACTORS))
    assert_same_values(read_all(world.datasets, "labels"), read_all(fresh, "labels"), full.kinds["labels"].columns)
    assert_same_values(
        read_all(world.datasets, "fill_labels"), read_all(fresh, "fill_labels"), full.kinds["fill_labels"].columns
    )

    # a build limited to a range then extended gives the same values too
    ranged = InMemoryDatasetStore()
    days = world.ticks.tick_days(ALIAS, "main_l5")
    builder(world, ranged)(request(start_day=days[3], end_day=days[5]))
    assert ranged.built_days("features", ALIAS, "main_l5") == days[3:6]
    builder(world, ranged)(request())
    assert_same_values(read_all(ranged, "features"), read_all(fresh, "features"), list(FACTORS))
    assert_same_values(read_all(ranged, "labels"), read_all(fresh, "labels"), full.kinds["labels"].columns)


def test_rolling_state_restarts_at_each_segment(world: DatasetWorld) -> None:
    builder(world)(request())
    feats = read_all(world.datasets, "features")
    labs = read_all(world.datasets, "labels")
    main = world.ticks.read_ticks(ALIAS, "main_l5", *FAR)
    seg = main.segment_id
    assert seg is not None and len(np.unique(seg)) == 2
    second = seg == seg.max()
    # the second segment alone, from a fresh engine, gives exactly the stored values
    alone = compute_factors(
        main.ticks[second], main.trading_day[second], seg[second], names=FACTORS, price_tick=10.0, multiplier=5.0
    )
    for name in FACTORS:
        np.testing.assert_array_equal(feats[name][second], stored(alone[name]), err_msg=name)
    start = int(np.flatnonzero(second)[0])
    assert np.isnan(feats["ret_100"][start : start + 100]).all()  # windows never reach back over a roll
    lab_alone = compute_labels(main.ticks[second], main.trading_day[second], seg[second], 10.0, LABELS)
    np.testing.assert_array_equal(labs["dmid_h50"][second], lab_alone["dmid_h50"])
    # and direction labels never look across the roll
    assert np.isnan(labs["dmid_h50"][start - 50 : start]).all()


def test_changed_config_is_refused_without_overwrite(world: DatasetWorld) -> None:
    first = builder(world)(request())
    old = first.kinds["features"].config_hash
    other = BuildDatasetRequest(ALIAS, factors=FACTORS[:3], labels=LABELS)
    with pytest.raises(FailedPrecondition) as err:
        builder(world)(other)
    new = features_config_hash([get_factor(n) for n in FACTORS[:3]], 10.0, 5.0, {})  # no cross-asset factor left
    assert old in str(err.value) and new in str(err.value)
    with pytest.raises(FailedPrecondition, match=first.kinds["labels"].config_hash):
        builder(world)(
            BuildDatasetRequest(ALIAS, factors=FACTORS, labels=LabelConfig(direction_horizons=(7,)), kinds=("labels",))
        )
    # nothing was touched by the refused builds
    assert world.datasets.stored_config_hashes("features", ALIAS, "main_l5") == [old]

    rebuilt = builder(world)(BuildDatasetRequest(ALIAS, factors=FACTORS[:3], labels=LABELS, overwrite=True))
    assert world.datasets.stored_config_hashes("features", ALIAS, "main_l5") == [rebuilt.kinds["features"].config_hash]
    assert rebuilt.kinds["features"].days_written == world.ticks.tick_days(ALIAS, "main_l5")
    assert world.datasets.stored_config_hashes("labels", ALIAS, "main_l5") == [first.kinds["labels"].config_hash]


def test_a_changed_source_day_is_rebuilt_with_the_rest_of_its_segment(world: DatasetWorld) -> None:
    builder(world)(request())
    days = world.ticks.tick_days(ALIAS, "main_l5")
    prov = {p.trading_day: p for p in world.datasets.main_l5_provenance(ALIAS)}
    seg_days = [d for d in days if prov[d].segment_id == prov[days[-1]].segment_id]
    day = seg_days[1]
    contract = prov[day].underlying_contract
    raw = world.ticks.read_ticks(contract, "raw", day, day).ticks
    world.ticks.delete_days(contract, "raw", [day])
    world.store(contract, raw[: len(raw) // 2].copy())  # re-downloaded with fewer rows
    world.main_l5_use_case()(BuildMainL5Request("SHFE.cu"))

    result = builder(world)(request())
    assert result.kinds["features"].days_written == seg_days[1:]
    for kind in result.kinds.values():  # a day recomputed for its neighbour is counted once
        assert len(kind.days_written) + kind.days_up_to_date == len(days)
    fresh = InMemoryDatasetStore()
    builder(world, fresh)(request())
    assert_same_values(read_all(world.datasets, "features"), read_all(fresh, "features"), list(FACTORS))
    assert_same_values(read_all(world.datasets, "labels"), read_all(fresh, "labels"), result.kinds["labels"].columns)


def test_cross_asset_input_arrives_later_and_is_picked_up(world: DatasetWorld) -> None:
    builder(world)(request())
    # a gold main_l5 series appears for the same days: the cu features that read it are rebuilt
    main = world.ticks.read_ticks(ALIAS, "main_l5", *FAR)
    gold = main.ticks.copy()
    for name in ("bid_price1", "ask_price1"):
        gold[name] = np.round(gold[name] / 150.0, 2)
    n = len(gold)
    hashes = row_hash(gold)
    prov = MainL5Provenance(np.full(n, "SHFE.au2406", dtype=object), np.zeros(n, dtype=np.int64), "gold-schedule")
    world.ticks.write_ticks(TickBatch("KQ.m@SHFE.au", "main_l5", gold, main.trading_day, hashes, prov))
    world.index.upsert_manifests(compute_manifests("KQ.m@SHFE.au", "main_l5", main.trading_day, hashes, gold, 0))

    result = builder(world)(request())
    assert result.kinds["features"].days_written == world.ticks.tick_days(ALIAS, "main_l5")
    assert result.kinds["labels"].days_written == []  # labels do not read other varieties
    feats = read_all(world.datasets, "features")
    assert np.isfinite(feats["xret_au_10"]).mean() > 0.5
    # same times on both series, so the as-of gold mid of each cu tick is the gold tick's own mid
    gold_mid = np.where(
        (gold["bid_price1"] > 0) & (gold["ask_price1"] > 0), (gold["bid_price1"] + gold["ask_price1"]) / 2.0, np.nan
    )
    alone = compute_factors(
        main.ticks,
        main.trading_day,
        main.segment_id,
        names=["xret_au_10"],
        extras={"au_mid": gold_mid},
        price_tick=10.0,
        multiplier=5.0,
    )
    np.testing.assert_array_equal(feats["xret_au_10"], stored(alone["xret_au_10"]))


def test_raw_contract_build_and_bad_requests(world: DatasetWorld) -> None:
    result = builder(world)(BuildDatasetRequest("SHFE.cu2404", factors=FACTORS[:4], labels=LABELS))
    assert result.ticks_lake == "raw"
    got = world.datasets.read("features", "SHFE.cu2404", *FAR, ticks_lake="raw")
    raw = world.ticks.read_ticks("SHFE.cu2404", "raw", *FAR)
    np.testing.assert_array_equal(got["datetime_ns"], raw.ticks["datetime_ns"])
    assert set(got["segment_id"].tolist()) == {-1} and set(got["underlying_contract"].tolist()) == {None}
    alone = compute_factors(raw.ticks, raw.trading_day, None, names=FACTORS[:4], price_tick=10.0, multiplier=5.0)
    np.testing.assert_array_equal(got["ret_100"], stored(alone["ret_100"]))

    with pytest.raises(FailedPrecondition, match="main-l5"):
        builder(world)(BuildDatasetRequest("KQ.m@SHFE.ag", factors=FACTORS))
    with pytest.raises(InvalidArgument):
        builder(world)(BuildDatasetRequest(ALIAS, factors=("no_such_factor",)))
    with pytest.raises(InvalidArgument):
        builder(world)(BuildDatasetRequest(ALIAS, kinds=("cooked",)))
    with pytest.raises(InvalidArgument):
        builder(world)(BuildDatasetRequest(ALIAS, start_day=date(2024, 3, 1), end_day=date(2024, 2, 1)))


class _Interrupted(RuntimeError):
    pass


class _FailingStore(InMemoryDatasetStore):
    """Dies on the ``fail_at``-th row write, as a killed build would."""

    def __init__(self, fail_at: int) -> None:
        super().__init__()
        self.fail_at = fail_at
        self.writes = 0

    def write_rows(self, kind, build_id, rows):  # type: ignore[no-untyped-def]
        self.writes += 1
        if self.writes == self.fail_at:
            raise _Interrupted("killed")
        return super().write_rows(kind, build_id, rows)


def test_an_interrupted_build_resumes_to_the_full_result(world: DatasetWorld) -> None:
    store = _FailingStore(fail_at=13)  # part-way through the second segment (3 writes per day)
    with pytest.raises(_Interrupted):
        builder(world, store)(request())
    done = store.built_days("features", ALIAS, "main_l5")
    assert 0 < len(done) < len(world.ticks.tick_days(ALIAS, "main_l5"))
    store.fail_at = -1
    resumed = builder(world, store)(request())
    assert resumed.kinds["features"].days_up_to_date > 0  # finished segments are not recomputed
    fresh = InMemoryDatasetStore()
    full = builder(world, fresh)(request())
    assert_same_values(read_all(store, "features"), read_all(fresh, "features"), list(FACTORS))
    assert_same_values(read_all(store, "labels"), read_all(fresh, "labels"), full.kinds["labels"].columns)
    assert_same_values(
        read_all(store, "fill_labels"), read_all(fresh, "fill_labels"), full.kinds["fill_labels"].columns
    )
