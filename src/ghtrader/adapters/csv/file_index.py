"""Which symbols a directory of tick CSV files holds, in which files, over which time span.

Only the header and one cheap pass over the lines of each file are read (no number parsing
beyond the first and last timestamp); the full parse happens when a symbol is fetched.

A ``.csv`` / ``.csv.gz`` file that is not a usable tick CSV (unknown header, a plain file that
names no symbol, a header without rows, unreadable bytes) is reported as a problem naming the
file and why: the provider refuses to run on a directory with such files rather than silently
ignoring data the user meant to ingest.
"""

from __future__ import annotations

import gzip
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from ghtrader.domain.errors import InvalidSymbolError
from ghtrader.domain.instruments import parse_symbol
from ghtrader.domain.tick_csv import is_tick_serial_header
from ghtrader.domain.ticks import TICK_FIELDS

__all__ = ["CsvFile", "DirectoryScan", "ScannedFile", "SymbolFile", "csv_stem", "open_text", "scan_directory"]

FileKind = Literal["tqsdk", "plain", "serial"]
_SUFFIXES = (".csv.gz", ".csv")
_PLAIN_COLUMNS = frozenset(TICK_FIELDS) | {"symbol"}


@dataclass(frozen=True)
class CsvFile:
    """A recognised tick CSV file and how to read it."""

    path: Path
    kind: FileKind
    file_symbol: str | None  # the symbol named by the header (tqsdk) or by the file name (plain, serial)
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


class UnusableFile(Exception):
    """A CSV file the scanner cannot use; the message says why."""


def _classify(path: Path, header: list[str]) -> CsvFile:
    if header[:2] == ["datetime", "datetime_nano"]:
        first = header[2] if len(header) > 2 else ""
        if first.endswith(".last_price") and len(first) > len(".last_price"):
            return CsvFile(path, "tqsdk", first[: -len(".last_price")], False, _fingerprint(path))
        raise UnusableFile(
            f"a DataDownloader header without '<SYMBOL>.last_price' in column 3 (found {first!r}): "
            "a kline download, not ticks?"
        )
    if "datetime_ns" in header and set(header) <= _PLAIN_COLUMNS:
        kind: FileKind = "plain"
    elif is_tick_serial_header(header):
        kind = "serial"
    else:
        raise UnusableFile(
            f"not a tick CSV (header {','.join(header[:6])}{',...' if len(header) > 6 else ''}): expected a "
            "DataDownloader tick file (datetime,datetime_nano,<SYMBOL>.last_price,...), a get_tick_serial "
            "export (datetime,id,last_price,...) or a plain file with a datetime_ns column"
        )
    if "symbol" in header:
        return CsvFile(path, kind, None, True, _fingerprint(path))
    stem = csv_stem(path) or ""
    try:
        parse_symbol(stem)
    except InvalidSymbolError:
        raise UnusableFile(
            "no 'symbol' column and the file name is not a symbol: name it after its symbol, "
            "e.g. SHFE.cu2602.csv, or add a symbol column"
        ) from None
    return CsvFile(path, kind, stem, False, _fingerprint(path))


def _ns_or_none(text: str) -> int | None:
    """Epoch ns of a timestamp cell: an integer, or a float rounded to the microsecond."""
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return None
    return round(value / 1_000.0) * 1_000 if math.isfinite(value) else None


