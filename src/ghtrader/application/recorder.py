"""RecordTicks: store live ticks as they arrive, deduplicated, and keep the day index current."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from ghtrader.application.contract_windows import check_symbol
from ghtrader.application.errors import InvalidArgument
from ghtrader.application.manifests import compute_manifests
from ghtrader.application.ports.clock import Clock
from ghtrader.application.ports.providers import CalendarSource, LiveFeed
from ghtrader.application.ports.stores import IndexStore, TickBatch, TickStore
from ghtrader.application.progress import ProgressCallback, no_progress
from ghtrader.application.tick_preparation import add_counts, as_ticks
from ghtrader.domain.calendar import TradingCalendar
from ghtrader.domain.ticks import check_sanity, row_hash

RAW = "raw"
_RECENT_HASHES = 8192  # accepted row hashes kept per symbol to tell replays from out-of-order rows


@dataclass(frozen=True)
class RecordTicksRequest:
    """Record ``symbols`` until stopped.

    Buffered rows are flushed every ``flush_every_s`` seconds or ``flush_every_rows`` rows,
    when a symbol's trading day changes, and when ticks resume after a pause of at least
    ``session_gap_s`` (a session break). ``max_runtime_s`` stops the run (None: run until
    ``should_stop``).
    """

    symbols: tuple[str, ...]
    flush_every_s: float = 5.0
    flush_every_rows: int = 20_000
    session_gap_s: float = 600.0
    max_runtime_s: float | None = None


@dataclass
class RecordTicksResult:
    symbols: tuple[str, ...]
    rows_received: int
    rows_written: int
    duplicates_dropped: int  # exact repeats of rows already accepted
    stale_dropped: int  # rows at or before the last accepted time with other content
    rejected_rows: dict[str, int]
    rejected_total: int
    flushes: int
    days_touched: list[tuple[str, date]]
    duration_s: float


@dataclass
class _SymbolState:
    last_ns: int = np.iinfo(np.int64).min
    recent_hashes: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    pieces: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)
    buffered_rows: int = 0
    buffered_day: np.datetime64 | None = None
    last_buffered_ns: int | None = None


class RecordTicks:
    """Drive a LiveFeed into the raw tick lake.

    Per symbol a row is accepted only when its ``datetime_ns`` is after the last accepted one
    (replays of rows already stored are dropped; the first row at a given time wins); insane
    rows are rejected with reasons. After every flush the manifest of each (symbol, trading
    day) written is recomputed from the stored rows of that day, so the index always describes
    the store.
    """

    def __init__(
        self,
        *,
        feed: LiveFeed,
        ticks: TickStore,
        index: IndexStore,
        calendar: CalendarSource,
        clock: Clock,
    ) -> None:
        self._feed = feed
        self._ticks = ticks
        self._index = index
        self._calendar = calendar
        self._clock = clock

    def __call__(
        self,
        request: RecordTicksRequest,
        should_stop: Callable[[], bool] | None = None,
        progress: ProgressCallback = no_progress,
    ) -> RecordTicksResult:
        """Record until ``should_stop()`` or ``max_runtime_s``; ``progress(rows_written, 0, msg)``
        after each flush (total 0: open-ended)."""
        symbols = tuple(dict.fromkeys(check_symbol(s) for s in request.symbols))
        if not symbols:
            raise InvalidArgument("no symbols to record: pass at least one, e.g. SHFE.cu2602")
        if request.flush_every_rows < 1 or request.flush_every_s <= 0:
            raise InvalidArgument("flush_every_rows must be >= 1 and flush_every_s > 0")
        run = _Recording(self, request, symbols, self._calendar.load(), progress)
        user_stop = should_stop or (lambda: False)
        started = self._clock.monotonic_s()

        def stop() -> bool:
            now = self._clock.monotonic_s()
            if request.max_runtime_s is not None and now - started >= request.max_runtime_s:
                return True
            if run.buffered_rows() and now - run.last_flush_s >= request.flush_every_s:
                run.flush()
            return bool(user_stop())

        try:
            self._feed.run(symbols, run.on_ticks, stop)
        finally:
            run.flush()
        return RecordTicksResult(
            symbols=symbols,
            rows_received=run.received,
            rows_written=run.written,
            duplicates_dropped=run.duplicates,
            stale_dropped=run.stale,
            rejected_rows=dict(sorted(run.rejected.items())),
            rejected_total=run.rejected_total,
            flushes=run.flushes,
            days_touched=sorted(run.touched),
            duration_s=self._clock.monotonic_s() - started,
        )


class _Recording:
    """Mutable state of one RecordTicks run (the feed calls ``on_ticks`` from one thread)."""

    def __init__(
        self,
        owner: RecordTicks,
        request: RecordTicksRequest,
        symbols: Sequence[str],
        cal: TradingCalendar,
        progress: ProgressCallback,
    ) -> None:
        self._o = owner
        self._req = request
        self._cal = cal
        self._progress = progress
        self._gap_ns = int(request.session_gap_s * 1e9)
        self.state = {s: self._seed(s) for s in symbols}
        self.received = self.written = self.duplicates = self.stale = 0
        self.rejected: dict[str, int] = {}
        self.rejected_total = 0
        self.flushes = 0
        self.touched: set[tuple[str, date]] = set()
        self._no_data_cleared: set[tuple[str, date]] = set()
        self.last_flush_s = owner._clock.monotonic_s()

    def _seed(self, symbol: str) -> _SymbolState:
        """Start after the last indexed row so a feed replaying recent ticks rewrites nothing."""
        today = self._cal.trading_day_of(self._o._clock.now_ns())
        recent = self._o._index.manifests(symbol, RAW, self._cal.previous_trading_day(today), None)
        state = _SymbolState()
        if recent:
            last = max(recent, key=lambda m: m.last_datetime_ns)
            state.last_ns = last.last_datetime_ns
            tail = self._o._ticks.read_ticks(symbol, RAW, last.trading_day, last.trading_day)
            state.recent_hashes = np.asarray(tail.row_hash[-_RECENT_HASHES:], dtype=np.int64)
        return state

    def buffered_rows(self) -> int:
        return sum(s.buffered_rows for s in self.state.values())

    def on_ticks(self, symbol: str, arr: np.ndarray) -> None:
        st = self.state.get(symbol)
        if st is None:
            return  # not subscribed by this run
        arr = as_ticks(arr, "live feed")
        n = int(arr.shape[0])
        if n == 0:
            return
        self.received += n
        arr = arr[np.argsort(arr["datetime_ns"], kind="stable")]
        hashes = row_hash(arr)
        dt = arr["datetime_ns"]
        # First row per datetime_ns after the last accepted time; the rest are replays/conflicts.
        first_of_time = np.ones(n, dtype=bool)
        first_of_time[1:] = dt[1:] != dt[:-1]
        fresh = (dt > st.last_ns) & first_of_time
        dropped = ~fresh
        if dropped.any():
            seen = np.concatenate([st.recent_hashes, hashes[fresh]])
            dup = dropped & np.isin(hashes, seen)
            n_dup = int(np.count_nonzero(dup))
            self.duplicates += n_dup
            self.stale += int(np.count_nonzero(dropped)) - n_dup
            arr, hashes = arr[fresh], hashes[fresh]
        if arr.shape[0] == 0:
            return
        report = check_sanity(arr)
        if report.n_bad:
            add_counts(self.rejected, report.counts())
            self.rejected_total += report.n_bad
            keep = ~report.bad_mask
            arr, hashes = arr[keep], hashes[keep]
            if arr.shape[0] == 0:
                return
        dt = arr["datetime_ns"]
        st.last_ns = int(dt[-1])
        st.recent_hashes = np.concatenate([st.recent_hashes, hashes])[-_RECENT_HASHES:]
        days = self._cal.trading_days_of(dt)
        if st.last_buffered_ns is not None and int(dt[0]) - st.last_buffered_ns >= self._gap_ns:
            self.flush()  # ticks resume after a session break: persist the finished session
        bounds = np.flatnonzero(days[1:] != days[:-1]) + 1
        for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, arr.shape[0]], strict=False):
            if st.buffered_day is not None and st.buffered_day != days[lo]:
                self.flush()  # trading-day boundary
            st.pieces.append((arr[lo:hi], days[lo:hi], hashes[lo:hi]))
            st.buffered_rows += int(hi - lo)
            st.buffered_day = days[lo]
        st.last_buffered_ns = int(dt[-1])
        now = self._o._clock.monotonic_s()
        if self.buffered_rows() >= self._req.flush_every_rows or now - self.last_flush_s >= self._req.flush_every_s:
            self.flush()

    def flush(self) -> None:
        """Write every buffer, then recompute the manifests of the days written."""
        written_days: list[tuple[str, date]] = []
        for symbol, st in self.state.items():
            if not st.pieces:
                continue
            ticks = np.concatenate([p[0] for p in st.pieces])
            days = np.concatenate([p[1] for p in st.pieces])
            hashes = np.concatenate([p[2] for p in st.pieces])
            self._o._ticks.write_ticks(TickBatch(symbol, RAW, ticks, days, hashes))
            self.written += int(ticks.shape[0])
            st.pieces.clear()
            st.buffered_rows = 0
            st.buffered_day = None
            written_days += [(symbol, d.item()) for d in np.unique(days)]
        self.last_flush_s = self._o._clock.monotonic_s()
        if not written_days:
            return
        now_ns = self._o._clock.now_ns()
        for symbol, day in written_days:
            stored = self._o._ticks.read_ticks(symbol, RAW, day, day)
            manifests = compute_manifests(symbol, RAW, stored.trading_day, stored.row_hash, stored.ticks, now_ns)
            self._o._index.upsert_manifests(manifests)
            if (symbol, day) not in self._no_data_cleared:
                self._o._index.clear_no_data(symbol, RAW, [day])
                self._no_data_cleared.add((symbol, day))
            self.touched.add((symbol, day))
        self.flushes += 1
        self._progress(self.written, 0, f"flush {self.flushes}: {self.written} rows written in total")
