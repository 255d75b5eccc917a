"""DataProvider replaying a directory of tick CSV files (TqSdk DataDownloader, TqSdk tick-serial
export or plain style)."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import cast

import numpy as np

from ghtrader.adapters.csv.file_index import (
    ScannedFile,
    SymbolFile,
    open_text,
    scan_directory,
)
from ghtrader.application.errors import InvalidArgument, Unavailable
from ghtrader.application.ports.providers import (
    ContractInfo,
    DataSource,
    DayTicks,
    RowOrigins,
    eod_open_interest_from_ticks,
)
from ghtrader.domain.calendar import BEIJING_UTC_OFFSET_NS, NS_PER_DAY, TradingCalendar
from ghtrader.domain.errors import InvalidSymbolError
from ghtrader.domain.instruments import (
    ContractSymbol,
    contract_spec,
    parse_symbol,
    variety_key,
)
from ghtrader.domain.tick_csv import (
    TickCsvError,
    parse_plain_tick_csv,
    parse_tick_serial_csv,
    parse_tqsdk_csv,
)
from ghtrader.domain.ticks import empty_ticks, row_hash

__all__ = ["CsvDataProvider"]

log = logging.getLogger(__name__)

_EVENING_NS = 18 * 3600 * 1_000_000_000
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_SHOWN_SYMBOLS = 20
_SHOWN_PROBLEMS = 10


def _evening_ns(d: date) -> int:
    """Epoch ns of 18:00 Beijing on ``d``: where the next trading day's ticks begin."""
    return (d.toordinal() - _EPOCH_ORDINAL) * NS_PER_DAY - BEIJING_UTC_OFFSET_NS + _EVENING_NS


