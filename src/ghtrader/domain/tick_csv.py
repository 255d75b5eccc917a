"""Pure parsers for tick CSV text: TqSdk DataDownloader files, TqSdk tick-serial exports and
plain TICK_FIELDS files.

Both parsers take an iterable of text lines (a file object works; the caller does the I/O) and a
source name used in error messages. They validate the whole input before returning: a malformed
file raises :class:`TickCsvError` whose message is ``<source>:<line>:<column>: <reason>`` (both
1-based; the header is line 1) and nothing partial is returned.

Cells are comma-separated without quoting. A missing numeric value may be written ``#N/A``
(what TqSdk writes), ``nan`` or left empty; it becomes NaN. ``datetime_ns`` /
``datetime_nano`` must be an integer (float64 cannot hold epoch nanoseconds exactly) and must
be strictly increasing per symbol. Infinite numbers are rejected. A tick-serial export (the
``get_tick_serial`` DataFrame written with ``to_csv``) is the exception: its ``datetime`` is
float64 there, so a non-integer value is rounded to the microsecond (float64 keeps about 256 ns
at today's epoch, and exchange stamps are whole microseconds).

Every batch comes with the 1-based file line of each row, so later checks can say where a
rejected row came from.

Speed: the rows are parsed in one ``numpy.loadtxt`` call with a structured dtype; only when that
fails is the input re-scanned (in chunks, then cell by cell) to name the first bad cell.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, time
from types import MappingProxyType

import numpy as np

from ghtrader.domain.errors import DomainError
from ghtrader.domain.ticks import (
    LEVELS,
    MARKET_FIELDS,
    REQUIRED_COLUMNS,
    TICK_FIELDS,
    empty_ticks,
    level_fields,
)

__all__ = [
    "ParsedTicks",
    "TickCsvError",
    "TQSDK_SCALAR_COLUMNS",
    "is_tick_serial_header",
    "parse_plain_tick_csv",
    "parse_tick_serial_csv",
    "parse_tqsdk_csv",
    "tqsdk_csv_header",
]

#: Per-symbol columns of a DataDownloader tick CSV before the book levels, in file order.
TQSDK_SCALAR_COLUMNS: tuple[str, ...] = (
    "last_price",
    "highest",
    "lowest",
    "average",
    "volume",
    "amount",
    "open_interest",
)
_BEIJING_OFFSET_NS = 8 * 3600 * 1_000_000_000
_MISSING_TOKENS = frozenset({"", "#N/A", "nan", "NaN", "NAN"})
_FLOAT_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INT_RE = re.compile(r"[+-]?[0-9]+")
_DT_TEXT_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})[ T]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?")
_DT_TEXT_WIDTH = 29  # "YYYY-MM-DD HH:MM:SS.nnnnnnnnn"
_SYMBOL_WIDTH = 64
_EPOCH_WIDTH = 32
_LOCATE_CHUNK = 20_000

# Column kinds.
_K_DT_TEXT = "dt_text"
_K_NS = "ns"
_K_FLOAT = "float"
_K_SYMBOL = "symbol"
_K_EPOCH = "epoch"  # epoch ns as integer text, or float text rounded to the microsecond
_K_IGNORED = "ignored"  # a numeric column kept out of the ticks (pandas index, id, duration)

#: Columns of a ``get_tick_serial`` export that are not tick fields: ``""`` / ``"Unnamed: 0"``
#: is the pandas index, ``id`` the serial number, ``duration`` 0 for ticks.
SERIAL_EXTRA_COLUMNS: tuple[str, ...] = ("", "Unnamed: 0", "id", "duration")


class TickCsvError(DomainError):
    """A tick CSV that cannot be used; the message is ``<source>:<line>:<column>: <reason>``."""

    def __init__(self, source: str, line: int, column: int, reason: str) -> None:
        super().__init__(f"{source}:{line}:{column}: {reason}")
        self.source = source
        self.line = line
        self.column = column
        self.reason = reason


@dataclass(frozen=True)
class ParsedTicks:
    """Ticks read from one CSV, one :data:`TICK_DTYPE` batch per symbol in file order.

    ``batches`` maps each symbol to its rows (strictly increasing ``datetime_ns``); the key is
    ``None`` for a plain file without a ``symbol`` column when no default symbol was given.
    ``depth_levels`` is the number of book levels the file carries columns for (TqSdk: 1 or 5).
    """

    source: str
    batches: Mapping[str | None, np.ndarray]
    depth_levels: int
    header: tuple[str, ...] = field(default=())
    lines: Mapping[str | None, np.ndarray] = field(default_factory=lambda: MappingProxyType({}))

    def line_numbers(self, symbol: str | None) -> np.ndarray:
        """1-based file line of each row of ``symbol``'s batch (int64, aligned with the rows)."""
        found = self.lines.get(symbol)
        return np.empty(0, dtype=np.int64) if found is None else found

    @property
    def symbols(self) -> tuple[str | None, ...]:
        """The symbols in the file, in order of first appearance."""
        return tuple(self.batches)

    @property
    def n_rows(self) -> int:
        """Total number of tick rows over all symbols."""
        return sum(len(b) for b in self.batches.values())

    def ticks(self, symbol: str | None) -> np.ndarray:
        """The batch of ``symbol`` (an empty batch when the file has no rows for it)."""
        batch = self.batches.get(symbol)
        return empty_ticks(0) if batch is None else batch


