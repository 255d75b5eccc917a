"""AuditStore on in-memory stores: a clean store passes, each kind of damage is named."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from ghtrader.application.audit import AuditStore, AuditStoreRequest
from ghtrader.application.errors import InvalidArgument
from ghtrader.application.ingest import DownloadTicksRequest
from ghtrader.application.manifests import compute_manifests
from ghtrader.application.ports.stores import MainL5Provenance, TickBatch
from ghtrader.domain.ticks import row_hash

from .world import TODAY, World

SYM = "SHFE.cu2410"
MAIN = "KQ.m@SHFE.cu"
START = date(2024, 9, 23)
DAY = date(2024, 10, 9)


@pytest.fixture
def stocked(world: World) -> World:
    world.fill(SYM, START, TODAY)
    world.download()(DownloadTicksRequest(SYM, START, TODAY))
    return world


def _raw_request(**kw: object) -> AuditStoreRequest:
    return AuditStoreRequest(ticks_lakes=("raw",), **kw)  # type: ignore[arg-type]


def _day_rows(world: World, symbol: str = SYM, lake: str = "raw", day: date = DAY):  # type: ignore[no-untyped-def]
    return world.ticks.read_ticks(symbol, lake, day, day)


def test_clean_store_passes_and_writes_a_report(stocked: World) -> None:
    result = stocked.audit()(AuditStoreRequest())
    assert result.ok and result.findings == []
    assert result.partitions_read == 10
    for check in ("schema", "datetime", "trading_day", "sanity", "row_hash", "index"):
        assert result.checks[check].checked > 0 and result.checks[check].errors == 0
    report = json.loads(Path(result.report_path or "").read_text())
    assert report["result"]["ok"] is True and Path(result.report_path or "").parent.name == "audit"


def test_a_corrupted_row_is_named_by_symbol_day_and_time(stocked: World) -> None:
    stored = _day_rows(stocked)
    rows = stored.ticks.copy()
    rows["last_price"][3] += 10.0  # the field changes, the stored hash does not
    stocked.ticks.write_ticks(TickBatch(SYM, "raw", rows, stored.trading_day, stored.row_hash))

    result = stocked.audit()(_raw_request())
    assert not result.ok
    (finding,) = result.errors("row_hash")
    assert (finding.symbol, finding.trading_day, finding.severity) == (SYM, DAY, "error")
    assert f"datetime_ns={int(rows['datetime_ns'][3])}" in finding.detail
    assert result.errors("index") == []  # the hash sums still match the manifest


def test_a_manifest_mismatch_and_missing_index_days_are_reported(stocked: World) -> None:
    manifests = {m.trading_day: m for m in stocked.index.manifests(SYM, "raw")}
    stocked.index.upsert_manifests([replace(manifests[DAY], rows_total=manifests[DAY].rows_total + 1)])
    stocked.index.delete_manifests(SYM, "raw", [date(2024, 9, 24)])
    stocked.ticks.delete_days(SYM, "raw", [date(2024, 9, 25)])

    result = stocked.audit()(_raw_request())
    details = {(f.trading_day, f.detail.split(":")[0]) for f in result.errors("index")}
    assert details == {
        (DAY, "manifest differs from the stored rows"),
        (date(2024, 9, 24), "ticks without an index row"),
        (date(2024, 9, 25), "index row without ticks"),
    }
    mismatch = next(f for f in result.errors("index") if f.trading_day == DAY)
    assert "rows_total" in mismatch.detail and not result.ok


def test_stored_insane_rows_and_bad_trading_days_are_errors(stocked: World) -> None:
    stored = _day_rows(stocked)
    rows = stored.ticks.copy()
    rows["bid_volume2"][1] = -1.0
    days = stored.trading_day.copy()
    days[2] = np.datetime64("2024-10-10")  # stored under the wrong trading day
    stocked.ticks.write_ticks(TickBatch(SYM, "raw", rows, days, row_hash(rows)))
    result = stocked.audit()(_raw_request(symbols=(SYM,)))
    assert any("negative volume" in f.detail and f.trading_day == DAY for f in result.errors("sanity"))
    (wrong_day,) = [f for f in result.errors("trading_day")]
    assert f"datetime_ns={int(rows['datetime_ns'][2])}" in wrong_day.detail


def test_missing_tables_are_schema_errors(stocked: World) -> None:
    class EmptySchema:
        def table_names(self) -> list[str]:
            return ["ghtrader_ticks_raw_v2"]

        def ensure_schema(self) -> list[str]:
            return []

    audit = AuditStore(ticks=stocked.ticks, index=stocked.index, schema=EmptySchema(), clock=stocked.clock)
    result = audit(_raw_request())
    assert {f.detail.split()[1] for f in result.errors("schema")} == {
        "ghtrader_symbol_day_index_v2",
        "ghtrader_no_data_days_v2",
    }


def test_sampling_is_seeded(stocked: World) -> None:
    a = stocked.audit()(_raw_request(sample_days=3, seed=7))
    b = stocked.audit()(_raw_request(sample_days=3, seed=7))
    assert a.partitions_read == 3 and a.checks["row_hash"].checked == b.checks["row_hash"].checked == 3
    with pytest.raises(InvalidArgument):
        stocked.audit()(_raw_request(sample_days=0))


def _write_main_l5(world: World, rows_from: str, days: list[date]) -> None:
    for day in days:
        raw = _day_rows(world, rows_from, day=day)
        n = len(raw)
        prov = MainL5Provenance(np.array([rows_from] * n, dtype=object), np.zeros(n, dtype=np.int64), "sched1")
        world.ticks.write_ticks(TickBatch(MAIN, "main_l5", raw.ticks, raw.trading_day, raw.row_hash, prov))
        world.index.upsert_manifests(
            compute_manifests(MAIN, "main_l5", raw.trading_day, raw.row_hash, raw.ticks, world.clock.now_ns())
        )


def test_main_l5_rows_must_equal_their_raw_rows(stocked: World) -> None:
    _write_main_l5(stocked, SYM, [DAY, TODAY])
    clean = stocked.audit()(AuditStoreRequest())
    assert clean.ok and clean.checks["main_l5"].checked == 2

    main = _day_rows(stocked, MAIN, "main_l5")
    rows = main.ticks.copy()
    rows["ask_volume5"][0] += 1.0
    hashes = row_hash(rows)  # self-consistent, but no longer the raw row
    prov = MainL5Provenance(main.underlying_contract, main.segment_id, "sched1")
    stocked.ticks.write_ticks(TickBatch(MAIN, "main_l5", rows, main.trading_day, hashes, prov))
    stocked.index.upsert_manifests(compute_manifests(MAIN, "main_l5", main.trading_day, hashes, rows, 0))
    result = stocked.audit()(AuditStoreRequest(symbols=(MAIN,), ticks_lakes=("main_l5",)))
    (finding,) = result.errors()
    assert finding.check == "main_l5" and finding.trading_day == DAY and finding.ticks_lake == "main_l5"
    assert f"datetime_ns={int(rows['datetime_ns'][0])}" in finding.detail and SYM in finding.detail


def test_row_findings_are_capped_but_counted(stocked: World) -> None:
    stored = _day_rows(stocked)
    rows = stored.ticks.copy()
    rows["open_interest"] += 1.0
    stocked.ticks.write_ticks(TickBatch(SYM, "raw", rows, stored.trading_day, stored.row_hash))
    result = stocked.audit()(_raw_request(max_row_findings=2))
    errors = result.errors("row_hash")
    assert len(errors) == 3 and f"{len(rows) - 2} more rows" in errors[-1].detail
