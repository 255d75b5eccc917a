"""DownloadTicks, DownloadContractRange and UpdateContracts on in-memory fakes."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from ghtrader.application.errors import InvalidArgument, Unavailable
from ghtrader.application.ingest import (
    NO_TICKS_REASON,
    DownloadContractRangeRequest,
    DownloadTicksRequest,
    UpdateContractsRequest,
)
from ghtrader.application.ports.stores import TickBatch
from ghtrader.application.tick_preparation import REASON_WRONG_TRADING_DAY
from ghtrader.domain.ticks import REASON_CROSSED_BOOK, REASON_NAMES, REASON_NEGATIVE_PRICE, row_hash

from .world import TODAY, World, bj, contract, day_ticks

SYM = "SHFE.cu2410"
START, END = date(2024, 9, 23), date(2024, 10, 11)


def _request(**kw: object) -> DownloadTicksRequest:
    args: dict[str, object] = {"symbol": SYM, "start_day": START, "end_day": END}
    args.update(kw)
    return DownloadTicksRequest(**args)  # type: ignore[arg-type]


def _snapshot(world: World, symbol: str = SYM) -> tuple[list, np.ndarray]:
    return world.index.manifests(symbol, "raw"), world.stored(symbol)


def test_download_stores_every_trading_day_and_its_manifest(world: World) -> None:
    world.fill(SYM, START, END)
    result = world.download()(_request())

    expected_days = world.cal.trading_days(START, END)
    assert len(expected_days) == 10  # National Day week excluded
    assert (result.requested, result.downloaded, result.missing, result.no_data) == (10, 10, 0, 0)
    assert world.manifest_days(SYM) == expected_days
    provider_rows = np.concatenate([day_ticks(world.cal, d) for d in expected_days])
    stored = world.stored(SYM)
    assert result.rows_written == provider_rows.shape[0] == stored.shape[0]
    assert np.array_equal(np.sort(row_hash(stored)), np.sort(row_hash(provider_rows)))
    # Friday 2024-09-27 night rows belong to Monday 2024-09-30.
    monday = world.index.manifests(SYM, "raw", date(2024, 9, 30), date(2024, 9, 30))[0]
    assert monday.first_datetime_ns == bj(2024, 9, 27, 21, 0, 1)
    assert monday.l5_present

    report = json.loads(Path(result.report_path or "").read_text())
    assert report["result"]["downloaded"] == 10 and report["request"]["symbol"] == SYM
    assert Path(result.report_path or "").parent.name == "ingest"


def test_rerun_is_a_no_op_and_force_rewrites_identical_content(world: World) -> None:
    world.fill(SYM, START, END)
    download = world.download()
    download(_request())
    manifests, rows = _snapshot(world)
    calls = len(world.provider.calls)

    again = download(_request())
    assert (again.downloaded, again.present_before, again.rows_written) == (0, 10, 0)
    assert len(world.provider.calls) == calls  # nothing fetched
    forced = download(_request(force=True))
    assert forced.downloaded == 10 and len(world.provider.calls) > calls

    manifests2, rows2 = _snapshot(world)
    assert len(manifests2) == len(manifests)
    assert all(a.same_content(b) for a, b in zip(manifests, manifests2, strict=True))
    assert np.array_equal(rows, rows2)


def test_forced_download_with_changed_content_replaces_the_day(world: World) -> None:
    day = date(2024, 10, 9)
    world.provider.set_day(SYM, day, day_ticks(world.cal, day, n=12))
    download = world.download()
    download(_request(start_day=day, end_day=day))
    fewer = day_ticks(world.cal, day, n=5)  # the source now has fewer rows
    world.provider.set_day(SYM, day, fewer)
    download(_request(start_day=day, end_day=day, force=True))
    assert np.array_equal(world.stored(SYM), fewer)
    assert world.index.manifests(SYM, "raw")[0].rows_total == fewer.shape[0] == 9
    assert world.audit()(_audit_request(SYM)).ok


def _audit_request(*symbols: str):  # type: ignore[no-untyped-def]
    from ghtrader.application.audit import AuditStoreRequest

    return AuditStoreRequest(symbols=symbols, ticks_lakes=("raw",))


def test_empty_chunk_marks_no_data_and_later_data_clears_it(world: World) -> None:
    world.fill(SYM, START, date(2024, 9, 26))  # 09-27 .. 10-11 have no data yet
    result = world.download()(_request(chunk_days=2))
    empty = world.cal.trading_days(date(2024, 9, 27), END)
    assert result.no_data == len(empty) == 6
    assert world.no_data_days(SYM) == empty
    assert {n.reason for n in world.index.no_data_days(SYM, "raw")} == {NO_TICKS_REASON}
    assert result.missing == 0 and result.downloaded == 4

    rerun = world.download()(_request())
    assert rerun.downloaded == 0 and rerun.no_data_before == 6  # no-data days are skipped

    world.fill(SYM, date(2024, 10, 8), date(2024, 10, 8))
    late = world.download()(_request(start_day=date(2024, 10, 8), end_day=date(2024, 10, 8), force=True))
    assert late.downloaded == 1
    assert date(2024, 10, 8) in world.manifest_days(SYM)
    assert date(2024, 10, 8) not in world.no_data_days(SYM)


def test_provider_that_yields_nothing_marks_the_whole_chunk(world: World) -> None:
    class SilentProvider:
        name = "silent"

        def fetch_days(self, symbol, start_day, end_day):  # type: ignore[no-untyped-def]
            return iter(())

        def catalog(self, variety_key):  # type: ignore[no-untyped-def]
            return []

    world.provider = SilentProvider()  # type: ignore[assignment]
    result = world.download()(_request(start_day=date(2024, 10, 8), end_day=END))
    assert result.no_data == 4 and world.no_data_days(SYM) == world.cal.trading_days(date(2024, 10, 8), END)


def test_rejected_rows_are_counted_per_reason_and_never_stored(world: World) -> None:
    day = date(2024, 10, 9)
    rows = day_ticks(world.cal, day, n=10)
    rows["ask_price1"][2] = rows["bid_price1"][2] - 10.0  # crossed
    rows["last_price"][5] = -1.0  # negative price
    stray = day_ticks(world.cal, date(2024, 10, 10), n=1, night=0)  # a row of the next trading day
    world.provider.set_day(SYM, day, np.concatenate([rows, stray]))

    result = world.download()(_request(start_day=day, end_day=day))
    assert result.rejected_rows == {
        REASON_NAMES[REASON_CROSSED_BOOK]: 1,
        REASON_NAMES[REASON_NEGATIVE_PRICE]: 1,
        REASON_WRONG_TRADING_DAY: 1,
    }
    assert result.rejected_total == 3 and result.rows_written == rows.shape[0] - 2
    stored = world.stored(SYM)
    assert stored.shape[0] == rows.shape[0] - 2
    assert not np.isin(
        stored["datetime_ns"], [rows["datetime_ns"][2], rows["datetime_ns"][5], stray["datetime_ns"][0]]
    ).any()
    assert world.index.manifests(SYM, "raw")[0].rows_total == stored.shape[0]


def test_a_day_whose_rows_are_all_rejected_is_no_data_with_the_reason(world: World) -> None:
    day = date(2024, 10, 9)
    rows = day_ticks(world.cal, day, n=3, night=0)
    rows["volume"] = -5.0
    world.provider.set_day(SYM, day, rows)
    result = world.download()(_request(start_day=day, end_day=day))
    assert result.no_data == 1 and result.rows_written == 0
    (entry,) = world.index.no_data_days(SYM, "raw")
    assert entry.reason.startswith("all 3 provider rows rejected") and "negative volume" in entry.reason
    assert world.stored(SYM).shape[0] == 0


class CrashAfterWrite:
    """A TickStore wrapper that dies right after its n-th write_ticks (the rows are written)."""

    def __init__(self, inner: object, crash_on: int) -> None:
        self._inner = inner
        self._crash_on = crash_on
        self.writes = 0

    def write_ticks(self, batch: TickBatch) -> int:
        n = self._inner.write_ticks(batch)  # type: ignore[attr-defined]
        self.writes += 1
        if self.writes == self._crash_on:
            raise RuntimeError("simulated crash between ticks and manifest")
        return n

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)


def test_crash_between_ticks_and_manifest_then_rerun_is_clean(world: World) -> None:
    world.fill(SYM, START, END)
    with pytest.raises(RuntimeError, match="simulated crash"):
        world.download(CrashAfterWrite(world.ticks, crash_on=3))(_request())
    days = world.cal.trading_days(START, END)
    assert world.manifest_days(SYM) == days[:2]  # the third day has ticks but no commit marker
    broken = world.audit()(_audit_request(SYM))
    assert not broken.ok
    assert any(f.trading_day == days[2] and "without an index row" in f.detail for f in broken.errors("index"))

    result = world.download()(_request())
    assert result.downloaded == len(days) - 2 and result.missing == 0
    assert world.manifest_days(SYM) == days
    stored = world.stored(SYM)
    assert np.unique(stored["datetime_ns"]).shape[0] == stored.shape[0]
    assert stored.shape[0] == sum(m.rows_total for m in world.index.manifests(SYM, "raw"))
    assert world.audit()(_audit_request(SYM)).ok


def test_provider_outage_keeps_committed_days_and_a_rerun_finishes(world: World) -> None:
    world.fill(SYM, START, END)
    world.provider.fail_after = 3
    with pytest.raises(Unavailable):
        world.download()(_request())
    assert len(world.manifest_days(SYM)) == 3
    world.provider.fail_after = None
    result = world.download()(_request())
    assert (result.present_before, result.downloaded, result.missing) == (3, 7, 0)


def test_progress_is_the_share_of_requested_trading_days(world: World) -> None:
    world.fill(SYM, START, END)
    world.download()(_request(end_day=date(2024, 9, 25)))  # 3 days already there
    seen: list[tuple[int, int]] = []
    world.download()(_request(), progress=lambda done, total, msg: seen.append((done, total)))
    assert seen[0] == (3, 10) and seen[-1] == (10, 10)
    assert all(total == 10 for _, total in seen)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_days_after_the_last_completed_trading_day_are_not_requested(world: World) -> None:
    world.fill(SYM, START, END)
    result = world.download()(_request(end_day=date(2024, 10, 18)))
    assert result.not_yet_complete == 5 and result.requested == 10
    assert max(world.manifest_days(SYM)) == TODAY
    assert world.no_data_days(SYM) == []  # future days are not recorded as no-data


def test_bad_requests_raise_invalid_argument(world: World) -> None:
    download = world.download()
    with pytest.raises(InvalidArgument, match="SHFE.cu24"):
        download(_request(symbol="SHFE.cu24"))
    with pytest.raises(InvalidArgument, match="after end_day"):
        download(_request(start_day=END, end_day=START))
    with pytest.raises(InvalidArgument, match="chunk_days"):
        download(_request(chunk_days=0))


def _catalog(world: World) -> None:
    world.provider.add_contract(contract("SHFE.cu2409", date(2024, 9, 2), date(2024, 9, 13), expired=True))
    world.provider.add_contract(contract("SHFE.cu2410", date(2024, 9, 23), date(2024, 10, 15)))
    world.provider.add_contract(contract("SHFE.cu2411", date(2024, 10, 8), None))
    world.provider.add_contract(contract("SHFE.cu2412", None, None))
    world.provider.add_contract(contract("SHFE.au2412", date(2024, 9, 2), None))
    for sym in ("SHFE.cu2409", "SHFE.cu2410", "SHFE.cu2411", "SHFE.cu2412", "SHFE.au2412"):
        world.fill(sym, date(2024, 9, 2), END)


def test_contract_range_downloads_each_life_window_clipped_to_today(world: World) -> None:
    _catalog(world)
    result = world.contract_range()(DownloadContractRangeRequest("SHFE.cu", "SHFE.cu2410", "SHFE.cu2501"))
    by_symbol = {r.symbol: r for r in result.contracts}
    assert set(by_symbol) == {"SHFE.cu2410", "SHFE.cu2411"}
    assert (by_symbol["SHFE.cu2410"].start_day, by_symbol["SHFE.cu2410"].end_day) == (date(2024, 9, 23), TODAY)
    assert (by_symbol["SHFE.cu2411"].start_day, by_symbol["SHFE.cu2411"].end_day) == (date(2024, 10, 8), TODAY)
    skipped = {s.symbol: s.reason for s in result.skipped}
    assert "first trading day" in skipped["SHFE.cu2412"]
    assert "not in the memory catalog" in skipped["SHFE.cu2501"]
    assert result.downloaded == 10 + 4 and result.missing == 0
    assert result.report_path and Path(result.report_path).exists()
    assert world.manifest_days("SHFE.au2412") == []

    clipped = world.contract_range()(
        DownloadContractRangeRequest("SHFE.cu", "SHFE.cu2409", "SHFE.cu2409", start_day=date(2024, 9, 9))
    )
    assert (clipped.contracts[0].start_day, clipped.contracts[0].end_day) == (date(2024, 9, 9), date(2024, 9, 13))
    with pytest.raises(InvalidArgument, match="not of variety"):
        world.contract_range()(DownloadContractRangeRequest("SHFE.cu", "SHFE.au2410", "SHFE.cu2411"))
    with pytest.raises(InvalidArgument, match="swap"):
        world.contract_range()(DownloadContractRangeRequest("SHFE.cu", "SHFE.cu2411", "SHFE.cu2410"))


def test_update_forward_fills_active_and_recently_expired_contracts(world: World) -> None:
    _catalog(world)
    download = world.download()
    download(_request(start_day=START, end_day=date(2024, 10, 8)))
    download(DownloadTicksRequest("SHFE.cu2409", date(2024, 9, 2), date(2024, 9, 6)))
    world.provider.calls.clear()

    result = world.update()(UpdateContractsRequest("SHFE.cu", recent_expiry_days=10))
    calls = {c[0]: (c[1], c[2]) for c in world.provider.calls}
    assert calls["SHFE.cu2410"] == (date(2024, 10, 9), TODAY)
    assert calls["SHFE.cu2411"][0] == date(2024, 10, 8)
    assert "SHFE.cu2409" not in calls  # expired more than 10 trading days ago
    assert "SHFE.cu2412" in {s.symbol for s in result.skipped}
    assert max(world.manifest_days(SYM)) == TODAY

    long_memory = world.update()(UpdateContractsRequest("SHFE.cu", recent_expiry_days=40))
    assert {r.symbol for r in long_memory.contracts} == {"SHFE.cu2409"}  # the others are up to date
    assert max(world.manifest_days("SHFE.cu2409")) == date(2024, 9, 13)


def test_contracts_or_varieties_unknown_to_the_provider_flag_the_result(world: World) -> None:
    _catalog(world)
    outside = world.contract_range()(DownloadContractRangeRequest("SHFE.cu", "SHFE.cu2601", "SHFE.cu2603"))
    assert outside.contracts == [] and outside.downloaded == 0
    assert outside.unknown_symbols.startswith(
        "none of the contracts SHFE.cu2601..SHFE.cu2603 is in the memory catalog of SHFE.cu "
        "(it lists 4 contracts, SHFE.cu2409..SHFE.cu2412)"
    )
    assert outside.report_path is not None
    assert json.loads(Path(outside.report_path).read_text(encoding="utf-8"))["result"]["unknown_symbols"]

    known = world.contract_range()(DownloadContractRangeRequest("SHFE.cu", "SHFE.cu2412", "SHFE.cu2412"))
    assert known.unknown_symbols == ""  # known but skipped (no first day) is not "unknown"

    no_variety = world.update()(UpdateContractsRequest("SHFE.ag"))
    assert no_variety.unknown_symbols.startswith("the memory catalog has no contracts of SHFE.ag")
    assert world.update()(UpdateContractsRequest("SHFE.cu")).unknown_symbols == ""