def tqsdk_csv_header(symbol: str, levels: int = 5) -> list[str]:
    """The header TqSdk's DataDownloader writes for a tick download of ``symbol``."""
    if levels not in (1, 5):
        raise DomainError(f"invalid depth {levels!r}: DataDownloader writes 1 or 5 book levels")
    cols = list(TQSDK_SCALAR_COLUMNS) + [f for i in range(1, levels + 1) for f in level_fields(i)]
    return ["datetime", "datetime_nano"] + [f"{symbol}.{c}" for c in cols]


# --- public parsers ---------------------------------------------------------------------------
def parse_tqsdk_csv(lines: Iterable[str], source: str, symbol: str | None = None) -> ParsedTicks:
    """Parse a TqSdk DataDownloader tick CSV (one symbol, 1 or 5 book levels).

    The ``datetime`` text column is Beijing time and must denote the same instant as the integer
    ``datetime_nano`` column, which is what the ticks keep. ``symbol``, when given, must be the
    symbol named by the header.

    Raises:
        TickCsvError: a bad header, a wrong column count, a non-numeric or infinite value, a
            datetime text that does not match ``datetime_nano``, or non-increasing time.
    """
    it = iter(lines)
    header = _read_header(it, source)
    file_symbol, levels = _check_tqsdk_header(header, source, symbol)
    names = [c.split(".")[-1] for c in header[2:]]
    kinds = [_K_DT_TEXT, _K_NS] + [_K_FLOAT] * len(names)
    rows, line_numbers = _parse_rows(it, source, kinds)
    n = len(rows)
    ns = rows["c1"].astype(np.int64, copy=False)
    text_ns = rows["c0"].astype("datetime64[ns]").view(np.int64) - _BEIJING_OFFSET_NS
    bad = np.flatnonzero(text_ns != ns)
    if bad.size:
        i = int(bad[0])
        raise TickCsvError(
            source,
            _line_of(line_numbers, i),
            1,
            f"datetime text {str(rows['c0'][i])!r} (Beijing time) does not match datetime_nano "
            f"{int(ns[i])} (which is {_beijing_text(int(ns[i]))} Beijing time)",
        )
    _check_increasing(ns, None, line_numbers, 2, "datetime_nano", source)
    out = empty_ticks(n)
    out["datetime_ns"] = ns
    for j, name in enumerate(names, start=2):
        out[name] = rows[f"c{j}"]
    lines_of = _lines_array(line_numbers, n)
    return ParsedTicks(
        source, MappingProxyType({file_symbol: out}), levels, tuple(header), MappingProxyType({file_symbol: lines_of})
    )


