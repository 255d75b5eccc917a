"""StoreFrameSource over the in-memory stores, with the synthetic market's oracle."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
import pytest

from ghtrader.adapters.memory import InMemoryDatasetStore, InMemoryTickStore
from ghtrader.adapters.synthetic.oracle import SyntheticOracleSource
from ghtrader.application.errors import InvalidArgument, NotFound
from ghtrader.application.ports.datasets import BuildMetadata, DatasetRows
from ghtrader.application.ports.stores import MainL5Provenance, TickBatch
from ghtrader.application.research.benchmark import BenchmarkRequest, RunBenchmark
from ghtrader.application.research.families import FamilyRegistry
from ghtrader.application.research.frames import StoreFrameSource
from ghtrader.domain.factors import compute_factor_matrix
from ghtrader.domain.labels import direction_labels
from ghtrader.domain.ticks import row_hash
from tests.fakes.frames import synthetic_market
from tests.fakes.system import FakeClock

from .bench_families import PriorFamily

FACTORS = ("imb_l1", "spread_ticks", "ret_10", "ofi_l1_10")
RAW_DAYS = [date(2026, 11, 2), date(2026, 11, 3)]
MAIN_DAYS = [date(2026, 11, 23), date(2026, 11, 24)]  # cu2612 -> cu2701 roll (seed 7)
MAIN = "KQ.m@SHFE.cu"


def _market():
    return synthetic_market(seed=7, signal_strength=0.3, tick_interval_ms=5000)


def _store(symbol: str, days: list[date], lake: str) -> tuple[InMemoryTickStore, InMemoryDatasetStore, dict]:
    market = _market()
    contracts = [symbol if lake == "raw" else market.main_contract("SHFE.cu", d) for d in days]
    parts = [market.ticks(c, d) for c, d in zip(contracts, days, strict=True)]
    ticks = np.concatenate(parts)
    tday = np.concatenate([np.full(p.shape[0], np.datetime64(d, "D")) for p, d in zip(parts, days, strict=True)])
    under = np.concatenate([np.full(p.shape[0], c, dtype=object) for p, c in zip(parts, contracts, strict=True)])
    seg = np.concatenate(
        [np.full(p.shape[0], contracts.index(c), dtype=np.int64) for p, c in zip(parts, contracts, strict=True)]
    )
    prov = MainL5Provenance(under, seg, "schedule-hash") if lake == "main_l5" else None
    tick_store = InMemoryTickStore()
    tick_store.write_ticks(TickBatch(symbol, lake, ticks, tday, row_hash(ticks), prov))

    feats, names = compute_factor_matrix(ticks, tday, seg, FACTORS, price_tick=10.0)
    labels = direction_labels(ticks["bid_price1"], ticks["ask_price1"], seg, (10, 50), 10.0, 1.0)
    datasets = InMemoryDatasetStore(clock=lambda: 1)
    datasets.put_build(BuildMetadata("fb", "features", "fhash", {"price_tick": 10.0}))
    datasets.put_build(BuildMetadata("lb", "labels", "lhash", {"price_tick": 10.0, "label_config": {"k": 1.0}}))
    main = lake == "main_l5"
    datasets.write_rows(
        "features",
        "fb",
        DatasetRows(
            symbol,
            lake,
            tday,
            ticks["datetime_ns"],
            {n: feats[:, j] for j, n in enumerate(names)},
            under if main else None,
            seg if main else None,
        ),
    )
    keep = np.arange(ticks.shape[0]) < ticks.shape[0] - 5  # the last 5 rows have no labels row
    datasets.write_rows(
        "labels",
        "lb",
        DatasetRows(
            symbol,
            lake,
            tday[keep],
            ticks["datetime_ns"][keep],
            {k: v[keep] for k, v in labels.items()},
            under[keep] if main else None,
            seg[keep] if main else None,
        ),
    )
    truth = {"ticks": ticks, "features": feats, "labels": labels, "contracts": under, "segment": seg, "n": keep.sum()}
    return tick_store, datasets, truth


def test_raw_frame_joins_features_labels_and_quotes() -> None:
    ticks, datasets, truth = _store("SHFE.cu2612", RAW_DAYS, "raw")
    source = StoreFrameSource(datasets=datasets, ticks=ticks)
    frame, prov = source.load("SHFE.cu2612", "raw", RAW_DAYS[0], RAW_DAYS[1], 10, FACTORS[::-1])
    n = int(truth["n"])
    assert len(frame) == n
    assert frame.feature_names == FACTORS[::-1] and frame.features.dtype == np.float32
    np.testing.assert_array_equal(frame.features, truth["features"][:n, ::-1].astype(np.float32))
    np.testing.assert_array_equal(frame.labels, truth["labels"]["dir_h10"][:n])
    t = truth["ticks"][:n]
    np.testing.assert_allclose(frame.mid, (t["bid_price1"] + t["ask_price1"]) / 2)
    np.testing.assert_allclose(frame.spread, t["ask_price1"] - t["bid_price1"])
    np.testing.assert_array_equal(frame.extras["dmid_h50"], truth["labels"]["dmid_h50"][:n])
    assert set(frame.extras) == {"dmid_h10", "dmid_h50"}
    assert frame.price_tick == 10.0 and frame.horizon == 10 and np.all(frame.segment_id == 0)
    assert (prov.feature_build_id, prov.label_build_id, prov.schedule_hash) == ("fb", "lb", "")
    assert prov.config_hash == "features:fhash;labels:lhash" and prov.ticks_lake == "raw"


def test_oracle_extras_align_with_each_contract_day() -> None:
    ticks, datasets, truth = _store(MAIN, MAIN_DAYS, "main_l5")
    market = _market()
    source = StoreFrameSource(datasets=datasets, ticks=ticks, oracle=SyntheticOracleSource(market))
    frame, prov = source.load(MAIN, "main_l5", MAIN_DAYS[0], MAIN_DAYS[1], 10, FACTORS)
    contracts = truth["contracts"][: len(frame)]
    assert len(set(contracts)) == 2 and prov.schedule_hash == "schedule-hash"
    np.testing.assert_array_equal(frame.segment_id, truth["segment"][: len(frame)])
    for day, contract in zip(MAIN_DAYS, dict.fromkeys(contracts), strict=True):
        rows = frame.trading_day == np.datetime64(day, "D")
        expected = market.oracle(contract, day, 10)
        got = frame.extras["oracle_dmid"][rows]
        assert np.isfinite(got).sum() > 1000
        np.testing.assert_array_equal(got, expected[: got.shape[0]])
        direction = market.oracle_direction(contract, day, 10, 10.0)[: got.shape[0]] + 1.0
        direction[np.isnan(got)] = np.nan
        np.testing.assert_array_equal(frame.extras["oracle_direction"][rows], direction)


def test_bayes_extras_fill_a_seeded_sample_of_each_contract_day() -> None:
    ticks, datasets, truth = _store(MAIN, MAIN_DAYS, "main_l5")
    market = _market()
    oracle = SyntheticOracleSource(market)
    # the oracle's own threshold is overridden; the Bayes extras use the labels build's k (1.0)
    source = StoreFrameSource(
        datasets=datasets, ticks=ticks, oracle=oracle, oracle_threshold_ticks=3.0, oracle_sample_per_day=1500
    )
    frame, _ = source.load(MAIN, "main_l5", MAIN_DAYS[0], MAIN_DAYS[1], 10, FACTORS)
    p = np.column_stack([frame.extras[k] for k in ("bayes_p_down", "bayes_p_flat", "bayes_p_up")])
    se = frame.extras["bayes_se"]
    contracts = truth["contracts"][: len(frame)]
    picked_sets = []
    for day, contract in zip(MAIN_DAYS, dict.fromkeys(contracts), strict=True):
        rows = np.flatnonzero(frame.trading_day == np.datetime64(day, "D"))
        day_ticks = market.ticks(contract, day)
        pos = np.searchsorted(day_ticks["datetime_ns"], frame.datetime_ns[rows])
        picked = ~np.isnan(se[rows])
        # 1500 sampled rows, minus those whose horizon runs past the day (NaN there)
        assert 1490 <= picked.sum() <= 1500 and rows.shape[0] > 3000
        want_p, want_se = market.class_probabilities(contract, day, 10, 1.0, pos[picked])
        np.testing.assert_array_equal(p[rows[picked]], want_p)
        np.testing.assert_array_equal(se[rows[picked]], want_se.max(axis=1))
        assert np.isnan(p[rows[~picked]]).all()
        assert se[rows[picked]].max() <= 0.01
        np.testing.assert_allclose(p[rows[picked]].sum(axis=1), 1.0, atol=1e-9)
        picked_sets.append(pos[picked])
    # the sample spreads over the day rather than taking its first rows
    assert all(q.max() - q.min() > 3000 for q in picked_sets)
    # the same sample again; another seed samples other rows
    again, _ = source.load(MAIN, "main_l5", MAIN_DAYS[0], MAIN_DAYS[1], 10, FACTORS)
    np.testing.assert_array_equal(again.extras["bayes_p_up"], frame.extras["bayes_p_up"])
    other = StoreFrameSource(
        datasets=datasets, ticks=ticks, oracle=oracle, oracle_sample_per_day=1500, oracle_sample_seed=1
    )
    other_frame, _ = other.load(MAIN, "main_l5", MAIN_DAYS[0], MAIN_DAYS[1], 10, FACTORS)
    assert not np.array_equal(np.isnan(other_frame.extras["bayes_se"]), np.isnan(se))
    # a day smaller than the sample gets every row; 0 turns the extras off
    every = StoreFrameSource(datasets=datasets, ticks=ticks, oracle=oracle, oracle_sample_per_day=100_000)
    all_frame, _ = every.load(MAIN, "main_l5", MAIN_DAYS[0], MAIN_DAYS[0], 10, FACTORS)
    assert np.isnan(all_frame.extras["bayes_se"]).sum() == 10  # only the day's last 10 ticks
    off = StoreFrameSource(datasets=datasets, ticks=ticks, oracle=oracle, oracle_sample_per_day=0)
    off_frame, _ = off.load(MAIN, "main_l5", MAIN_DAYS[0], MAIN_DAYS[0], 10, FACTORS)
    assert np.isnan(off_frame.extras["bayes_p_up"]).all()
    with pytest.raises(InvalidArgument, match="oracle_sample_per_day"):
        StoreFrameSource(datasets=datasets, ticks=ticks, oracle=oracle, oracle_sample_per_day=-1)


def test_clear_errors() -> None:
    ticks, datasets, _ = _store("SHFE.cu2612", RAW_DAYS, "raw")
    source = StoreFrameSource(datasets=datasets, ticks=ticks)
    with pytest.raises(InvalidArgument, match="features not built: kyle_100"):
        source.load("SHFE.cu2612", "raw", RAW_DAYS[0], RAW_DAYS[1], 10, ("imb_l1", "kyle_100"))
    with pytest.raises(InvalidArgument, match=r"no labels of horizon 100 .*\[10, 50\]"):
        source.load("SHFE.cu2612", "raw", RAW_DAYS[0], RAW_DAYS[1], 100, FACTORS)
    with pytest.raises(NotFound, match="no features of SHFE.cu2612"):
        source.load("SHFE.cu2612", "raw", date(2026, 12, 1), date(2026, 12, 2), 10, FACTORS)
    with pytest.raises(InvalidArgument, match="unknown ticks_lake"):
        source.load("SHFE.cu2612", "lake", RAW_DAYS[0], RAW_DAYS[1], 10, FACTORS)
    with pytest.raises(InvalidArgument, match="after end_day"):
        source.load("SHFE.cu2612", "raw", RAW_DAYS[1], RAW_DAYS[0], 10, FACTORS)


def test_benchmark_reads_its_frame_from_the_store() -> None:
    days = [date(2026, 11, d) for d in (2, 3, 4, 5, 6, 9, 10, 11)]
    ticks, datasets, _ = _store("SHFE.cu2612", days, "raw")
    source = StoreFrameSource(
        datasets=datasets, ticks=ticks, oracle=SyntheticOracleSource(_market()), oracle_sample_per_day=300
    )
    bench = RunBenchmark(families=FamilyRegistry([PriorFamily()]), frames=source, clock=FakeClock())
    request = BenchmarkRequest(
        family="prior",
        symbol="SHFE.cu2612",
        ticks_lake="raw",
        start_day=days[0],
        end_day=days[-1],
        feature_names=FACTORS,
        write_report=False,
    )
    report = bench(request)
    assert report.n_splits == 5 and report.feature_names == FACTORS
    assert report.provenance is not None and report.provenance["feature_build_id"] == "fb"
    rule = report.pooled["expected_move_rule"]
    assert rule is not None and len(rule["fold_thresholds"]) == 5
    with pytest.raises(InvalidArgument, match="symbol, start_day and end_day"):
        bench(replace(request, symbol=""))
