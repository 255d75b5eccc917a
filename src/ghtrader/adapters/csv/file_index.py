"""Which symbols a directory of tick CSV files holds, in which files, over which time span.

Only the header and one cheap pass over the lines of each file are read (no number parsing
beyond the first and last timestamp); the full parse happens when a symbol is fetched.
"""

from __future__ import annotations

import gzip
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from ghtrader.domain.errors import InvalidSymbolError
from ghtrader.domain.instruments import parse_symbol
from ghtrader.domain.ticks import TICK_FIELDS

__all__ = ["CsvFile", "SymbolFile", "csv_stem", "open_text", "scan_directory"]

log = logging.getLogger(__name__)

FileKind = Literal["tqsdk", "plain"]
_SUFFIXES = (".csv.gz", ".csv")
_PLAIN_COLUMNS = frozenset(TICK_FIELDS) | {"symbol"}


@dataclass(frozen=True)
class CsvFile:
    """A recognised tick CSV file and how to read it."""

    path: Path
    kind: FileKind
    file_symbol: str | None  # the symbol named by the header (tqsdk) or by the file name (plain)
    has_symbol_column: bool
    fingerprint: tuple[int, int]  # (mtime_ns, size): a change means the file must be re-read


@dataclass(frozen=True)
class SymbolFile:
    """One symbol's rows in one file, with the first and last ``datetime_ns`` (None if unknown)."""

    file: CsvFile
    symbol: str
    first_ns: int | None
    last_ns: int | None


def csv_stem(path: Path) -> str | None:
    """The file name without ``.csv`` / ``.csv.gz``; None for other files."""
    name = path.name
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return None


def open_text(path: Path) -> IO[str]:
    """Open a ``.csv`` or ``.csv.gz`` file as UTF-8 text (a BOM is left for the parser)."""
    if path.name.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def _fingerprint(path: Path) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_mtime_ns, st.st_size


def _classify(path: Path, header: list[str]) -> CsvFile | None:
    if header[:2] == ["datetime", "datetime_nano"]:
        first = header[2] if len(header) > 2 else ""
        if first.endswith(".last_price") and len(first) > len(".last_price"):
            return CsvFile(path, "tqsdk", first[: -len(".last_price")], False, _fingerprint(path))
        log.warning("skipping %s: DataDownloader header without '<SYMBOL>.last_price' (a kline file?)", path)
        return None
    if "datetime_ns" in header and set(header) <= _PLAIN_COLUMNS:
        if "symbol" in header:
            return CsvFile(path, "plain", None, True, _fingerprint(path))
        stem = csv_stem(path) or ""
        try:
            parse_symbol(stem)
        except InvalidSymbolError:
            log.warning(
                "skipping %s: a plain tick CSV without a 'symbol' column must be named after its symbol, "
                "e.g. SHFE.cu2602.csv", path,
            )
            return None
        return CsvFile(path, "plain", stem, False, _fingerprint(path))
    log.warning("skipping %s: not a tick CSV (header %s...)", path, ",".join(header[:4]))
    return None


def _int_or_none(text: str) -> int | None:
    try:
        return int(text.strip())
    except ValueError:
        return None


def _scan_file(path: Path) -> Iterator[SymbolFile]:
    with open_text(path) as fh:
        first_line = fh.readline()
        header = [c.strip() for c in first_line.rstrip("\r\n").lstrip("\ufeff").split(",")]
        info = _classify(path, header)
        if info is None:
            return
        ns_col = 1 if info.kind == "tqsdk" else header.index("datetime_ns")
        if not info.has_symbol_column:
            first = last = None
            for line in fh:
                if line.strip():
                    if first is None:
                        first = line
                    last = line
            assert info.file_symbol is not None
            yield SymbolFile(info, info.file_symbol, *_span(first, last, ns_col))
            return
        sym_col = header.index("symbol")
        spans: dict[str, list[int | None]] = {}
        for line in fh:
            cells = line.rstrip("\r\n").split(",")
            if len(cells) != len(header):
                continue  # blank or malformed: the parser reports it when the file is read
            sym = cells[sym_col].strip()
            ns = _int_or_none(cells[ns_col])
            span = spans.get(sym)
            if span is None:
                spans[sym] = [ns, ns]
            elif ns is not None:
                span[0] = ns if span[0] is None else min(span[0], ns)
                span[1] = ns if span[1] is None else max(span[1], ns)
        for sym, (lo, hi) in spans.items():
            if sym:
                yield SymbolFile(info, sym, lo, hi)


def _span(first: str | None, last: str | None, ns_col: int) -> tuple[int | None, int | None]:
    def ns_of(line: str | None) -> int | None:
        if line is None:
            return None
        cells = line.split(",")
        return _int_or_none(cells[ns_col]) if len(cells) > ns_col else None

    lo, hi = ns_of(first), ns_of(last)
    if lo is None or hi is None:
        return None, None
    return lo, hi


def scan_directory(root: Path) -> dict[str, list[SymbolFile]]:
    """Map every symbol found under ``root`` (recursively) to its files, sorted by first tick.

    Hidden files and files that are not tick CSVs are skipped with a warning.
    """
    out: dict[str, list[SymbolFile]] = {}
    for path in sorted(root.rglob("*")):
        if path.name.startswith((".", "~")) or csv_stem(path) is None or not path.is_file():
            continue
        try:
            entries = list(_scan_file(path))
        except (OSError, UnicodeDecodeError, EOFError) as exc:
            log.warning("skipping %s: cannot be read as UTF-8 text (%s)", path, exc)
            continue
        for entry in entries:
            out.setdefault(entry.symbol, []).append(entry)
    for files in out.values():
        files.sort(key=lambda f: (f.first_ns is None, f.first_ns or 0, str(f.file.path)))
    return out