def parse_plain_tick_csv(lines: Iterable[str], source: str, *, default_symbol: str | None = None) -> ParsedTicks:
    """Parse a plain tick CSV whose header names TICK_FIELDS columns (any order).

    ``datetime_ns`` (integer epoch ns, UTC) and the seven scalar fields are required; book-level
    columns may be absent (NaN). An optional ``symbol`` column splits the rows into one batch
    per symbol; without it every row belongs to ``default_symbol`` (``None`` when not given).

    Raises:
        TickCsvError: an unknown, duplicate or missing header column, a wrong column count, an
            empty symbol, a non-numeric or infinite value, or a symbol's time not strictly
            increasing.
    """
    it = iter(lines)
    header = _read_header(it, source)
    allowed = set(TICK_FIELDS) | {"symbol"}
    seen: dict[str, int] = {}
    for j, name in enumerate(header, start=1):
        if name not in allowed:
            raise TickCsvError(
                source, 1, j, f"unknown column {name!r}: expected names from TICK_FIELDS and optionally 'symbol'"
            )
        if name in seen:
            raise TickCsvError(source, 1, j, f"duplicate column {name!r} (first at column {seen[name]})")
        seen[name] = j
    missing = [c for c in REQUIRED_COLUMNS if c not in seen]
    if missing:
        raise TickCsvError(
            source,
            1,
            len(header) + 1,
            f"missing required column(s) {missing}: expected at least {list(REQUIRED_COLUMNS)}",
        )
    kinds = [_K_SYMBOL if c == "symbol" else _K_NS if c == "datetime_ns" else _K_FLOAT for c in header]
    rows, line_numbers = _parse_rows(it, source, kinds)
    n = len(rows)
    ns = rows[f"c{seen['datetime_ns'] - 1}"].astype(np.int64, copy=False)
    symbols = rows[f"c{seen['symbol'] - 1}"] if "symbol" in seen else None
    _check_increasing(ns, symbols, line_numbers, seen["datetime_ns"], "datetime_ns", source)
    out = empty_ticks(n)
    out["datetime_ns"] = ns
    for name, j in seen.items():
        if name not in ("symbol", "datetime_ns"):
            out[name] = rows[f"c{j - 1}"]
    return _by_symbol(source, header, seen, out, _lines_array(line_numbers, n), symbols, default_symbol)


def is_tick_serial_header(header: Sequence[str]) -> bool:
    """True for the header of a ``get_tick_serial`` export (``datetime`` and ``id`` columns)."""
    names = set(header)
    return "datetime" in names and "id" in names and "datetime_nano" not in names


