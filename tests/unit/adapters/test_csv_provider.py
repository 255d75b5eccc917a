"""CsvDataProvider over temporary directories of DataDownloader and plain tick CSVs."""

from __future__ import annotations

import gzip
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pytest

from ghtrader.adapters.csv import CsvDataProvider
from ghtrader.application.errors import InvalidArgument, Unavailable
from ghtrader.domain.calendar import TradingCalendar, beijing_datetime_to_ns
from ghtrader.domain.instruments import contract_spec
from ghtrader.domain.tick_csv import tqsdk_csv_header
from ghtrader.domain.ticks import TICK_FIELDS, empty_ticks

CU = "SHFE.cu2410"
CU2 = "SHFE.cu2411"
KQ = "KQ.m@SHFE.cu"
NATIONAL_DAY = [date(2024, 10, d) for d in (1, 2, 3, 4, 7)]
CAL = TradingCalendar(NATIONAL_DAY)

# Beijing times and the trading day each belongs to (night ticks go to the next trading day).
TIMES = [
    ("2024-09-26 10:00:00.500", date(2024, 9, 26)),
    ("2024-09-26 14:59:59.999", date(2024, 9, 26)),
    ("2024-09-26 21:30:00", date(2024, 9, 27)),
    ("2024-09-27 00:30:00.250", date(2024, 9, 27)),
    ("2024-09-27 09:30:00", date(2024, 9, 27)),
    ("2024-09-27 21:30:00", date(2024, 9, 30)),  # Friday night -> Monday
    ("2024-09-28 00:30:00", date(2024, 9, 30)),  # Saturday early morning -> Monday
    ("2024-09-30 10:00:00", date(2024, 9, 30)),
    ("2024-10-08 09:00:00.000001", date(2024, 10, 8)),
]


def ticks_at(texts: list[str], base: float = 77_000.0, levels: int = 5) -> np.ndarray:
    arr = empty_ticks(len(texts))
    arr["datetime_ns"] = [beijing_datetime_to_ns(datetime.fromisoformat(t)) + 7 for t in texts]
    k = np.arange(len(texts), dtype=float)
    for name in ("last_price", "average", "highest", "lowest"):
        arr[name] = base + 10 * k
    arr["volume"] = 3 * k
    arr["amount"] = arr["volume"] * base * 5
    arr["open_interest"] = 1000 + k
    for i in range(1, levels + 1):
        arr[f"bid_price{i}"] = base - 10 * i
        arr[f"ask_price{i}"] = base + 10 * i
        arr[f"bid_volume{i}"] = i
        arr[f"ask_volume{i}"] = 2 * i
    return arr


ALL = ticks_at([t for t, _ in TIMES])
DAYS = np.array([d for _, d in TIMES])


def cell(v: float) -> str:
    return "#N/A" if np.isnan(v) else repr(float(v))


def tqsdk_text(arr: np.ndarray, symbol: str, levels: int = 5) -> str:
    header = tqsdk_csv_header(symbol, levels)
    names = [h.split(".")[-1] for h in header[2:]]
    out = [",".join(header)]
    for row in arr:
        ns = int(row["datetime_ns"])
        local = ns + 8 * 3600 * 10**9
        text = str(np.datetime64(local, "ns")).replace("T", " ")
        out.append(",".join([text, str(ns)] + [cell(row[n]) for n in names]))
    return "\r\n".join(out) + "\r\n"


def plain_text(arr: np.ndarray, symbols: list[str] | None = None) -> str:
    header = (["symbol"] if symbols else []) + list(TICK_FIELDS)
    out = [",".join(header)]
    for k, row in enumerate(arr):
        values = ["" if np.isnan(row[f]) else repr(float(row[f])) for f in TICK_FIELDS[1:]]
        cells = [str(int(row["datetime_ns"])), *values]
        out.append(",".join(([symbols[k]] if symbols else []) + cells))
    return "\n".join(out) + "\n"


