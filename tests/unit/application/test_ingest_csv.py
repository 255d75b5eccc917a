"""DownloadTicks over real CSV files: rejected rows named by file:line, no-data provenance."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from ghtrader.adapters.csv import CsvDataProvider
from ghtrader.application.ingest import (
    NO_TICKS_REASON,
    DownloadTicksRequest,
    UpdateContractsRequest,
)
from ghtrader.domain.ticks import (
    REASON_CROSSED_BOOK,
    REASON_NAMES,
    REASON_NEGATIVE_QUANTITY,
    TICK_FIELDS,
)
from tests.fakes.providers import InMemoryDataProvider

from .world import World, contract, day_ticks

SYM = "SHFE.cu2410"
D1, D2, D3 = date(2024, 10, 9), date(2024, 10, 10), date(2024, 10, 11)


def write_plain(path: Path, arr: np.ndarray) -> None:
    lines = [",".join(TICK_FIELDS)]
    for row in arr:
        lines.append(",".join([str(int(row["datetime_ns"]))] + [repr(float(row[f])) for f in TICK_FIELDS[1:]]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def csv_dir(world: World) -> Path:
    root = world.tmp / "csv"
    root.mkdir()
    world.provider = CsvDataProvider(root, world.cal)  # type: ignore[assignment]
    return root


def request(start: date = D1, end: date = D3) -> DownloadTicksRequest:
    return DownloadTicksRequest(SYM, start, end)


def test_rejected_rows_are_listed_with_file_line_and_reason(world: World, csv_dir: Path) -> None:
    rows = day_ticks(world.cal, D1, n=6, night=0)
    rows["ask_price1"][1] = rows["bid_price1"][1] - 10.0  # crossed book, line 3
    rows["volume"][4] = -1.0  # negative volume, line 6
    path = csv_dir / f"{SYM}.csv"
    write_plain(path, rows)

    result = world.download()(request(D1, D1))
    assert result.rows_written == 4 and result.rejected_total == 2
    listed = [(r.where, r.reason, r.datetime_ns) for r in result.rejected_listed]
    assert listed == [
        (f"{path}:3", REASON_NAMES[REASON_CROSSED_BOOK], int(rows["datetime_ns"][1])),
        (f"{path}:6", REASON_NAMES[REASON_NEGATIVE_QUANTITY], int(rows["datetime_ns"][4])),
    ]
    assert result.rejected_unlisted == 0
    assert result.report_path is not None
    report = json.loads(Path(result.report_path).read_text(encoding="utf-8"))
    assert [r["where"] for r in report["result"]["rejected_listed"]] == [f"{path}:3", f"{path}:6"]


def test_no_data_days_record_the_file_and_are_rechecked_when_it_changes(world: World, csv_dir: Path) -> None:
    path = csv_dir / f"{SYM}.csv"
    write_plain(path, day_ticks(world.cal, D1, n=4, night=0))  # D2, D3: no ticks in the file
    first = world.download()(request())
    assert (first.downloaded, first.no_data, first.rechecked) == (1, 2, 0)
    entries = world.index.no_data_days(SYM, "raw")
    st = path.stat()
    assert [(e.trading_day, e.reason) for e in entries] == [(D2, NO_TICKS_REASON), (D3, NO_TICKS_REASON)]
    for e in entries:
        assert (e.provider, e.source_path, e.source_size, e.source_mtime_ns) == (
            "csv",
            str(path),
            st.st_size,
            st.st_mtime_ns,
        )
        assert e.request == f"fetch_days({SYM}, {D1}, {D3})"  # the chunk asked for

    unchanged = world.download()(request())
    assert (unchanged.downloaded, unchanged.no_data, unchanged.rechecked) == (0, 0, 0)

    # The file grows by D2's ticks: both no-data days are due again; D2 now has data.
    write_plain(path, np.concatenate([day_ticks(world.cal, d, n=4, night=0) for d in (D1, D2)]))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    changed = world.download()(request())
    assert (changed.downloaded, changed.no_data, changed.rechecked) == (1, 0, 2)
    assert [m.trading_day for m in world.index.manifests(SYM, "raw")] == [D1, D2]
    (left,) = world.index.no_data_days(SYM, "raw")
    new = path.stat()
    assert (left.trading_day, left.source_size, left.source_mtime_ns) == (D3, new.st_size, new.st_mtime_ns)


def test_a_no_data_day_from_another_provider_is_downloaded_again(world: World, csv_dir: Path) -> None:
    other = world.provider
    write_plain(csv_dir / f"{SYM}.csv", day_ticks(world.cal, D1, n=4, night=0))
    world.provider = InMemoryDataProvider(world.cal)  # knows the symbol, has no ticks at all
    world.provider.add_ticks(SYM, day_ticks(world.cal, date(2024, 9, 30), n=1, night=0))
    first = world.download()(request(D1, D1))
    assert first.no_data == 1
    (entry,) = world.index.no_data_days(SYM, "raw")
    assert (entry.provider, entry.source_path, entry.source_size) == (world.provider.name, "", -1)
    assert world.download()(request(D1, D1)).downloaded == 0  # same provider: the day stays skipped

    world.provider = other
    again = world.download()(request(D1, D1))
    assert (again.downloaded, again.rechecked) == (1, 1)
    assert world.index.no_data_days(SYM, "raw") == []


def test_update_rechecks_no_data_days_whose_file_changed(world: World, csv_dir: Path) -> None:
    path = csv_dir / f"{SYM}.csv"
    write_plain(path, np.concatenate([day_ticks(world.cal, d, n=4, night=0) for d in (D1, D3)]))
    first = world.download()(request())
    assert (first.downloaded, first.no_data) == (2, 1)  # D2 has no ticks in the file

    class WithCatalog(CsvDataProvider):
        def catalog(self, variety_key_: str):  # type: ignore[no-untyped-def]
            return [contract(SYM, D1, date(2024, 10, 15))]

    write_plain(path, np.concatenate([day_ticks(world.cal, d, n=4, night=0) for d in (D1, D2, D3)]))
    world.provider = WithCatalog(csv_dir, world.cal)  # type: ignore[assignment]
    result = world.update()(UpdateContractsRequest("SHFE.cu"))
    assert (result.downloaded, result.no_data) == (1, 0)
    assert [m.trading_day for m in world.index.manifests(SYM, "raw")] == [D1, D2, D3]
    assert world.index.no_data_days(SYM, "raw") == []
