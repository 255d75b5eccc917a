"""TqSdk historical ticks as a DataProvider: resumable DataDownloader chunks split per trading day."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ghtrader.adapters.tqsdk.catalog import TqSdkCatalog, listed_symbols
from ghtrader.adapters.tqsdk.chunks import Chunk, ChunkStore, plan_segments
from ghtrader.adapters.tqsdk.loader import import_tqsdk
from ghtrader.adapters.tqsdk.pre2020 import Pre2020Cache
from ghtrader.adapters.tqsdk.session import (
    TqSdkConfig,
    TqSdkSession,
    translate_tqsdk_error,
)
from ghtrader.application.errors import ApplicationError, InvalidArgument, Unavailable
from ghtrader.application.ports.clock import Clock
from ghtrader.application.ports.providers import (
    ContractInfo,
    DayTicks,
    eod_open_interest_from_ticks,
)
from ghtrader.domain.calendar import TradingCalendar
from ghtrader.domain.errors import DomainError, InvalidSymbolError
from ghtrader.domain.instruments import ContinuousSymbol, ContractSymbol, parse_symbol
from ghtrader.domain.tick_csv import parse_tqsdk_csv
from ghtrader.domain.ticks import empty_ticks

if TYPE_CHECKING:
    from tqsdk import TqApi

__all__ = ["TqSdkDataProvider", "split_by_trading_day"]

log = logging.getLogger(__name__)

SessionFactory = Callable[[], AbstractContextManager["TqApi"]]


def split_by_trading_day(ticks: np.ndarray, days: Sequence[date], calendar: TradingCalendar) -> dict[date, np.ndarray]:
    """Rows of ``ticks`` (time-sorted) per trading day in ``days``; every day gets an array
    (possibly empty). Rows whose trading day is not in ``days`` are dropped."""
    out = {d: empty_ticks(0) for d in days}
    if len(ticks) == 0:
        return out
    tdays = calendar.trading_days_of(ticks["datetime_ns"])
    wanted = np.array(list(days), dtype="datetime64[D]")
    # Sorted ticks have non-decreasing trading days, so each day is one contiguous slice.
    lo = np.searchsorted(tdays, wanted, side="left")
    hi = np.searchsorted(tdays, wanted, side="right")
    for d, a, b in zip(days, lo, hi, strict=True):
        out[d] = ticks[a:b].copy()
    dropped = len(ticks) - int((hi - lo).sum())
    if dropped:
        log.debug("dropped %d ticks whose trading day is outside the chunk", dropped)
    return out


class TqSdkDataProvider:
    """Historical L5 ticks from TqSdk (``tqsdk.tools.DataDownloader``, Pro accounts).

    Downloads run in chunks of at most ``chunk_days`` trading days, each written to
    ``<work_dir>/<symbol>/<first>_<last>.csv`` and marked done once complete and final (all its
    days before the current trading day), so a rerun only downloads what is missing. A TqSdk
    session is opened only when something has to be downloaded.

    Args:
        config: TqSdk account and URL overrides.
        calendar: the trading calendar (holidays) that splits ticks into trading days.
        work_dir: download directory, e.g. ``data/tqsdk_downloads``.
        clock: source of "now" (decides which chunks are final); system time when None.
        chunk_days: trading days per download chunk.
        stall_timeout_s: give up a chunk when its progress has not moved for this long.
        store_symbols: symbols of a variety present in the local store, for :meth:`catalog`.
        session_factory: override of ``lambda: TqSdkSession(config)`` (tests).
    """

    name = "tqsdk"

    def __init__(
        self,
        config: TqSdkConfig,
        calendar: TradingCalendar,
        work_dir: Path,
        *,
        clock: Clock | None = None,
        chunk_days: int = 5,
        stall_timeout_s: float = 120.0,
        store_symbols: Callable[[str], Sequence[str]] | None = None,
        session_factory: SessionFactory | None = None,
        pre2020: Pre2020Cache | None = None,
    ) -> None:
        if chunk_days < 1:
            raise InvalidArgument(f"chunk_days must be >= 1, got {chunk_days}")
        self._config = config
        self._calendar = calendar
        self._work_dir = Path(work_dir)
        self._clock = clock
        self._chunk_days = chunk_days
        self._stall_timeout_s = stall_timeout_s
        self._store_symbols = store_symbols
        self._session_factory: SessionFactory = session_factory or (lambda: TqSdkSession(config))
        self._pre2020 = pre2020 if pre2020 is not None else Pre2020Cache()
        self._catalog = TqSdkCatalog(self._session_factory, pre2020=self._pre2020, today=self._today)

    # --- DataProvider -------------------------------------------------------------------
    def fetch_days(self, symbol: str, start_day: date, end_day: date) -> Iterator[DayTicks]:
        """One DayTicks per trading day in ``[start_day, end_day]``, in order (see the class doc).

        Raises:
            InvalidArgument: malformed or unknown symbol, or ``start_day > end_day``.
            FailedPrecondition: credentials rejected or no download permission.
            Unavailable: TqSdk unreachable, a download stalled or returned a malformed file.
        """
        parsed = self._parse(symbol)
        if start_day > end_day:
            raise InvalidArgument(f"invalid date range {start_day}..{end_day}: start is after end")
        return self._fetch(symbol, parsed, start_day, end_day)

    def catalog(self, variety_key: str) -> list[ContractInfo]:
        """Contracts of ``variety_key`` from TqSdk, its pre-2020 cache and the store."""
        store = list(self._store_symbols(variety_key)) if self._store_symbols is not None else []
        return self._catalog.contracts(variety_key, store)

    def end_of_day_open_interest(
        self, variety_key: str, start_day: date, end_day: date
    ) -> dict[date, dict[str, float]]:
        """OI of each catalog contract's last tick per day, from the (cached) tick downloads.

        Minimal: a contract-day without ticks has no entry, and every contract-day of the range
        is downloaded; daily klines (``close_oi``) would be the cheaper source."""
        if start_day > end_day:
            raise InvalidArgument(f"invalid date range {start_day}..{end_day}: start is after end")
        return eod_open_interest_from_ticks(self, variety_key, start_day, end_day)

    # --- internals ----------------------------------------------------------------------
    def _today(self) -> date:
        now_ns = self._clock.now_ns() if self._clock is not None else time.time_ns()
        return self._calendar.trading_day_of(now_ns)

    @staticmethod
    def _parse(symbol: str) -> ContractSymbol | ContinuousSymbol:
        try:
            return parse_symbol(symbol)
        except InvalidSymbolError as exc:
            raise InvalidArgument(str(exc)) from None

    def _fetch(
        self, symbol: str, parsed: ContractSymbol | ContinuousSymbol, start_day: date, end_day: date
    ) -> Iterator[DayTicks]:
        days = self._calendar.trading_days(start_day, end_day)
        store = ChunkStore(self._work_dir, symbol)
        segments = plan_segments(days, store.done_chunks(), self._chunk_days)
        current_day = self._today()
        with ExitStack() as stack:
            api: TqApi | None = None
            for seg in segments:
                if seg.cached:
                    log.debug("%s: chunk %s already downloaded", symbol, seg.chunk.file_name)
                    ticks = self._read(store.csv_path(seg.chunk), symbol)
                else:
                    if api is None:
                        api = stack.enter_context(self._session_factory())
                        self._check_listed(api, symbol, parsed)
                    ticks = self._download(api, store, symbol, seg.chunk, final=seg.chunk.end < current_day)
                per_day = split_by_trading_day(ticks, seg.days, self._calendar)
                for d in seg.days:
                    yield DayTicks(symbol=symbol, trading_day=d, ticks=per_day[d])

    def _check_listed(self, api: TqApi, symbol: str, parsed: ContractSymbol | ContinuousSymbol) -> None:
        if symbol in self._pre2020:
            return
        try:
            listed = listed_symbols(api, parsed)
        except Exception as exc:
            what = f"looking up {symbol} in the TqSdk instrument service"
            raise translate_tqsdk_error(exc, what, self._config) from None
        if symbol not in listed:
            sample = ", ".join(sorted(listed)[-5:]) or "none"
            raise InvalidArgument(
                f"unknown symbol {symbol!r}: TqSdk lists no such instrument "
                f"(its {parsed.variety_key} instruments end with: {sample})"
            )

    def _download(self, api: TqApi, store: ChunkStore, symbol: str, chunk: Chunk, *, final: bool) -> np.ndarray:
        import_tqsdk()
        from tqsdk.tools import DataDownloader

        what = f"downloading {symbol} ticks for trading days {chunk.start}..{chunk.end}"
        part = store.prepare(chunk)
        log.info("%s (final=%s)", what, final)
        try:
            task = DataDownloader(api, symbol, 0, chunk.start, chunk.end, str(part))
            last_progress, last_move = -1.0, time.monotonic()
            while not task.is_finished():
                api.wait_update(deadline=time.time() + 0.2)
                progress = task.get_progress()
                if progress != last_progress:
                    last_progress, last_move = progress, time.monotonic()
                elif time.monotonic() - last_move > self._stall_timeout_s:
                    raise Unavailable(
                        f"{what}: no progress for {self._stall_timeout_s:.0f} s (at {progress:.1f}%); retry later"
                    )
        except ApplicationError:
            part.unlink(missing_ok=True)
            raise
        except Exception as exc:
            part.unlink(missing_ok=True)
            raise translate_tqsdk_error(exc, what, self._config) from None
        try:
            ticks = self._read(part, symbol)
        except ApplicationError:
            part.unlink(missing_ok=True)
            raise
        store.commit(chunk, rows=len(ticks), final=final)
        return ticks

    @staticmethod
    def _read(path: Path, symbol: str) -> np.ndarray:
        try:
            with open(path, encoding="utf-8", newline="") as f:
                return parse_tqsdk_csv(f, str(path), symbol).ticks(symbol)
        except DomainError as exc:
            raise Unavailable(f"TqSdk tick file is malformed: {exc}; delete the file and retry") from None