def _scan_file(path: Path) -> list[SymbolFile]:
    with open_text(path) as fh:
        first_line = fh.readline()
        header = [c.strip() for c in first_line.rstrip("\r\n").lstrip("\ufeff").split(",")]
        if not first_line.strip():
            raise UnusableFile("empty file: expected a CSV header on line 1")
        info = _classify(path, header)
        ns_col = {
            "tqsdk": 1,
            "plain": header.index("datetime_ns") if "datetime_ns" in header else 0,
            "serial": header.index("datetime") if "datetime" in header else 0,
        }[info.kind]
        if not info.has_symbol_column:
            first = last = None
            for line in fh:
                if line.strip():
                    if first is None and _ns_of(line, ns_col) is not None:
                        first = line  # a serial export starts with padding rows without a time
                    last = line
            if last is None:
                raise UnusableFile("a header but no tick rows (an empty download?)")
            assert info.file_symbol is not None
            return [SymbolFile(info, info.file_symbol, *_span(first, last, ns_col))]
        sym_col = header.index("symbol")
        spans: dict[str, list[int | None]] = {}
        for line in fh:
            cells = line.rstrip("\r\n").split(",")
            if len(cells) != len(header):
                continue  # blank or malformed: the parser reports it when the file is read
            sym = cells[sym_col].strip()
            ns = _ns_or_none(cells[ns_col])
            span = spans.get(sym)
            if span is None:
                spans[sym] = [ns, ns]
            elif ns is not None:
                span[0] = ns if span[0] is None else min(span[0], ns)
                span[1] = ns if span[1] is None else max(span[1], ns)
    out = [SymbolFile(info, sym, lo, hi) for sym, (lo, hi) in spans.items() if sym]
    if not out:
        raise UnusableFile("a header but no tick rows (an empty download?)")
    return out


def _ns_of(line: str | None, ns_col: int) -> int | None:
    if line is None:
        return None
    cells = line.split(",")
    return _ns_or_none(cells[ns_col]) if len(cells) > ns_col else None


def _span(first: str | None, last: str | None, ns_col: int) -> tuple[int | None, int | None]:
    lo, hi = _ns_of(first, ns_col), _ns_of(last, ns_col)
    if lo is None or hi is None:
        return None, None
    return lo, hi


@dataclass(frozen=True)
class ScannedFile:
    """What one scan found in one file: its entries, or why it cannot be used."""

    fingerprint: tuple[int, int]  # (mtime_ns, size) when scanned
    entries: tuple[SymbolFile, ...] = ()
    problem: str = ""


@dataclass(frozen=True)
class DirectoryScan:
    """What :func:`scan_directory` found: symbols to their files, the unusable files, and each
    file's scan (pass it back as ``known`` so unchanged files are not read again)."""

    files: dict[str, list[SymbolFile]]
    problems: list[tuple[Path, str]]  # (file, why it cannot be used)
    scanned: dict[Path, ScannedFile]


def _scan_one(path: Path, fingerprint: tuple[int, int]) -> ScannedFile:
    try:
        return ScannedFile(fingerprint, tuple(_scan_file(path)))
    except UnusableFile as exc:
        return ScannedFile(fingerprint, problem=str(exc))
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        return ScannedFile(fingerprint, problem=f"cannot be read as UTF-8 text ({exc})")


def scan_directory(root: Path, known: Mapping[Path, ScannedFile] | None = None) -> DirectoryScan:
    """Map every symbol found under ``root`` (recursively) to its files, sorted by first tick.

    Hidden files (``.``/``~`` prefixes) and files not named ``*.csv`` / ``*.csv.gz`` are not
    looked at; every other file that is not a usable tick CSV is listed in ``problems``. A file
    of ``known`` whose size and mtime are unchanged is not read again.
    """
    known = known or {}
    out: dict[str, list[SymbolFile]] = {}
    problems: list[tuple[Path, str]] = []
    scanned: dict[Path, ScannedFile] = {}
    for path in sorted(root.rglob("*")):
        if path.name.startswith((".", "~")) or csv_stem(path) is None or not path.is_file():
            continue
        try:
            fingerprint = _fingerprint(path)
        except OSError:
            continue  # removed while listing
        previous = known.get(path)
        result = previous if previous is not None and previous.fingerprint == fingerprint else None
        if result is None:
            result = _scan_one(path, fingerprint)
        scanned[path] = result
        if result.problem:
            problems.append((path, result.problem))
        for entry in result.entries:
            out.setdefault(entry.symbol, []).append(entry)
    for files in out.values():
        files.sort(key=lambda f: (f.first_ns is None, f.first_ns or 0, str(f.file.path)))
    return DirectoryScan(out, problems, scanned)