def parse_tick_serial_csv(lines: Iterable[str], source: str, *, default_symbol: str | None = None) -> ParsedTicks:
    """Parse TqSdk's ``get_tick_serial`` DataFrame written to CSV.

    Columns: ``datetime`` (epoch ns; integer, or float64 rounded to the microsecond), ``id``,
    the seven scalar fields, any book-level columns, and optionally ``symbol``, ``duration`` and
    the pandas index (an empty or ``Unnamed: 0`` header). Rows whose ``datetime`` is missing
    are the padding of a serial longer than the data and are dropped. Without a ``symbol``
    column every row belongs to ``default_symbol``.

    Raises:
        TickCsvError: an unknown, duplicate or missing header column, a wrong column count, a
            bad value, or a symbol's time not strictly increasing.
    """
    it = iter(lines)
    header = _read_header(it, source)
    allowed = set(MARKET_FIELDS) | {"datetime", "symbol"} | set(SERIAL_EXTRA_COLUMNS)
    seen: dict[str, int] = {}
    for j, name in enumerate(header, start=1):
        if name not in allowed:
            raise TickCsvError(
                source,
                1,
                j,
                f"unknown column {name!r}: a get_tick_serial export has datetime, id, tick fields "
                "and optionally symbol and duration",
            )
        if name in seen:
            raise TickCsvError(source, 1, j, f"duplicate column {name!r} (first at column {seen[name]})")
        seen[name] = j
    required = ("datetime", "id", *REQUIRED_COLUMNS[1:])
    missing = [c for c in required if c not in seen]
    if missing:
        raise TickCsvError(
            source, 1, len(header) + 1, f"missing required column(s) {missing}: expected at least {list(required)}"
        )
    kind_of = {"datetime": _K_EPOCH, "symbol": _K_SYMBOL, **{c: _K_IGNORED for c in SERIAL_EXTRA_COLUMNS}}
    kinds = [kind_of.get(c, _K_FLOAT) for c in header]
    rows, line_numbers = _parse_rows(it, source, kinds)
    ns, present = _epoch_values(rows[f"c{seen['datetime'] - 1}"])
    lines_of = _lines_array(line_numbers, len(rows))
    if not present.all():
        rows, ns, lines_of = rows[present], ns[present], lines_of[present]
    symbols = rows[f"c{seen['symbol'] - 1}"] if "symbol" in seen else None
    _check_increasing(ns, symbols, lines_of, seen["datetime"], "datetime", source)
    out = empty_ticks(len(rows))
    out["datetime_ns"] = ns
    for name, j in seen.items():
        if name in MARKET_FIELDS:
            out[name] = rows[f"c{j - 1}"]
    return _by_symbol(source, header, seen, out, lines_of, symbols, default_symbol)


def _by_symbol(
    source: str,
    header: Sequence[str],
    seen: Mapping[str, int],
    out: np.ndarray,
    lines_of: np.ndarray,
    symbols: np.ndarray | None,
    default_symbol: str | None,
) -> ParsedTicks:
    levels = max((i for i in LEVELS if any(f in seen for f in level_fields(i))), default=0)
    batches: dict[str | None, np.ndarray]
    lines: dict[str | None, np.ndarray]
    if symbols is None:
        batches, lines = {default_symbol: out}, {default_symbol: lines_of}
    else:
        uniq, first, inverse = np.unique(symbols, return_index=True, return_inverse=True)
        inverse = inverse.reshape(-1)
        order = np.argsort(first, kind="stable")
        batches = {str(uniq[k]): out[inverse == k] for k in order}
        lines = {str(uniq[k]): lines_of[inverse == k] for k in order}
    return ParsedTicks(source, MappingProxyType(batches), levels, tuple(header), MappingProxyType(lines))


def _lines_array(line_numbers: np.ndarray | None, n: int) -> np.ndarray:
    return np.arange(2, n + 2, dtype=np.int64) if line_numbers is None else np.asarray(line_numbers, np.int64)