class CsvDataProvider:
    """Ticks from the CSV files under ``root`` (searched recursively; ``.csv`` and ``.csv.gz``).

    A file is a TqSdk DataDownloader tick CSV (any name; the header names the symbol), a TqSdk
    ``get_tick_serial`` DataFrame written with ``to_csv`` (``datetime`` in epoch ns, ``id``, the
    tick fields) or a plain CSV with a header of TICK_FIELDS names; the last two need a
    ``symbol`` column or the file named after its symbol, e.g. ``SHFE.cu2602.csv``. Any other
    ``*.csv`` / ``*.csv.gz`` file, or one with a header and no rows, makes every call fail with
    InvalidArgument naming the files and why. Several files may hold the same symbol: rows
    are merged by time, identical repeats dropped, conflicting ones rejected. Each DayTicks
    carries the file and line of its rows (``origins``).

    Every call lists the directory again (one ``stat`` per file) and reads only new or changed
    files (size or mtime differ), so a long-running server sees files added or replaced under
    it; ``refresh()`` forgets everything. Parsed files are kept in a small LRU bounded by
    ``cache_rows`` so the day-chunked calls of an ingest do not re-parse the same file.

    Args:
        root: the directory.
        calendar: splits rows into trading days and lists the days to yield.
        today: "today" for the catalog's ``expired`` flag (e.g. from the Clock port); without it
            a contract counts as expired when its data reaches its last trading day.
        cache_rows: parsed rows kept in memory across calls (about 232 bytes per row).
    """

    name = "csv"

    def __init__(
        self,
        root: Path,
        calendar: TradingCalendar,
        *,
        today: Callable[[], date] | None = None,
        cache_rows: int = 2_000_000,
    ) -> None:
        self._root = Path(root)
        self._calendar = calendar
        self._today = today
        self._cache_rows = int(cache_rows)
        self._lock = threading.RLock()
        self._scanned: dict[Path, ScannedFile] = {}
        self._cache: OrderedDict[tuple[str, str, tuple[int, int]], tuple[np.ndarray, np.ndarray]] = OrderedDict()

    def __repr__(self) -> str:
        return f"CsvDataProvider({str(self._root)!r})"

    @property
    def root(self) -> Path:
        """The directory replayed."""
        return self._root

    # --- index ----------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Forget the file index and cached rows; the next call re-reads the directory."""
        with self._lock:
            self._scanned = {}
            self._cache.clear()

    def _files(self) -> dict[str, list[SymbolFile]]:
        with self._lock:
            if not self._root.is_dir():
                raise Unavailable(
                    f"CSV directory {self._root} does not exist or is not a directory: "
                    "create it and put tick CSV files there, or configure another directory"
                )
            first = not self._scanned
            scan = scan_directory(self._root, self._scanned)
            self._scanned = scan.scanned
            if scan.problems:
                shown = "; ".join(f"{path}: {why}" for path, why in scan.problems[:_SHOWN_PROBLEMS])
                more = len(scan.problems) - _SHOWN_PROBLEMS
                raise InvalidArgument(
                    f"{len(scan.problems)} file(s) in CSV directory {self._root} cannot be used: {shown}"
                    f"{f'; and {more} more' if more > 0 else ''}. Fix or remove them (or move them out of "
                    "the directory) and run again"
                )
            if first:
                log.info("indexed %d symbols in CSV directory %s", len(scan.files), self._root)
            return scan.files

    def symbols(self) -> list[str]:
        """Every symbol present in the directory, sorted."""
        return sorted(self._files())

    def _files_of(self, symbol: str) -> list[SymbolFile]:
        index = self._files()
        files = index.get(symbol)
        if not files:
            known = sorted(index)
            shown = ", ".join(known[:_SHOWN_SYMBOLS]) + (" ..." if len(known) > _SHOWN_SYMBOLS else "")
            raise InvalidArgument(
                f"symbol {symbol!r} is not in the CSV directory {self._root} "
                f"(it holds {len(known)} symbols{': ' + shown if known else ''}); "
                "add a tick CSV for it or pick one of those"
            )
        return files

    # --- reading --------------------------------------------------------------------------------
    def _read(self, entry: SymbolFile) -> tuple[np.ndarray, np.ndarray]:
        """Rows of ``entry.symbol`` in its file and the file line of each row."""
        f = entry.file
        key = (str(f.path), entry.symbol, f.fingerprint)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        try:
            with open_text(f.path) as fh:
                if f.kind == "tqsdk":
                    parsed = parse_tqsdk_csv(fh, str(f.path), entry.symbol)
                elif f.kind == "serial":
                    parsed = parse_tick_serial_csv(fh, str(f.path), default_symbol=f.file_symbol)
                else:
                    parsed = parse_plain_tick_csv(fh, str(f.path), default_symbol=f.file_symbol)
        except TickCsvError as exc:
            raise InvalidArgument(f"malformed tick CSV: {exc}") from None
        except (OSError, UnicodeDecodeError, EOFError) as exc:
            raise Unavailable(f"cannot read {f.path}: {exc}") from None
        with self._lock:
            for sym, batch in parsed.batches.items():
                if sym is not None:
                    self._cache[(str(f.path), sym, f.fingerprint)] = (batch, parsed.line_numbers(sym))
            self._trim_cache(keep=key)
        return parsed.ticks(entry.symbol), parsed.line_numbers(entry.symbol)

    def _trim_cache(self, keep: tuple[str, str, tuple[int, int]]) -> None:
        total = sum(len(v[0]) for v in self._cache.values())
        for k in list(self._cache):
            if total <= self._cache_rows:
                break
            if k == keep:
                continue
            total -= len(self._cache.pop(k)[0])

    def _load(self, symbol: str, lo_ns: int, hi_ns: int) -> tuple[np.ndarray, RowOrigins]:
        """Rows of ``symbol`` from every file that may hold ticks in ``[lo_ns, hi_ns)``, merged,
        with the file and line of each row."""
        parts: list[np.ndarray] = []
        lines: list[np.ndarray] = []
        sources: list[str] = []
        for entry in self._files_of(symbol):
            if entry.first_ns is not None and entry.last_ns is not None:
                if entry.last_ns < lo_ns or entry.first_ns >= hi_ns:
                    continue
            batch, line = self._read(entry)
            if len(batch):
                parts.append(batch)
                lines.append(line)
                sources.append(str(entry.file.path))
        if not parts:
            return empty_ticks(0), RowOrigins((), np.empty(0, np.int32), np.empty(0, np.int64))
        file_index = np.repeat(np.arange(len(parts), dtype=np.int32), [len(p) for p in parts])
        rows, line_all = np.concatenate(parts), np.concatenate(lines)
        if len(parts) > 1:
            keep = _merge_order(rows, file_index, sources, symbol)
            rows, file_index, line_all = rows[keep], file_index[keep], line_all[keep]
        return rows, RowOrigins(tuple(sources), file_index, line_all)

    def source_of(self, symbol: str) -> DataSource:
        """The files of ``symbol``: one file's path, size and mtime (several: paths joined by
        ``;``, total size, newest mtime), read from the disk now.

        Raises:
            InvalidArgument: a symbol absent from the directory, or unusable files in it.
        """
        paths = sorted({str(e.file.path) for e in self._files_of(symbol)})
        size = mtime = 0
        for path in paths:
            try:
                st = Path(path).stat()
            except OSError:
                return DataSource(self.name, ";".join(paths), -1, -1)  # gone: differs from any record
            size += st.st_size
            mtime = max(mtime, st.st_mtime_ns)
        return DataSource(self.name, ";".join(paths), size, mtime)

    # --- DataProvider ---------------------------------------------------------------------------
    def fetch_days(self, symbol: str, start_day: date, end_day: date) -> Iterator[DayTicks]:
        """One DayTicks per trading day in ``[start_day, end_day]`` (empty where no rows).

        Raises:
            InvalidArgument: ``start_day > end_day``, a symbol absent from the directory, or a
                malformed / contradictory CSV (the message names file, line and column).
            Unavailable: the directory or a file cannot be read.
        """
        if start_day > end_day:
            raise InvalidArgument(f"start_day {start_day} is after end_day {end_day}")
        self._files_of(symbol)  # raise for an unknown symbol now, not at the first next()
        days = self._calendar.trading_days(start_day, end_day)
        if not days:
            return iter(())
        return self._days(symbol, days)

    def _days(self, symbol: str, days: list[date]) -> Iterator[DayTicks]:
        lo = _evening_ns(self._calendar.previous_trading_day(days[0]))
        hi = _evening_ns(days[-1])
        rows, origins = self._load(symbol, lo, hi)
        ns = rows["datetime_ns"]
        keys = self._calendar.trading_days_of(ns).astype(np.int64) if len(rows) else np.empty(0, np.int64)
        wanted = np.array([np.datetime64(d, "D") for d in days]).astype(np.int64)
        starts = np.searchsorted(keys, wanted, side="left")
        stops = np.searchsorted(keys, wanted, side="right")
        for d, a, b in zip(days, starts, stops, strict=True):
            day_origins = RowOrigins(origins.files, origins.file_index[a:b].copy(), origins.line[a:b].copy())
            yield DayTicks(symbol, d, rows[a:b].copy(), day_origins)

    def catalog(self, variety_key_: str) -> list[ContractInfo]:
        """Dated contracts of ``variety_key_`` present in the directory (source ``"csv"``).

        First and last trading day are those of the first and last tick found in the files.
        """
        try:
            key = variety_key(variety_key_)
        except InvalidSymbolError as exc:
            raise InvalidArgument(f"{exc}; expected a variety key like 'SHFE.cu'") from None
        today = self._today() if self._today is not None else None
        out: list[ContractInfo] = []
        for symbol, files in sorted(self._files().items()):
            try:
                parsed = parse_symbol(symbol)
            except InvalidSymbolError:
                continue
            if not isinstance(parsed, ContractSymbol) or parsed.variety_key != key:
                continue
            firsts = [f.first_ns for f in files if f.first_ns is not None]
            lasts = [f.last_ns for f in files if f.last_ns is not None]
            first_day = self._calendar.trading_day_of(min(firsts)) if firsts else None
            last_day = self._calendar.trading_day_of(max(lasts)) if lasts else None
            expiry = self._expiry_day(parsed)
            if today is not None:
                expired = expiry < today
            else:
                expired = last_day is not None and last_day >= expiry
            try:
                spec = contract_spec(key)
                price_tick, multiplier = spec.price_tick, spec.multiplier
            except InvalidSymbolError:
                price_tick = multiplier = float("nan")
            out.append(
                ContractInfo(
                    symbol=symbol,
                    exchange=parsed.exchange,
                    variety=parsed.variety,
                    expired=expired,
                    first_trading_day=first_day,
                    last_trading_day=last_day,
                    price_tick=price_tick,
                    multiplier=multiplier,
                    source="csv",
                )
            )
        out.sort(key=lambda c: cast(ContractSymbol, parse_symbol(c.symbol)).expiry_month_index)
        return out

    def end_of_day_open_interest(
        self, variety_key_: str, start_day: date, end_day: date
    ) -> dict[date, dict[str, float]]:
        """OI of each contract's last tick per day in the files (a CSV has no OI without ticks)."""
        if start_day > end_day:
            raise InvalidArgument(f"start_day {start_day} is after end_day {end_day}")
        return eod_open_interest_from_ticks(self, variety_key_, start_day, end_day)

    def _expiry_day(self, c: ContractSymbol) -> date:
        """SHFE last trading day: the 15th of the delivery month, or the next trading day."""
        d = date(c.year, c.month, 15)
        while not self._calendar.is_trading_day(d):
            d += timedelta(days=1)
        return d


def _merge_order(rows: np.ndarray, origin: np.ndarray, sources: list[str], symbol: str) -> np.ndarray:
    """Indices that put the rows of several files in time order, identical repeats dropped;
    conflicting repeats (same time, different values) are rejected."""
    order = np.argsort(rows["datetime_ns"], kind="stable")
    ns = rows["datetime_ns"][order]
    dup = np.flatnonzero(ns[1:] == ns[:-1]) + 1
    if dup.size == 0:
        return order
    hashes = row_hash(rows[order])
    conflict = dup[hashes[dup] != hashes[dup - 1]]
    if conflict.size:
        i = int(conflict[0])
        raise InvalidArgument(
            f"conflicting ticks for {symbol!r} at datetime_ns {int(ns[i])}: {sources[origin[order[i - 1]]]} and "
            f"{sources[origin[order[i]]]} hold different values for the same time; remove one of the files"
        )
    keep = np.ones(len(order), dtype=bool)
    keep[dup] = False
    return order[keep]