def assert_rows_equal(got: np.ndarray, want: np.ndarray) -> None:
    assert len(got) == len(want)
    for f in TICK_FIELDS:
        np.testing.assert_array_equal(got[f], want[f], err_msg=f)


def test_every_trading_day_is_yielded_with_night_ticks_on_the_next_day(tmp_path: Path) -> None:
    (tmp_path / "download-1.csv").write_text(tqsdk_text(ALL, CU), encoding="utf-8")
    provider = CsvDataProvider(tmp_path, CAL)
    assert provider.name == "csv"
    got = list(provider.fetch_days(CU, date(2024, 9, 25), date(2024, 10, 9)))
    assert [d.trading_day for d in got] == CAL.trading_days(date(2024, 9, 25), date(2024, 10, 9))
    assert all(d.symbol == CU for d in got)
    for d in got:
        assert_rows_equal(d.ticks, ALL[DAYS == d.trading_day])
    assert {d.trading_day: len(d.ticks) for d in got}[date(2024, 9, 30)] == 3
    assert len(got[0].ticks) == 0  # 2024-09-25: no data, still yielded


def test_chunked_calls_equal_one_call_and_range_edges_are_exact(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text(tqsdk_text(ALL, CU), encoding="utf-8")
    provider = CsvDataProvider(tmp_path, CAL, cache_rows=1)
    whole = {d.trading_day: d.ticks for d in provider.fetch_days(CU, date(2024, 9, 26), date(2024, 10, 8))}
    parts = list(provider.fetch_days(CU, date(2024, 9, 26), date(2024, 9, 27)))
    parts += list(provider.fetch_days(CU, date(2024, 9, 28), date(2024, 10, 8)))
    assert [p.trading_day for p in parts] == list(whole)
    for p in parts:
        assert_rows_equal(p.ticks, whole[p.trading_day])
    # A single day that only holds night ticks of the evening before.
    (only,) = provider.fetch_days(CU, date(2024, 9, 30), date(2024, 9, 30))
    assert_rows_equal(only.ticks, ALL[DAYS == date(2024, 9, 30)])
    assert list(provider.fetch_days(CU, date(2024, 10, 1), date(2024, 10, 6))) == []  # holidays + weekend


def test_unknown_symbol_bad_range_and_missing_directory(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text(tqsdk_text(ALL, CU), encoding="utf-8")
    provider = CsvDataProvider(tmp_path, CAL)
    with pytest.raises(InvalidArgument) as exc:
        provider.fetch_days("SHFE.au2412", date(2024, 9, 26), date(2024, 9, 27))
    assert "'SHFE.au2412'" in str(exc.value) and str(tmp_path) in str(exc.value) and CU in str(exc.value)
    with pytest.raises(InvalidArgument, match="after end_day"):
        provider.fetch_days(CU, date(2024, 9, 27), date(2024, 9, 26))
    with pytest.raises(Unavailable, match="does not exist"):
        CsvDataProvider(tmp_path / "nope", CAL).fetch_days(CU, date(2024, 9, 26), date(2024, 9, 27))


def test_plain_files_by_name_and_symbol_column_and_gzip(tmp_path: Path) -> None:
    kq = ticks_at([t for t, _ in TIMES[:5]], base=76_000.0, levels=1)
    (tmp_path / f"{KQ}.csv").write_text(plain_text(kq), encoding="utf-8")
    a, b = ALL[:4], ticks_at([t for t, _ in TIMES[4:]], base=78_000.0)
    mixed = np.concatenate([a, b])
    sub = tmp_path / "nested"
    sub.mkdir()
    with gzip.open(sub / "mixed.csv.gz", "wt", encoding="utf-8") as fh:
        fh.write(plain_text(mixed, [CU] * len(a) + [CU2] * len(b)))
    provider = CsvDataProvider(tmp_path, CAL)
    assert provider.symbols() == sorted([KQ, CU, CU2])
    got_kq = np.concatenate([d.ticks for d in provider.fetch_days(KQ, date(2024, 9, 26), date(2024, 9, 30))])
    assert_rows_equal(got_kq, kq)
    assert np.isnan(got_kq["bid_price2"]).all()
    got_b = np.concatenate([d.ticks for d in provider.fetch_days(CU2, date(2024, 9, 26), date(2024, 10, 8))])
    assert_rows_equal(got_b, b)


def test_files_of_one_symbol_merge_and_identical_overlap_is_dropped(tmp_path: Path) -> None:
    (tmp_path / "part1.csv").write_text(tqsdk_text(ALL[:6], CU), encoding="utf-8")
    (tmp_path / "part2.csv").write_text(tqsdk_text(ALL[4:], CU), encoding="utf-8")
    provider = CsvDataProvider(tmp_path, CAL)
    got = np.concatenate([d.ticks for d in provider.fetch_days(CU, date(2024, 9, 26), date(2024, 10, 8))])
    assert_rows_equal(got, ALL)


def test_conflicting_overlap_names_both_files(tmp_path: Path) -> None:
    other = ALL[4:].copy()
    other["last_price"][0] += 10
    (tmp_path / "part1.csv").write_text(tqsdk_text(ALL[:6], CU), encoding="utf-8")
    (tmp_path / "part2.csv").write_text(tqsdk_text(other, CU), encoding="utf-8")
    with pytest.raises(InvalidArgument) as exc:
        list(CsvDataProvider(tmp_path, CAL).fetch_days(CU, date(2024, 9, 26), date(2024, 10, 8)))
    msg = str(exc.value)
    assert "part1.csv" in msg and "part2.csv" in msg and str(int(ALL["datetime_ns"][4])) in msg


def test_malformed_file_reports_path_line_and_column(tmp_path: Path) -> None:
    lines = tqsdk_text(ALL, CU).split("\r\n")
    cells = lines[3].split(",")
    cells[4] = "bad"
    lines[3] = ",".join(cells)
    path = tmp_path / "cu.csv"
    path.write_text("\r\n".join(lines), encoding="utf-8")
    with pytest.raises(InvalidArgument) as exc:
        list(CsvDataProvider(tmp_path, CAL).fetch_days(CU, date(2024, 9, 26), date(2024, 10, 8)))
    assert f"{path}:4:5: invalid value 'bad'" in str(exc.value)


def test_unusable_files_are_an_error_naming_each_file_and_why(tmp_path: Path) -> None:
    (tmp_path / "cu.csv").write_text(tqsdk_text(ALL, CU), encoding="utf-8")
    (tmp_path / "klines.csv").write_text("datetime,datetime_nano,SHFE.cu2410.open\n1,2,3\n", encoding="utf-8")
    (tmp_path / "notes.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    (tmp_path / "unnamed.csv").write_text(plain_text(ALL[:2]), encoding="utf-8")
    (tmp_path / "empty.csv").write_text("", encoding="utf-8")
    (tmp_path / ".hidden.csv").write_text("junk\n", encoding="utf-8")
    (tmp_path / "readme.txt").write_text("not csv", encoding="utf-8")
    provider = CsvDataProvider(tmp_path, CAL)
    with pytest.raises(InvalidArgument) as exc:
        provider.symbols()
    text = str(exc.value)
    assert "4 file(s)" in text
    assert f"{tmp_path / 'klines.csv'}: a DataDownloader header without '<SYMBOL>.last_price'" in text
    assert f"{tmp_path / 'notes.csv'}: not a tick CSV (header a,b)" in text
    assert f"{tmp_path / 'unnamed.csv'}: no 'symbol' column and the file name is not a symbol" in text
    assert f"{tmp_path / 'empty.csv'}: empty file" in text
    assert "hidden" not in text and "readme" not in text
    with pytest.raises(InvalidArgument):  # fetching fails the same way, not with "unknown symbol"
        list(provider.fetch_days(CU, date(2024, 9, 26), date(2024, 9, 27)))
    for name in ("klines.csv", "notes.csv", "unnamed.csv", "empty.csv"):
        (tmp_path / name).unlink()
    assert provider.symbols() == [CU]  # a failed scan is not cached


@pytest.mark.parametrize("kind", ["tqsdk", "plain", "plain_symbol_column", "serial"])
def test_a_header_without_rows_is_an_error_not_a_day_without_data(tmp_path: Path, kind: str) -> None:
    text = {
        "tqsdk": tqsdk_text(ALL[:0], CU),
        "plain": plain_text(ALL[:0]),
        "plain_symbol_column": plain_text(ALL[:0], []).replace("datetime_ns", "symbol,datetime_ns", 1),
        "serial": serial_text(ALL[:0], None),
    }[kind]
    path = tmp_path / f"{CU}.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidArgument, match="a header but no tick rows") as exc:
        list(CsvDataProvider(tmp_path, CAL).fetch_days(CU, date(2024, 9, 26), date(2024, 9, 27)))
    assert str(path) in str(exc.value)


SERIAL_COLUMNS = [
    "datetime",
    "id",
    "last_price",
    "average",
    "highest",
    "lowest",
    *[f"{side}_{what}{i}" for i in range(1, 6) for side in ("ask", "bid") for what in ("price", "volume")],
    "volume",
    "amount",
    "open_interest",
]


def serial_text(arr: np.ndarray, symbol: str | None, *, padding: int = 0, as_float: bool = True) -> str:
    """``get_tick_serial(...).to_csv(path)``: pandas index, float64 datetime, padding rows of NaN."""
    header = ["", *SERIAL_COLUMNS] + (["symbol"] if symbol else []) + ["duration"]
    out = [",".join(header)]
    for k in range(padding):
        out.append(
            ",".join(
                [str(k), "", str(k - padding)] + [""] * (len(SERIAL_COLUMNS) - 2) + ([symbol] if symbol else []) + ["0"]
            )
        )
    for k, row in enumerate(arr):
        ns = int(row["datetime_ns"])
        when = repr(float(ns)) if as_float else str(ns)
        values = ["" if np.isnan(row[c]) else repr(float(row[c])) for c in SERIAL_COLUMNS[2:]]
        out.append(",".join([str(padding + k), when, str(100 + k), *values] + ([symbol] if symbol else []) + ["0"]))
    return "\n".join(out) + "\n"


def test_tick_serial_exports_float_datetimes_padding_and_symbol_column(tmp_path: Path) -> None:
    exact = ALL.copy()
    exact["datetime_ns"] -= 7  # whole microseconds, as exchange stamps are
    (tmp_path / f"{CU}.csv").write_text(serial_text(exact, None, padding=3), encoding="utf-8")
    (tmp_path / "kq_export.csv").write_text(serial_text(exact, KQ, as_float=False), encoding="utf-8")
    provider = CsvDataProvider(tmp_path, CAL)
    assert provider.symbols() == [KQ, CU]
    for symbol in (CU, KQ):
        days = list(provider.fetch_days(symbol, date(2024, 9, 26), date(2024, 10, 8)))
        got = np.concatenate([d.ticks for d in days])
        assert_rows_equal(got, exact)
    first = next(iter(provider.fetch_days(CU, date(2024, 9, 26), date(2024, 9, 26))))
    assert first.origins is not None
    assert [first.origins.where(i) for i in range(len(first.ticks))] == [
        f"{tmp_path / (CU + '.csv')}:5",
        f"{tmp_path / (CU + '.csv')}:6",  # after header and 3 padding rows
    ]


def test_day_ticks_say_which_file_and_line_each_row_came_from(tmp_path: Path) -> None:
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text(tqsdk_text(ALL[:3], CU), encoding="utf-8")
    b.write_text(tqsdk_text(ALL[2:5], CU), encoding="utf-8")  # row 2 in both: kept once
    days = list(CsvDataProvider(tmp_path, CAL).fetch_days(CU, date(2024, 9, 26), date(2024, 9, 27)))
    where = [d.origins.where(i) for d in days for i in range(len(d.ticks)) if d.origins is not None]
    assert where == [f"{a}:2", f"{a}:3", f"{a}:4", f"{b}:3", f"{b}:4"]


def test_source_of_a_symbol_is_its_files_with_size_and_mtime(tmp_path: Path) -> None:
    path = tmp_path / "cu.csv"
    path.write_text(tqsdk_text(ALL, CU), encoding="utf-8")
    provider = CsvDataProvider(tmp_path, CAL)
    src = provider.source_of(CU)
    st = path.stat()
    assert (src.provider, src.path, src.size, src.mtime_ns) == ("csv", str(path), st.st_size, st.st_mtime_ns)
    (tmp_path / "cu_more.csv").write_text(tqsdk_text(ALL[:1], CU), encoding="utf-8")
    provider.refresh()
    two = provider.source_of(CU)
    assert two.path == f"{path};{tmp_path / 'cu_more.csv'}"
    assert two.size == st.st_size + (tmp_path / "cu_more.csv").stat().st_size
    with pytest.raises(InvalidArgument):
        provider.source_of(CU2)


def test_new_and_changed_files_are_seen_without_a_refresh(tmp_path: Path) -> None:
    provider = CsvDataProvider(tmp_path, CAL)
    assert provider.symbols() == []
    path = tmp_path / "cu.csv"
    path.write_text(tqsdk_text(ALL[:2], CU), encoding="utf-8")
    assert provider.symbols() == [CU]
    days = (date(2024, 9, 26), date(2024, 10, 8))
    assert sum(len(d.ticks) for d in provider.fetch_days(CU, *days)) == 2

    path.write_text(tqsdk_text(ALL, CU), encoding="utf-8")  # replaced: longer, so the size differs
    assert sum(len(d.ticks) for d in provider.fetch_days(CU, *days)) == len(ALL)
    provider.refresh()
    assert provider.symbols() == [CU]


def test_catalog_from_symbols_present(tmp_path: Path) -> None:
    (tmp_path / "cu.csv").write_text(tqsdk_text(ALL, CU), encoding="utf-8")
    (tmp_path / "cu2.csv").write_text(tqsdk_text(ALL[:3], CU2), encoding="utf-8")
    (tmp_path / "kq.csv").write_text(tqsdk_text(ALL, KQ, levels=1), encoding="utf-8")
    (tmp_path / "au.csv").write_text(tqsdk_text(ALL, "SHFE.au2412"), encoding="utf-8")
    provider = CsvDataProvider(tmp_path, CAL)
    infos = provider.catalog("SHFE.cu")
    assert [c.symbol for c in infos] == [CU, CU2]
    cu, cu2 = infos
    spec = contract_spec("SHFE.cu")
    assert (cu.exchange, cu.variety, cu.source) == ("SHFE", "cu", "csv")
    assert (cu.price_tick, cu.multiplier) == (spec.price_tick, spec.multiplier)
    assert (cu.first_trading_day, cu.last_trading_day) == (date(2024, 9, 26), date(2024, 10, 8))
    assert (cu2.first_trading_day, cu2.last_trading_day) == (date(2024, 9, 26), date(2024, 9, 27))
    # Without "today": expired when the data reaches the last trading day (2024-10-15 for cu2410).
    assert not cu.expired and not cu2.expired
    dated = CsvDataProvider(tmp_path, CAL, today=lambda: date(2024, 10, 16)).catalog("KQ.m@SHFE.cu")
    assert [c.expired for c in dated] == [True, False]
    with pytest.raises(InvalidArgument):
        provider.catalog("copper")
