"""VerifyCoverage, FillMissing, BootstrapIndex and ContractStatus on in-memory fakes."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from ghtrader.application.contract_windows import last_completed_trading_day
from ghtrader.application.coverage import (
    BootstrapIndexRequest,
    ContractStatusRequest,
    FillMissingRequest,
    VerifyCoverageRequest,
    statuses_by_symbol,
)
from ghtrader.application.errors import FailedPrecondition, InvalidArgument
from ghtrader.application.ingest import DownloadTicksRequest
from ghtrader.application.ports.stores import NoDataDay, TickBatch
from ghtrader.domain.ticks import row_hash

from .world import TODAY, World, bj, contract, day_ticks

CU10, CU11, CU09, CU12 = "SHFE.cu2410", "SHFE.cu2411", "SHFE.cu2409", "SHFE.cu2412"
MAIN = "KQ.m@SHFE.cu"


@pytest.fixture
def catalog_world(world: World) -> World:
    world.provider.add_contract(contract(CU09, date(2024, 9, 2), date(2024, 9, 13), expired=True))
    world.provider.add_contract(contract(CU10, date(2024, 9, 23), date(2024, 10, 15)))
    world.provider.add_contract(contract(CU11, date(2024, 10, 8), None))
    world.provider.add_contract(contract(CU12, date(2024, 10, 9), None))
    for sym in (CU09, CU10, CU11, CU12):
        world.fill(sym, date(2024, 9, 2), TODAY)
    return world


def _download(world: World, symbol: str, start: date, end: date) -> None:
    world.download()(DownloadTicksRequest(symbol, start, end))


def _holes(world: World) -> None:
    """cu2410: present except 09-25 and 10-09 (missing) and 10-10 (no-data)."""
    _download(world, CU10, date(2024, 9, 23), date(2024, 9, 24))
    _download(world, CU10, date(2024, 9, 26), date(2024, 10, 8))
    _download(world, CU10, date(2024, 10, 11), date(2024, 10, 11))
    world.index.record_no_data([NoDataDay(CU10, date(2024, 10, 10), "raw", "provider returned no ticks")])


def test_last_completed_trading_day_follows_the_close() -> None:
    from ghtrader.domain.calendar import TradingCalendar

    cal = TradingCalendar([date(2024, 10, d) for d in range(1, 8)])
    assert last_completed_trading_day(cal, bj(2024, 10, 11, 10, 0)) == date(2024, 10, 10)
    assert last_completed_trading_day(cal, bj(2024, 10, 11, 16, 0)) == date(2024, 10, 11)
    assert last_completed_trading_day(cal, bj(2024, 10, 11, 22, 0)) == date(2024, 10, 11)
    assert last_completed_trading_day(cal, bj(2024, 10, 12, 1, 0)) == date(2024, 10, 11)
    assert last_completed_trading_day(cal, bj(2024, 10, 3, 12, 0)) == date(2024, 9, 30)
    assert last_completed_trading_day(cal, bj(2024, 10, 8, 9, 30)) == date(2024, 9, 30)


def test_verify_lists_missing_days_and_unindexed_symbols(catalog_world: World) -> None:
    world = catalog_world
    _holes(world)
    result = world.verify()(VerifyCoverageRequest(variety_key="SHFE.cu"))
    (cov,) = result.contracts
    assert cov.symbol == CU10 and (cov.window_start, cov.window_end) == (date(2024, 9, 23), TODAY)
    assert cov.missing_days == [date(2024, 9, 25), date(2024, 10, 9)]
    assert (cov.expected, cov.present, cov.no_data, cov.missing) == (10, 7, 1, 2)
    assert set(result.unindexed) == {CU09, CU11, CU12}
    assert any(CU11 in m and "not in the index" in m for m in result.messages)
    assert not result.complete and result.report_path

    # A contract the catalog does not know: only gaps between its first and last indexed day.
    world.fill("SHFE.cu2408", date(2024, 9, 2), date(2024, 9, 6))
    _download(world, "SHFE.cu2408", date(2024, 9, 2), date(2024, 9, 3))
    _download(world, "SHFE.cu2408", date(2024, 9, 5), date(2024, 9, 6))
    (old,) = world.verify()(VerifyCoverageRequest(symbols=("SHFE.cu2408",))).contracts
    assert old.missing_days == [date(2024, 9, 4)] and old.window_end == date(2024, 9, 6) and "catalog" in old.note
    world.provider.add_ticks(MAIN, day_ticks(world.cal, date(2024, 10, 10)))
    _download(world, MAIN, date(2024, 10, 10), date(2024, 10, 10))
    (alias,) = world.verify()(VerifyCoverageRequest(symbols=(MAIN,))).contracts
    assert alias.missing_days == [TODAY]

    one = world.verify()(VerifyCoverageRequest(symbols=(CU10, CU11)))
    assert [c.symbol for c in one.contracts] == [CU10] and one.unindexed == [CU11]
    with pytest.raises(InvalidArgument):
        world.verify()(VerifyCoverageRequest())
    with pytest.raises(InvalidArgument):
        world.verify()(VerifyCoverageRequest(symbols=(CU10,), variety_key="SHFE.cu"))


def test_fill_missing_needs_an_index(catalog_world: World) -> None:
    with pytest.raises(FailedPrecondition, match="data bootstrap-index"):
        catalog_world.fill_missing()(FillMissingRequest("SHFE.cu"))


def test_fill_missing_refuses_a_stale_index(catalog_world: World) -> None:
    world = catalog_world
    _download(world, CU10, date(2024, 9, 23), date(2024, 9, 24))
    rows = day_ticks(world.cal, date(2024, 10, 8))
    days = world.cal.trading_days_of(rows["datetime_ns"])
    world.ticks.write_ticks(TickBatch(CU11, "raw", rows, days, row_hash(rows)))  # ticks, no manifest
    with pytest.raises(FailedPrecondition, match=r"SHFE\.cu2411.*data bootstrap-index"):
        world.fill_missing()(FillMissingRequest("SHFE.cu"))


def test_fill_missing_downloads_exactly_the_missing_days(catalog_world: World) -> None:
    world = catalog_world
    _holes(world)
    world.provider.yielded_days.clear()
    result = world.fill_missing()(FillMissingRequest("SHFE.cu"))
    assert world.provider.yielded_days == [(CU10, date(2024, 9, 25)), (CU10, date(2024, 10, 9))]
    assert result.download.downloaded == 2 and result.download.missing == 0
    assert set(result.unindexed) == {CU09, CU11, CU12}
    assert world.verify()(VerifyCoverageRequest(symbols=(CU10,))).complete
    assert date(2024, 10, 10) in world.no_data_days(CU10)  # no-data days are not retried


def test_fill_missing_init_seeds_every_contract_window(catalog_world: World) -> None:
    world = catalog_world
    result = world.fill_missing()(FillMissingRequest("SHFE.cu", mode="init", start_day=date(2024, 9, 9)))
    windows = {r.symbol: (r.start_day, r.end_day) for r in result.download.contracts}
    assert windows == {
        CU09: (date(2024, 9, 9), date(2024, 9, 13)),
        CU10: (date(2024, 9, 23), TODAY),
        CU11: (date(2024, 10, 8), TODAY),
        CU12: (date(2024, 10, 9), TODAY),
    }
    verify = world.verify()(VerifyCoverageRequest(variety_key="SHFE.cu"))
    assert verify.unindexed == [] and {c.symbol: c.missing for c in verify.contracts}[CU10] == 0
    with pytest.raises(InvalidArgument):
        world.fill_missing()(FillMissingRequest("SHFE.cu", mode="bogus"))  # type: ignore[arg-type]


def test_bootstrap_rebuilds_the_index_from_ticks(catalog_world: World) -> None:
    world = catalog_world
    _download(world, CU10, date(2024, 9, 23), TODAY)
    original = world.index.manifests(CU10, "raw")
    days = [m.trading_day for m in original]
    # Damage the index: lose some rows, corrupt one, invent one, and a no-data entry on a stored day.
    world.index.delete_manifests(CU10, "raw", days[:3])
    world.index.upsert_manifests([replace(original[4], rows_total=1)])
    world.index.upsert_manifests([replace(original[0], trading_day=date(2024, 9, 20))])
    world.index.record_no_data([NoDataDay(CU10, days[5], "raw", "stale")])

    result = world.bootstrap()(BootstrapIndexRequest(ticks_lakes=("raw",)))
    assert (result.added, result.changed, result.removed, result.no_data_cleared) == (3, 1, 1, 1)
    assert result.unchanged == len(days) - 4 and result.days == len(days)
    rebuilt = world.index.manifests(CU10, "raw")
    assert len(rebuilt) == len(original) and all(a.same_content(b) for a, b in zip(original, rebuilt, strict=True))
    assert world.no_data_days(CU10) == []

    again = world.bootstrap()(BootstrapIndexRequest(symbols=(CU10,)))
    assert again.unchanged == len(days) and again.added == again.changed == again.removed == 0


def test_contract_status_from_index_only(catalog_world: World) -> None:
    world = catalog_world
    _download(world, CU09, date(2024, 9, 2), date(2024, 9, 13))  # expired, complete
    _holes(world)  # active, up to date, with holes
    _download(world, CU11, date(2024, 10, 8), date(2024, 10, 9))  # active, behind
    status = world.status()(ContractStatusRequest("SHFE.cu", stale_after_days=1))
    assert statuses_by_symbol(status) == {CU09: "complete", CU10: "missing", CU11: "stale", CU12: "unindexed"}
    assert status.counts == {"complete": 1, "missing": 1, "stale": 1, "unindexed": 1}
    assert status.today == TODAY

    lenient = world.status()(ContractStatusRequest("SHFE.cu", stale_after_days=2))
    assert statuses_by_symbol(lenient)[CU11] == "complete"

    # Only the index and the no-data ledger are consulted: the use case has no tick store.
    assert not any(v is world.ticks for v in vars(world.status()).values())


def test_verify_clips_expected_days_to_the_requested_range() -> None:
    from ghtrader.application.coverage import _clip

    a, b, c, d = date(2024, 1, 2), date(2024, 1, 5), date(2024, 1, 10), date(2024, 1, 20)
    assert _clip((a, d), b, c) == (b, c)
    assert _clip((b, c), a, d) == (b, c)
    assert _clip((a, b), c, d) is None
    assert _clip(None, a, b) is None
