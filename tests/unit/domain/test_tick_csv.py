"""Pure tick CSV parsers: TqSdk DataDownloader files and plain TICK_FIELDS files."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from ghtrader.domain.calendar import beijing_datetime_to_ns
from ghtrader.domain.tick_csv import (
    TickCsvError,
    is_tick_serial_header,
    parse_plain_tick_csv,
    parse_tick_serial_csv,
    parse_tqsdk_csv,
    tqsdk_csv_header,
)
from ghtrader.domain.ticks import L5_LEVEL_FIELDS, TICK_FIELDS, empty_ticks, level_fields

SYM = "SHFE.cu2602"
CONT = "KQ.m@SHFE.cu"
NOT_NUMBER = "expected a finite number, #N/A or empty"
NOT_DD = "(not a DataDownloader tick CSV)"
BAD_WIDTH = "expected 13 (level 1) or 29 (levels 1-5) for one symbol"
BAD_TEXT = "expected 'YYYY-MM-DD HH:MM:SS.nnnnnnnnn' (Beijing time)"
BAD_NS = "expected integer epoch nanoseconds"
T0 = beijing_datetime_to_ns(datetime(2026, 1, 5, 9, 0, 0))


def bj_text(ns: int) -> str:
    """Beijing wall time exactly as DataDownloader writes it (nine fraction digits)."""
    local = int(ns) + 8 * 3600 * 10**9
    d = np.datetime64(local // 10**9, "s").item()
    return f"{d:%Y-%m-%d %H:%M:%S}.{local % 10**9:09d}"


def make_ticks(n: int, levels: int = 5, start: int = T0) -> np.ndarray:
    arr = empty_ticks(n)
    # Sub-millisecond offsets as in real feeds; values far above 2**53 so float64 would lose them.
    arr["datetime_ns"] = start + np.arange(n, dtype=np.int64) * 500_000_000 + np.arange(n) % 3 * 1_000 + 1
    rng = np.random.default_rng(7)
    mid = 70_000 + np.cumsum(rng.integers(-1, 2, n)) * 10.0
    arr["last_price"] = mid
    arr["average"] = mid + 0.5
    arr["highest"] = np.maximum.accumulate(mid)
    arr["lowest"] = np.minimum.accumulate(mid)
    arr["volume"] = np.cumsum(rng.integers(0, 5, n)).astype(float)
    arr["amount"] = arr["volume"] * mid * 5
    arr["open_interest"] = 100_000 + np.arange(n, dtype=float)
    for i in range(1, levels + 1):
        arr[f"bid_price{i}"] = mid - 10 * i
        arr[f"ask_price{i}"] = mid + 10 * i
        arr[f"bid_volume{i}"] = rng.integers(1, 50, n)
        arr[f"ask_volume{i}"] = rng.integers(1, 50, n)
    return arr


def fmt(v: float) -> str:
    return "#N/A" if np.isnan(v) else repr(float(v))


def tqsdk_lines(arr: np.ndarray, symbol: str = SYM, levels: int = 5, eol: str = "\r\n") -> list[str]:
    header = tqsdk_csv_header(symbol, levels)
    names = [h.split(".")[-1] for h in header[2:]]
    lines = [",".join(header) + eol]
    for row in arr:
        ns = int(row["datetime_ns"])
        lines.append(",".join([bj_text(ns), str(ns)] + [fmt(row[n]) for n in names]) + eol)
    return lines


def plain_lines(arr: np.ndarray, columns: list[str], symbols: list[str] | None = None) -> list[str]:
    header = (["symbol"] if symbols is not None else []) + columns
    out = [",".join(header) + "\n"]
    for k, row in enumerate(arr):
        cells = [
            str(int(row[c])) if c == "datetime_ns" else ("" if np.isnan(row[c]) else repr(float(row[c])))
            for c in columns
        ]
        out.append(",".join(([symbols[k]] if symbols is not None else []) + cells) + "\n")
    return out


def assert_same_ticks(got: np.ndarray, want: np.ndarray) -> None:
    assert got.dtype == want.dtype
    assert len(got) == len(want)
    for name in TICK_FIELDS:
        np.testing.assert_array_equal(got[name], want[name], err_msg=name)


def error_of(fn, *args, **kwargs) -> str:
    with pytest.raises(TickCsvError) as exc:
        fn(*args, **kwargs)
    return str(exc.value)


# --- TqSdk DataDownloader files ----------------------------------------------------------------
def test_tqsdk_l5_round_trip_keeps_integer_ns_and_missing_values() -> None:
    want = make_ticks(50)
    want["bid_price5"][[3, 4]] = np.nan  # thin book: empty deeper levels
    want["bid_volume5"][[3, 4]] = np.nan
    want["last_price"][0] = np.nan
    lines = tqsdk_lines(want)
    lines[0] = "\ufeff" + lines[0]  # a byte-order mark before the header is tolerated
    parsed = parse_tqsdk_csv(lines, "cu.csv", SYM)
    assert parsed.symbols == (SYM,)
    assert parsed.depth_levels == 5
    assert parsed.n_rows == 50
    got = parsed.ticks(SYM)
    assert_same_ticks(got, want)
    assert got["datetime_ns"].dtype == np.int64
    assert int(got["datetime_ns"][1]) % 1000 == 1  # the +1 ns survives: no float round trip
    assert len(parsed.ticks("SHFE.cu2603")) == 0


def test_tqsdk_nan_spelling_and_empty_cells_mean_missing() -> None:
    want = make_ticks(3)
    lines = tqsdk_lines(want, eol="\n")
    cells = lines[2].rstrip("\n").split(",")
    cells[2] = "nan"  # TqSdk writes nan when the server sent null
    cells[3] = ""
    lines[2] = ",".join(cells) + "\n"
    got = parse_tqsdk_csv(lines, "x.csv").ticks(SYM)
    assert np.isnan(got["last_price"][1]) and np.isnan(got["highest"][1])
    assert got["lowest"][1] == want["lowest"][1]


def test_tqsdk_level1_only_continuous_file() -> None:
    want = make_ticks(20, levels=1)
    parsed = parse_tqsdk_csv(tqsdk_lines(want, CONT, levels=1), "kq.csv")
    assert parsed.symbols == (CONT,)
    assert parsed.depth_levels == 1
    got = parsed.ticks(CONT)
    assert_same_ticks(got, want)
    for f in L5_LEVEL_FIELDS[4:]:
        assert np.isnan(got[f]).all()
    assert not np.isnan(got["bid_price1"]).any()


def test_tqsdk_header_only_and_blank_trailing_lines() -> None:
    lines = tqsdk_lines(make_ticks(0)) + ["\r\n", "   \n"]
    parsed = parse_tqsdk_csv(lines, "empty.csv", SYM)
    assert parsed.n_rows == 0 and parsed.ticks(SYM).dtype == empty_ticks(0).dtype


def test_tqsdk_blank_line_inside_keeps_line_numbers() -> None:
    lines = tqsdk_lines(make_ticks(5))
    lines.insert(3, "\r\n")  # becomes line 4
    assert parse_tqsdk_csv(lines, "b.csv").n_rows == 5
    lines[5] = lines[5].replace(lines[5].split(",")[4], "oops", 1)  # row on line 6, column 5
    assert error_of(parse_tqsdk_csv, lines, "b.csv") == f"b.csv:6:5: invalid value 'oops': {NOT_NUMBER}"


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda h: ["date"] + h[1:], f"f.csv:1:1: expected header 'datetime', found 'date' {NOT_DD}"),
        (lambda h: h[:1] + ["nano"] + h[2:], f"f.csv:1:2: expected header 'datetime_nano', found 'nano' {NOT_DD}"),
        (
            lambda h: h[:2] + ["SHFE.cu2602.close"] + h[3:],
            "f.csv:1:3: expected header '<SYMBOL>.last_price', found 'SHFE.cu2602.close'",
        ),
        (lambda h: h[:5] + [f"{SYM}.avg"] + h[6:], f"f.csv:1:6: expected header '{SYM}.average', found '{SYM}.avg'"),
        (
            lambda h: h[:9] + ["SHFE.cu2603.bid_price1"] + h[10:],
            f"f.csv:1:10: expected header '{SYM}.bid_price1', found 'SHFE.cu2603.bid_price1'",
        ),
        (lambda h: h[:-1], f"f.csv:1:29: header has 28 columns, {BAD_WIDTH}"),
        (lambda h: h + ["extra"], f"f.csv:1:30: header has 30 columns, {BAD_WIDTH}"),
    ],
)
def test_tqsdk_header_errors(mutate, expected: str) -> None:
    lines = tqsdk_lines(make_ticks(2))
    lines[0] = ",".join(mutate(lines[0].rstrip("\r\n").split(","))) + "\r\n"
    assert error_of(parse_tqsdk_csv, lines, "f.csv") == expected


def test_tqsdk_symbol_mismatch_and_empty_file() -> None:
    lines = tqsdk_lines(make_ticks(2))
    assert error_of(parse_tqsdk_csv, lines, "f.csv", "SHFE.au2606") == (
        "f.csv:1:3: the file holds 'SHFE.cu2602', expected 'SHFE.au2606'"
    )
    assert error_of(parse_tqsdk_csv, [], "e.csv") == "e.csv:1:1: empty file: expected a CSV header on line 1"
    assert error_of(parse_tqsdk_csv, ["\n", "x\n"], "e.csv") == (
        "e.csv:1:1: empty header line: expected the CSV header on line 1"
    )


def _set_cell(lines: list[str], line: int, column: int, value: str) -> list[str]:
    out = list(lines)
    cells = out[line - 1].rstrip("\r\n").split(",")
    cells[column - 1] = value
    out[line - 1] = ",".join(cells) + "\r\n"
    return out


@pytest.mark.parametrize(
    ("line", "column", "value", "reason"),
    [
        (3, 7, "abc", f"invalid value 'abc': {NOT_NUMBER}"),
        (4, 29, "inf", f"invalid value 'inf': {NOT_NUMBER}"),
        (2, 12, "-1e999", f"invalid value '-1e999': {NOT_NUMBER}"),
        (5, 10, "1_000", f"invalid value '1_000': {NOT_NUMBER}"),
        (3, 2, "1.767e18", f"invalid timestamp '1.767e18': {BAD_NS}"),
        (6, 2, "#N/A", f"invalid timestamp '#N/A': {BAD_NS}"),
        (2, 2, "99999999999999999999", f"invalid timestamp '99999999999999999999': {BAD_NS}"),
        (4, 1, "2026/01/05 09:00:01", f"invalid datetime text '2026/01/05 09:00:01': {BAD_TEXT}"),
        (4, 1, "2026-13-05 09:00:01.000000000", f"invalid datetime text '2026-13-05 09:00:01.000000000': {BAD_TEXT}"),
        (4, 1, "2026-01-05 09:00:01.0000000001", f"invalid datetime text '2026-01-05 09:00:01.0000000001': {BAD_TEXT}"),
        (4, 1, " 2026-01-05 09:00:01", f"invalid datetime text ' 2026-01-05 09:00:01': {BAD_TEXT}"),
    ],
)
def test_tqsdk_bad_cells_name_line_and_column(line: int, column: int, value: str, reason: str) -> None:
    lines = _set_cell(tqsdk_lines(make_ticks(6)), line, column, value)
    assert error_of(parse_tqsdk_csv, lines, "cu.csv") == f"cu.csv:{line}:{column}: {reason}"


def test_tqsdk_first_bad_cell_wins() -> None:
    lines = _set_cell(tqsdk_lines(make_ticks(6)), 5, 3, "x")
    lines = _set_cell(lines, 3, 20, "y")
    lines = _set_cell(lines, 3, 9, "z")
    assert error_of(parse_tqsdk_csv, lines, "cu.csv").startswith("cu.csv:3:9: invalid value 'z'")


def test_tqsdk_wrong_column_count() -> None:
    lines = tqsdk_lines(make_ticks(5))
    lines[3] = lines[3].rstrip("\r\n").rsplit(",", 1)[0] + "\r\n"
    assert error_of(parse_tqsdk_csv, lines, "c.csv") == "c.csv:4:29: expected 29 columns, found 28"
    lines = tqsdk_lines(make_ticks(5))
    lines[2] = lines[2].rstrip("\r\n") + ",1\r\n"
    assert error_of(parse_tqsdk_csv, lines, "c.csv") == "c.csv:3:30: expected 29 columns, found 30"


def test_tqsdk_datetime_text_must_match_datetime_nano() -> None:
    arr = make_ticks(5)
    lines = tqsdk_lines(arr)
    wrong = bj_text(int(arr["datetime_ns"][2]) + 8 * 3600 * 10**9)  # written as UTC+16
    lines = _set_cell(lines, 4, 1, wrong)
    msg = error_of(parse_tqsdk_csv, lines, "c.csv")
    expected = f"c.csv:4:1: datetime text {wrong!r} (Beijing time) does not match datetime_nano"
    assert msg.startswith(f"{expected} {int(arr['datetime_ns'][2])}")
    assert bj_text(int(arr["datetime_ns"][2])) in msg
    # Sub-microsecond disagreement is caught too.
    lines = _set_cell(tqsdk_lines(arr), 3, 2, str(int(arr["datetime_ns"][1]) + 1))
    assert error_of(parse_tqsdk_csv, lines, "c.csv").startswith("c.csv:3:1: datetime text")


@pytest.mark.parametrize("delta", [0, -1_000])
def test_tqsdk_time_must_strictly_increase(delta: int) -> None:
    arr = make_ticks(6)
    arr["datetime_ns"][4] = arr["datetime_ns"][3] + delta
    msg = error_of(parse_tqsdk_csv, tqsdk_lines(arr), "c.csv")
    assert msg == (
        f"c.csv:6:2: datetime_nano {int(arr['datetime_ns'][4])} is not after {int(arr['datetime_ns'][3])} "
        "on line 5: time must be strictly increasing"
    )


def test_tqsdk_big_file_parses_and_locates_late_errors() -> None:
    """Speed sanity on 120k rows (no timing assert) and error location beyond the first chunks."""
    n = 120_000
    arr = make_ticks(n)
    ns = arr["datetime_ns"]
    local = (ns + 8 * 3600 * 10**9).astype("datetime64[ns]")
    texts = np.char.replace(np.datetime_as_string(local, unit="ns"), "T", " ")
    header = tqsdk_csv_header(SYM)
    names = [h.split(".")[-1] for h in header[2:]]
    cols = [texts, ns.astype(str)] + [arr[nm].astype(str) for nm in names]
    body = [",".join(cells) + "\n" for cells in zip(*(c.tolist() for c in cols), strict=True)]
    lines = [",".join(header) + "\n"] + body
    got = parse_tqsdk_csv(lines, "big.csv", SYM).ticks(SYM)
    assert_same_ticks(got, arr)
    bad = list(lines)
    bad[110_000] = ",".join(bad[110_000].split(",")[:-1] + ["x\n"])
    assert error_of(parse_tqsdk_csv, bad, "big.csv").startswith("big.csv:110001:29: invalid value 'x")


# --- plain files ---------------------------------------------------------------------------------
def test_plain_subset_of_columns_in_any_order() -> None:
    want = make_ticks(10, levels=2)
    want["ask_volume2"][4] = np.nan  # written as an empty cell
    cols = [
        "volume",
        "datetime_ns",
        *level_fields(2),
        "last_price",
        "average",
        "highest",
        "lowest",
        "amount",
        "open_interest",
        *level_fields(1),
    ]
    parsed = parse_plain_tick_csv(plain_lines(want, cols), "p.csv", default_symbol=SYM)
    assert parsed.symbols == (SYM,)
    assert parsed.depth_levels == 2
    assert_same_ticks(parsed.ticks(SYM), want)
    assert parse_plain_tick_csv(plain_lines(want, cols), "p.csv").symbols == (None,)


def test_plain_symbol_column_splits_batches_in_first_seen_order() -> None:
    a, b = make_ticks(6), make_ticks(4, start=T0 + 123)
    rows = np.concatenate([a[:3], b[:2], a[3:], b[2:]])
    syms = [SYM] * 3 + [CONT] * 2 + [SYM] * 3 + [CONT] * 2
    parsed = parse_plain_tick_csv(plain_lines(rows, list(TICK_FIELDS), syms), "m.csv")
    assert parsed.symbols == (SYM, CONT)
    assert_same_ticks(parsed.ticks(SYM), a)
    assert_same_ticks(parsed.ticks(CONT), b)


def test_plain_time_checked_per_symbol() -> None:
    a = make_ticks(4)
    rows = np.concatenate([a[:2], a[:2], a[2:]])
    syms = [SYM, SYM, CONT, CONT, SYM, CONT]
    rows = rows.copy()
    rows["datetime_ns"][5] = rows["datetime_ns"][3]  # CONT repeats its own previous time
    msg = error_of(parse_plain_tick_csv, plain_lines(rows, list(TICK_FIELDS), syms), "m.csv")
    assert msg == (
        f"m.csv:7:2: datetime_ns {int(rows['datetime_ns'][5])} is not after {int(rows['datetime_ns'][3])} "
        f"on line 5 of {CONT!r}: time must be strictly increasing"
    )


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (
            ["datetime_ns", "last_price", "price"],
            "p.csv:1:3: unknown column 'price': expected names from TICK_FIELDS and optionally 'symbol'",
        ),
        (["datetime_ns", "volume", "volume"], "p.csv:1:3: duplicate column 'volume' (first at column 2)"),
        (
            ["datetime_ns", "last_price"],
            "p.csv:1:3: missing required column(s) ['average', 'highest', 'lowest', 'volume', 'amount', 'open_interest']",
        ),
    ],
)
def test_plain_header_errors(header: list[str], expected: str) -> None:
    msg = error_of(parse_plain_tick_csv, [",".join(header) + "\n"], "p.csv")
    assert msg.startswith(expected)


def test_plain_bad_cells() -> None:
    cols = ["symbol", *TICK_FIELDS[:8]]
    good = plain_lines(make_ticks(3), list(TICK_FIELDS[:8]), [SYM] * 3)
    assert parse_plain_tick_csv(good, "p.csv").n_rows == 3
    lines = list(good)
    lines[2] = "," + lines[2].split(",", 1)[1]
    assert error_of(parse_plain_tick_csv, lines, "p.csv") == "p.csv:3:1: empty symbol"
    lines = list(good)
    lines[3] = lines[3].replace(SYM, "SHFE cu2602")
    assert error_of(parse_plain_tick_csv, lines, "p.csv").startswith("p.csv:4:1: invalid symbol 'SHFE cu2602'")
    for bad in (f" {SYM}", f'"{SYM}"'):
        lines = list(good)
        lines[3] = lines[3].replace(SYM, bad)
        assert error_of(parse_plain_tick_csv, lines, "p.csv").startswith(f"p.csv:4:1: invalid symbol {bad!r}")
    lines = list(good)
    cells = lines[2].split(",")
    cells[cols.index("datetime_ns")] = ""
    lines[2] = ",".join(cells)
    assert error_of(parse_plain_tick_csv, lines, "p.csv") == (
        "p.csv:3:2: invalid timestamp '': expected integer epoch nanoseconds"
    )


# --- get_tick_serial exports ------------------------------------------------------------------
SERIAL_FIELDS = list(TICK_FIELDS[1:])


def serial_lines(arr: np.ndarray, *, symbol: str | None = SYM, padding: int = 0, as_float: bool = True) -> list[str]:
    """``api.get_tick_serial(...).to_csv()``: pandas index, float64 datetime, NaN padding rows."""
    header = ["", "datetime", "id", *SERIAL_FIELDS] + (["symbol"] if symbol else []) + ["duration"]
    tail = ([symbol] if symbol else []) + ["0"]
    out = [",".join(header) + "\n"]
    for k in range(padding):
        out.append(",".join([str(k), "", str(k - padding)] + [""] * len(SERIAL_FIELDS) + tail) + "\n")
    for k, row in enumerate(arr):
        ns = int(row["datetime_ns"])
        when = repr(float(ns)) if as_float else str(ns)
        out.append(",".join([str(padding + k), when, str(k)] + [fmt(row[f]) for f in SERIAL_FIELDS] + tail) + "\n")
    return out


def whole_us(n: int) -> np.ndarray:
    arr = make_ticks(n)
    arr["datetime_ns"] -= arr["datetime_ns"] % 1_000  # exchange stamps are whole microseconds
    return arr


def test_serial_float_datetimes_round_to_the_exact_microsecond_and_padding_is_dropped() -> None:
    arr = whole_us(50)
    assert any(int(float(ns)) != ns for ns in arr["datetime_ns"])  # float64 alone would not give them back
    parsed = parse_tick_serial_csv(serial_lines(arr, padding=3), "serial.csv")
    assert parsed.symbols == (SYM,) and parsed.depth_levels == 5
    got = parsed.ticks(SYM)
    for f in TICK_FIELDS:
        np.testing.assert_array_equal(got[f], arr[f], err_msg=f)
    np.testing.assert_array_equal(parsed.line_numbers(SYM), np.arange(50) + 5)  # header + 3 padding rows

    exact = make_ticks(5)  # integer text keeps nanoseconds as they are
    again = parse_tick_serial_csv(serial_lines(exact, symbol=None, as_float=False), "s.csv", default_symbol=SYM)
    np.testing.assert_array_equal(again.ticks(SYM)["datetime_ns"], exact["datetime_ns"])


def test_serial_detection_and_header_errors() -> None:
    lines = serial_lines(whole_us(2))
    assert is_tick_serial_header(lines[0].rstrip("\n").split(","))
    assert not is_tick_serial_header(tqsdk_csv_header(SYM))
    assert not is_tick_serial_header(["datetime_ns", "last_price"])
    with pytest.raises(TickCsvError, match=r"s.csv:1:4: unknown column 'ma'"):
        parse_tick_serial_csv([lines[0].replace(",id,", ",id,ma,", 1)] + lines[1:], "s.csv")
    with pytest.raises(TickCsvError, match=r"missing required column\(s\) \['id'\]"):
        parse_tick_serial_csv([lines[0].replace(",id,", ",Unnamed: 0,", 1)], "s.csv")


def test_serial_bad_datetime_and_time_order_name_the_line() -> None:
    lines = serial_lines(whole_us(4), padding=1)
    cells = lines[3].split(",")
    cells[1] = "soon"
    with pytest.raises(TickCsvError, match=r"s.csv:4:2: invalid datetime 'soon'"):
        parse_tick_serial_csv([*lines[:3], ",".join(cells), *lines[4:]], "s.csv")
    swapped = [lines[0], lines[1], lines[2], lines[4], lines[3], lines[5]]
    with pytest.raises(TickCsvError, match=r"s.csv:5:2: datetime .* is not after .* on line 4"):
        parse_tick_serial_csv(swapped, "s.csv")