def _epoch_values(col: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Epoch ns of ``_K_EPOCH`` cells and whether each is present (missing cells give 0).

    Raises ValueError (or OverflowError) for a cell that is no number; ``_fast_parse`` turns
    that into the slow scan that names it.
    """
    text = np.char.strip(np.asarray(col, dtype=f"U{_EPOCH_WIDTH}"))
    present = ~np.isin(text, list(_MISSING_TOKENS))
    integral = np.char.isdigit(np.char.lstrip(text, "+-")) & present
    ns = np.zeros(text.shape, dtype=np.int64)
    ns[integral] = text[integral].astype(np.int64)
    floating = present & ~integral
    if floating.any():
        values = text[floating].astype(np.float64)
        if not np.isfinite(values).all() or (np.abs(values) >= 2.0**63).any():
            raise ValueError("non-finite or out-of-range epoch")
        ns[floating] = np.rint(values / 1_000.0).astype(np.int64) * 1_000
    return ns, present


# --- header -----------------------------------------------------------------------------------
def _read_header(it: Iterable[str], source: str) -> list[str]:
    for raw in it:
        text = raw.rstrip("\r\n").lstrip("\ufeff")
        if not text.strip():
            raise TickCsvError(source, 1, 1, "empty header line: expected the CSV header on line 1")
        return [c.strip() for c in text.split(",")]
    raise TickCsvError(source, 1, 1, "empty file: expected a CSV header on line 1")


def _check_tqsdk_header(header: Sequence[str], source: str, symbol: str | None) -> tuple[str, int]:
    for j, name in enumerate(("datetime", "datetime_nano"), start=1):
        if len(header) < j or header[j - 1] != name:
            found = header[j - 1] if len(header) >= j else "nothing"
            raise TickCsvError(
                source, 1, j, f"expected header {name!r}, found {found!r} (not a DataDownloader tick CSV)"
            )
    first = header[2] if len(header) > 2 else ""
    suffix = ".last_price"
    if not first.endswith(suffix) or len(first) == len(suffix):
        raise TickCsvError(source, 1, 3, f"expected header '<SYMBOL>.last_price', found {first!r}")
    file_symbol = first[: -len(suffix)]
    if symbol is not None and file_symbol != symbol:
        raise TickCsvError(source, 1, 3, f"the file holds {file_symbol!r}, expected {symbol!r}")
    levels = 1 if len(header) <= len(tqsdk_csv_header(file_symbol, 1)) else 5
    expected = tqsdk_csv_header(file_symbol, levels)
    for j, (want, got) in enumerate(zip(expected, header, strict=False), start=1):
        if want != got:
            raise TickCsvError(source, 1, j, f"expected header {want!r}, found {got!r}")
    if len(header) != len(expected):
        j = min(len(header), len(expected)) + 1
        raise TickCsvError(
            source,
            1,
            j,
            f"header has {len(header)} columns, expected {len(tqsdk_csv_header(file_symbol, 1))} (level 1) "
            f"or {len(tqsdk_csv_header(file_symbol, 5))} (levels 1-5) for one symbol",
        )
    return file_symbol, levels


# --- rows -------------------------------------------------------------------------------------
def _fill_empty(text: str) -> str:
    """Empty cells written as ``nan`` (the cell count stays the same)."""
    if ",," in text:
        text = text.replace(",,", ",nan,").replace(",,", ",nan,")
    if text.endswith(","):
        text += "nan"
    if text.startswith(","):
        text = "nan" + text
    return text


def _record_dtype(kinds: Sequence[str]) -> np.dtype:
    spec = {
        _K_DT_TEXT: f"U{_DT_TEXT_WIDTH + 1}",
        _K_NS: "<i8",
        _K_FLOAT: "<f8",
        _K_SYMBOL: f"U{_SYMBOL_WIDTH}",
        _K_EPOCH: f"U{_EPOCH_WIDTH}",
        _K_IGNORED: "<f8",
    }
    return np.dtype([(f"c{j}", spec[k]) for j, k in enumerate(kinds)])


def _parse_rows(it: Iterable[str], source: str, kinds: Sequence[str]) -> tuple[np.ndarray, np.ndarray | None]:
    """All data rows as a record array (fields ``c0``.. by column) and their line numbers.

    Line numbers are ``None`` when there were no blank lines (row i is then on line i + 2).
    """
    raw = list(it)
    norm = [ln.rstrip("\r\n").replace("#N/A", "nan") for ln in raw]
    line_numbers: np.ndarray | None = None
    if any(not t.strip() for t in norm):
        keep = [i for i, t in enumerate(norm) if t.strip()]
        line_numbers = np.asarray(keep, dtype=np.int64) + 2
        raw = [raw[i] for i in keep]
        norm = [norm[i] for i in keep]
    dtype = _record_dtype(kinds)
    rows = _fast_parse(norm, dtype, kinds)
    if rows is None:
        # Empty cells are rare (TqSdk writes #N/A), so they are only filled in on a second try.
        norm = [_fill_empty(t) for t in norm]
        rows = _fast_parse(norm, dtype, kinds)
    if rows is None:
        _locate_error(raw, norm, line_numbers, dtype, kinds, source)
        raise TickCsvError(source, 2, 1, "the rows cannot be parsed as tick CSV")  # pragma: no cover
    return rows, line_numbers


def _fast_parse(norm: list[str], dtype: np.dtype, kinds: Sequence[str]) -> np.ndarray | None:
    """Parse normalised lines in one go; ``None`` when any cell is bad (the slow scan names it)."""
    if not norm:
        return np.empty(0, dtype=dtype)
    try:
        rows = np.loadtxt(norm, delimiter=",", dtype=dtype, comments=None, quotechar=None, ndmin=1)
    except ValueError:
        return None
    if len(rows) != len(norm):
        return None
    for j, kind in enumerate(kinds):
        col = rows[f"c{j}"]
        if kind == _K_FLOAT and np.isinf(col).any():
            return None
        if kind == _K_EPOCH:
            if (np.char.str_len(col) >= _EPOCH_WIDTH).any():
                return None
            try:
                _epoch_values(col)
            except (ValueError, OverflowError):
                return None
        if kind == _K_SYMBOL:
            lengths = np.char.str_len(col)
            if (lengths == 0).any() or (lengths >= _SYMBOL_WIDTH).any() or (col == "nan").any():
                return None
            if any((np.char.find(col, ch) >= 0).any() for ch in (" ", "\t", '"', "'")):
                return None
        if kind == _K_DT_TEXT and not _dt_text_ok(col):
            return None
    return rows


def _dt_text_ok(col: np.ndarray) -> bool:
    """Vectorised shape check of ``YYYY-MM-DD HH:MM:SS[.f{1,9}]`` cells, then a real parse."""
    if col.size == 0:
        return True
    codes = np.ascontiguousarray(col).view(np.uint32).reshape(col.size, -1)
    digit = (codes >= ord("0")) & (codes <= ord("9"))
    fixed_digits = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
    if not digit[:, fixed_digits].all():
        return False
    if not (
        (codes[:, 4] == ord("-")) & (codes[:, 7] == ord("-")) & (codes[:, 13] == ord(":")) & (codes[:, 16] == ord(":"))
    ).all():
        return False
    if not ((codes[:, 10] == ord(" ")) | (codes[:, 10] == ord("T"))).all():
        return False
    if (codes[:, _DT_TEXT_WIDTH:] != 0).any():
        return False
    tail = codes[:, 19:_DT_TEXT_WIDTH]
    has_fraction = tail[:, 0] == ord(".")
    frac = tail[:, 1:]
    frac_digit = digit[:, 20:_DT_TEXT_WIDTH]
    # After the dot: 1..9 digits then padding; without a dot: nothing at all.
    pad = frac == 0
    ok_fraction = has_fraction & frac_digit[:, 0] & (frac_digit | pad).all(axis=1)
    ok_fraction &= ~(pad[:, :-1] & frac_digit[:, 1:]).any(axis=1)
    ok_plain = (tail == 0).all(axis=1)
    if not (ok_fraction | ok_plain).all():
        return False
    try:
        col.astype("datetime64[ns]")
    except ValueError:
        return False
    return True


def _locate_error(
    raw: list[str],
    norm: list[str],
    line_numbers: np.ndarray | None,
    dtype: np.dtype,
    kinds: Sequence[str],
    source: str,
) -> None:
    """Raise the :class:`TickCsvError` of the first bad cell (chunks first, then cell by cell)."""
    for start in range(0, len(norm), _LOCATE_CHUNK):
        stop = start + _LOCATE_CHUNK
        if _fast_parse(norm[start:stop], dtype, kinds) is not None:
            continue
        for i in range(start, min(stop, len(raw))):
            cells = raw[i].rstrip("\r\n").split(",")
            line = _line_of(line_numbers, i)
            if len(cells) != len(kinds):
                col = min(len(cells), len(kinds)) + 1
                raise TickCsvError(source, line, col, f"expected {len(kinds)} columns, found {len(cells)}")
            for j, (cell, kind) in enumerate(zip(cells, kinds, strict=True), start=1):
                reason = _cell_problem(cell, kind)
                if reason is not None:
                    raise TickCsvError(source, line, j, reason)
        raise TickCsvError(source, _line_of(line_numbers, start), 1, "rows from here cannot be parsed as tick CSV")


def _cell_problem(raw: str, kind: str) -> str | None:
    """Why one cell is bad, or None. Numbers may carry blanks around them; text may not."""
    cell = raw if kind in (_K_DT_TEXT, _K_SYMBOL) or not raw.strip() else raw.strip()
    if kind == _K_EPOCH:
        if cell in _MISSING_TOKENS or (
            len(cell) < _EPOCH_WIDTH and _INT_RE.fullmatch(cell) and -(2**63) <= int(cell) < 2**63
        ):
            return None
        if len(cell) < _EPOCH_WIDTH and _FLOAT_RE.fullmatch(cell) and abs(float(cell)) < 2.0**63:
            return None
        return f"invalid datetime {cell!r}: expected epoch nanoseconds (an integer or a float)"
    if kind in (_K_FLOAT, _K_IGNORED):
        if cell in _MISSING_TOKENS or (_FLOAT_RE.fullmatch(cell) and math.isfinite(float(cell))):
            return None
        return f"invalid value {cell!r}: expected a finite number, #N/A or empty"
    if kind == _K_NS:
        if _INT_RE.fullmatch(cell) and -(2**63) <= int(cell) < 2**63:
            return None
        return f"invalid timestamp {cell!r}: expected integer epoch nanoseconds"
    if kind == _K_SYMBOL:
        if not cell or cell in _MISSING_TOKENS:
            return "empty symbol"
        if len(cell) >= _SYMBOL_WIDTH or any(c.isspace() or c in "\"'" for c in cell):
            return f"invalid symbol {cell!r}: expected a short symbol without spaces or quotes like 'SHFE.cu2602'"
        return None
    m = _DT_TEXT_RE.fullmatch(cell)
    if m is not None:
        y, mo, d, h, mi, s, _ = m.groups()
        try:
            date(int(y), int(mo), int(d))
            time(int(h), int(mi), int(s))
            return None
        except ValueError:
            pass
    return f"invalid datetime text {cell!r}: expected 'YYYY-MM-DD HH:MM:SS.nnnnnnnnn' (Beijing time)"


def _check_increasing(
    ns: np.ndarray,
    symbols: np.ndarray | None,
    line_numbers: np.ndarray | None,
    column: int,
    column_name: str,
    source: str,
) -> None:
    if ns.size < 2:
        return
    if symbols is None:
        order = np.arange(ns.size)
        same = np.ones(ns.size - 1, dtype=bool)
    else:
        _, codes = np.unique(symbols, return_inverse=True)
        codes = codes.reshape(-1)
        order = np.lexsort((np.arange(ns.size), codes))
        same = codes[order][1:] == codes[order][:-1]
    ordered = ns[order]
    bad = np.flatnonzero(same & (ordered[1:] <= ordered[:-1]))
    if bad.size == 0:
        return
    # The earliest offending row in file order.
    rows = order[bad + 1]
    k = int(np.argmin(rows))
    i, prev = int(rows[k]), int(order[bad[k]])
    whose = "" if symbols is None else f" of {str(symbols[i])!r}"
    raise TickCsvError(
        source,
        _line_of(line_numbers, i),
        column,
        f"{column_name} {int(ns[i])} is not after {int(ns[prev])} on line {_line_of(line_numbers, prev)}"
        f"{whose}: time must be strictly increasing",
    )


def _line_of(line_numbers: np.ndarray | None, row: int) -> int:
    return row + 2 if line_numbers is None else int(line_numbers[row])


def _beijing_text(ns: int) -> str:
    text = str(np.datetime64(ns + _BEIJING_OFFSET_NS, "ns"))
    return text.replace("T", " ")
