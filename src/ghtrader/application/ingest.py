"""Ingest use cases: download ticks of a symbol, of a contract range, and forward-fill a variety.

Write order per trading day is ticks FIRST, manifest LAST: the day manifest in the index is
the commit marker. A process killed between the two leaves a day without a manifest, which
the next run simply downloads again (the tick upsert by row identity makes that harmless).

A day the provider had no ticks for is recorded in the no-data ledger with where that answer
came from (provider, request, and for a file-based provider the file's path, size and mtime).
Such a day is skipped by later runs only while its source is unchanged: a changed file or a
different provider makes the day due again.

Rows dropped by the sanity rules are counted per reason, and the first
:data:`MAX_LISTED_REJECTIONS` are listed one by one (file:line for a file-based provider) in the
result and its JSON report.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date

from ghtrader.application.contract_windows import (
    CatalogContract,
    check_symbol,
    check_variety,
    contracts_between,
    last_completed_trading_day,
    life_window,
    load_catalog,
    shift_trading_days,
)
from ghtrader.application.errors import InvalidArgument
from ghtrader.application.free_space import FreeSpaceGuard
from ghtrader.application.manifests import compute_manifests
from ghtrader.application.ports.clock import Clock
from ghtrader.application.ports.providers import (
    CalendarSource,
    DataProvider,
    DataSource,
    DayTicks,
    DescribesSource,
)
from ghtrader.application.ports.reports import ReportSink
from ghtrader.application.ports.stores import (
    DayManifest,
    IndexStore,
    NoDataDay,
    TickBatch,
    TickStore,
)
from ghtrader.application.progress import ProgressCallback, no_progress
from ghtrader.application.reporting import make_run_id, to_jsonable
from ghtrader.application.tick_preparation import (
    REASON_OUTSIDE_REQUEST,
    PreparedTicks,
    add_counts,
    as_ticks,
    prepare_ticks,
)
from ghtrader.domain.calendar import TradingCalendar
from ghtrader.domain.errors import InvalidSymbolError
from ghtrader.domain.instruments import parse_contract

RAW = "raw"
NO_TICKS_REASON = "provider returned no ticks"
#: Rejected rows listed one by one per result (the per-reason counts always cover all of them).
MAX_LISTED_REJECTIONS = 1000


@dataclass(frozen=True)
class RejectedRow:
    """A provider row that was not stored, where it came from and why."""

    symbol: str
    trading_day: date
    datetime_ns: int
    where: str  # "<file>:<line>" for a file-based provider, else "<provider> day <day> row <i>"
    reason: str


def source_of(provider: DataProvider, symbol: str) -> DataSource:
    """What ``provider`` reads ``symbol`` from (just its name unless it describes files)."""
    if isinstance(provider, DescribesSource):
        return provider.source_of(symbol)
    return DataSource(provider.name)


# --- DownloadTicks ------------------------------------------------------------------------------
@dataclass(frozen=True)
class DownloadTicksRequest:
    """Download ``symbol`` for the trading days in ``[start_day, end_day]``.

    Days already indexed or recorded as no-data are skipped unless ``force``; days after the
    last completed trading day (per the Clock) are never requested.
    """

    symbol: str
    start_day: date
    end_day: date
    chunk_days: int = 5
    force: bool = False


@dataclass
class DownloadTicksResult:
    symbol: str
    start_day: date
    end_day: date
    requested: int  # trading days in range up to the last completed trading day
    present_before: int
    no_data_before: int
    downloaded: int  # days whose ticks were written by this run
    no_data: int  # days newly recorded as no-data by this run
    missing: int  # requested - present - no_data, after the run
    missing_days: list[date]
    rows_written: int
    rejected_rows: dict[str, int]
    rejected_total: int
    not_yet_complete: int  # trading days in range after the last completed one (not requested)
    duration_s: float
    run_id: str = ""
    report_path: str | None = None
    rechecked: int = 0  # no-data days downloaded again because their source changed
    rejected_listed: list[RejectedRow] = field(default_factory=list)  # the first MAX_LISTED_REJECTIONS
    rejected_unlisted: int = 0  # rejected rows beyond the listed ones


def _runs_of(expected: Sequence[date], wanted: Sequence[date], chunk_days: int) -> list[list[date]]:
    """``wanted`` split into chunks of consecutive trading days (by position in ``expected``),
    each at most ``chunk_days`` long, so ``fetch_days(first, last)`` covers only wanted days."""
    pos = {d: i for i, d in enumerate(expected)}
    chunks: list[list[date]] = []
    current: list[date] = []
    for d in wanted:
        if current and (pos[d] != pos[current[-1]] + 1 or len(current) >= chunk_days):
            chunks.append(current)
            current = []
        current.append(d)
    if current:
        chunks.append(current)
    return chunks


@dataclass
class _RunState:
    present: dict[date, DayManifest]
    no_data: set[date]
    source: DataSource
    stale: set[date] = field(default_factory=set)  # no-data days whose recorded source changed
    downloaded: int = 0
    no_data_recorded: int = 0
    rows_written: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    rejected_total: int = 0
    rechecked: int = 0
    listed: list[RejectedRow] = field(default_factory=list)
    unlisted: int = 0

    def list_rejections(self, symbol: str, day_ticks: DayTicks, prepared: PreparedTicks, provider: str) -> None:
        room = MAX_LISTED_REJECTIONS - len(self.listed)
        n = int(prepared.rejected_index.shape[0])
        self.unlisted += max(0, n - room)
        ns = day_ticks.ticks["datetime_ns"]
        origins = day_ticks.origins
        for k in range(min(n, max(room, 0))):
            i = int(prepared.rejected_index[k])
            where = origins.where(i) if origins is not None else f"{provider} day {day_ticks.trading_day} row {i}"
            self.listed.append(
                RejectedRow(symbol, day_ticks.trading_day, int(ns[i]), where, prepared.rejection_reason(k))
            )


class DownloadTicks:
    """Download one symbol's ticks into the raw lake and index them day by day."""

    def __init__(
        self,
        *,
        provider: DataProvider,
        ticks: TickStore,
        index: IndexStore,
        calendar: CalendarSource,
        clock: Clock,
        reports: ReportSink | None = None,
        free_space: FreeSpaceGuard | None = None,
    ) -> None:
        self._provider = provider
        self._ticks = ticks
        self._index = index
        self._calendar = calendar
        self._clock = clock
        self._reports = reports
        self._free_space = free_space

    def __call__(
        self,
        request: DownloadTicksRequest,
        progress: ProgressCallback = no_progress,
        *,
        write_report: bool = True,
    ) -> DownloadTicksResult:
        symbol = check_symbol(request.symbol)
        if request.start_day > request.end_day:
            raise InvalidArgument(f"start_day {request.start_day} is after end_day {request.end_day}: swap them")
        if request.chunk_days < 1:
            raise InvalidArgument(f"chunk_days must be >= 1, got {request.chunk_days}")
        started = self._clock.monotonic_s()
        now_ns = self._clock.now_ns()
        cal = self._calendar.load()
        last_done = last_completed_trading_day(cal, now_ns)
        in_range = cal.trading_days(request.start_day, request.end_day)
        expected = [d for d in in_range if d <= last_done]
        state = self._load_state(symbol, request.start_day, request.end_day)
        present_before = sum(1 for d in expected if d in state.present)
        no_data_before = sum(1 for d in expected if d in state.no_data)
        if request.force:
            wanted = list(expected)
        else:
            wanted = [d for d in expected if d not in state.present and (d not in state.no_data or d in state.stale)]

        if wanted and self._free_space is not None:
            self._free_space.check(f"a download of {len(wanted)} trading days of {symbol}")
        total = len(expected)
        done = total - len(wanted)
        progress(done, total, f"{symbol}: {done} of {total} trading days already covered")
        for chunk in _runs_of(expected, wanted, request.chunk_days):
            for day, message in self._download_chunk(symbol, chunk, cal, state, now_ns, request.force):
                done += 1
                progress(done, total, f"{symbol} {day}: {message}")

        present = {m.trading_day for m in self._index.manifests(symbol, RAW, request.start_day, request.end_day)}
        no_data = {n.trading_day for n in self._index.no_data_days(symbol, RAW, request.start_day, request.end_day)}
        missing_days = [d for d in expected if d not in present and d not in no_data]
        result = DownloadTicksResult(
            symbol=symbol,
            start_day=request.start_day,
            end_day=request.end_day,
            requested=total,
            present_before=present_before,
            no_data_before=no_data_before,
            downloaded=state.downloaded,
            no_data=state.no_data_recorded,
            missing=len(missing_days),
            missing_days=missing_days,
            rows_written=state.rows_written,
            rejected_rows=dict(sorted(state.rejected.items())),
            rejected_total=state.rejected_total,
            not_yet_complete=len(in_range) - total,
            duration_s=self._clock.monotonic_s() - started,
            run_id=make_run_id(now_ns, symbol),
            rechecked=state.rechecked,
            rejected_listed=state.listed,
            rejected_unlisted=state.unlisted,
        )
        if write_report and self._reports is not None:
            payload = {"use_case": "download", "provider": self._provider.name, "request": to_jsonable(request)}
            payload["result"] = to_jsonable(result)
            result.report_path = self._reports.write_json("ingest", result.run_id, payload)
        progress(total, total, f"{symbol}: done, {result.downloaded} days downloaded, {result.missing} missing")
        return result

    def _load_state(self, symbol: str, start: date, end: date) -> _RunState:
        present = {m.trading_day: m for m in self._index.manifests(symbol, RAW, start, end)}
        entries = self._index.no_data_days(symbol, RAW, start, end)
        source = source_of(self._provider, symbol)
        stale = {n.trading_day for n in entries if n.source_changed(source)}
        return _RunState(present=present, no_data={n.trading_day for n in entries}, source=source, stale=stale)

    def _download_chunk(
        self,
        symbol: str,
        chunk: list[date],
        cal: TradingCalendar,
        state: _RunState,
        now_ns: int,
        force: bool,
    ) -> Iterator[tuple[date, str]]:
        pending = set(chunk)
        source = f"provider {self._provider.name!r}"
        asked = f"fetch_days({symbol}, {chunk[0]}, {chunk[-1]})"
        for day_ticks in self._provider.fetch_days(symbol, chunk[0], chunk[-1]):
            day = day_ticks.trading_day
            if day_ticks.symbol != symbol or day not in pending:
                n = int(as_ticks(day_ticks.ticks, source).shape[0])
                if n:
                    state.rejected[REASON_OUTSIDE_REQUEST] = state.rejected.get(REASON_OUTSIDE_REQUEST, 0) + n
                    state.rejected_total += n
                continue
            pending.discard(day)
            yield day, self._store_day(symbol, day_ticks, cal, state, now_ns, force, source, asked)
        # A provider that yields nothing for a day (or a whole chunk) has no data for it.
        for day in sorted(pending):
            yield day, self._mark_no_data(symbol, day, NO_TICKS_REASON, state, now_ns, asked)

    def _store_day(
        self,
        symbol: str,
        day_ticks: DayTicks,
        cal: TradingCalendar,
        state: _RunState,
        now_ns: int,
        force: bool,
        source: str,
        asked: str,
    ) -> str:
        day = day_ticks.trading_day
        prepared = prepare_ticks(day_ticks.ticks, cal, expected_day=day, source=source)
        add_counts(state.rejected, prepared.rejected)
        state.rejected_total += prepared.rejected_total
        if prepared.rejected_total:
            state.list_rejections(symbol, day_ticks, prepared, self._provider.name)
        if len(prepared) == 0:
            if prepared.rejected_total:
                reasons = ", ".join(f"{k}: {v}" for k, v in sorted(prepared.rejected.items()))
                reason = f"all {prepared.rejected_total} provider rows rejected ({reasons})"
            else:
                reason = NO_TICKS_REASON
            return self._mark_no_data(symbol, day, reason, state, now_ns, asked)

        batch = TickBatch(symbol, RAW, prepared.ticks, prepared.trading_day, prepared.row_hash)
        (manifest,) = compute_manifests(symbol, RAW, prepared.trading_day, prepared.row_hash, prepared.ticks, now_ns)
        old = state.present.get(day)
        if old is not None and not old.same_content(manifest):
            # Forced re-download with different content: drop the commit marker first, then the
            # old rows, so no stale row survives and a crash leaves a day that is re-downloaded.
            self._index.delete_manifests(symbol, RAW, [day])
            self._ticks.delete_days(symbol, RAW, [day])
        self._ticks.write_ticks(batch)
        self._index.upsert_manifests([manifest])
        if day in state.no_data:
            self._index.clear_no_data(symbol, RAW, [day])
            state.no_data.discard(day)
            if day in state.stale:
                state.stale.discard(day)
                state.rechecked += 1
        state.present[day] = manifest
        state.downloaded += 1
        state.rows_written += len(batch)
        note = f", {prepared.rejected_total} rejected" if prepared.rejected_total else ""
        return f"{len(batch)} rows written{note}"

    def _mark_no_data(self, symbol: str, day: date, reason: str, state: _RunState, now_ns: int, asked: str) -> str:
        if day in state.present:
            return "no ticks from the provider; the stored day is kept"
        if day in state.stale:
            # The ledger keeps an entry's first record: replace the one from the old source.
            self._index.clear_no_data(symbol, RAW, [day])
            state.stale.discard(day)
            state.rechecked += 1
        elif day not in state.no_data:
            state.no_data_recorded += 1
        src = state.source
        entry = NoDataDay(
            symbol,
            day,
            RAW,
            reason,
            now_ns,
            provider=src.provider,
            request=asked,
            source_path=src.path,
            source_size=src.size,
            source_mtime_ns=src.mtime_ns,
        )
        self._index.record_no_data([entry])
        state.no_data.add(day)
        return f"no data ({reason})"


# --- shared by the multi-contract use cases ----------------------------------------------------
@dataclass(frozen=True)
class SkippedContract:
    symbol: str
    reason: str


@dataclass
class MultiDownloadResult:
    """Outcome of downloading several contracts (one DownloadTicksResult each)."""

    variety_key: str
    contracts: list[DownloadTicksResult]
    skipped: list[SkippedContract]
    downloaded: int
    no_data: int
    missing: int
    rows_written: int
    rejected_rows: dict[str, int]
    duration_s: float
    run_id: str = ""
    report_path: str | None = None
    # Why the run had nothing to do because the symbols asked for are unknown to the provider
    # (a wrong variety or contract range, an empty CSV directory ...); "" when it ran. Callers
    # must treat a non-empty value as a failure.
    unknown_symbols: str = ""


@dataclass(frozen=True)
class DownloadPlan:
    symbol: str
    start_day: date
    end_day: date
    days: int


def run_download_plans(
    download: DownloadTicks,
    plans: Sequence[DownloadPlan],
    *,
    chunk_days: int,
    force: bool,
    progress: ProgressCallback,
) -> list[DownloadTicksResult]:
    """Run one DownloadTicks per plan, reporting progress over all planned trading days."""
    total = sum(p.days for p in plans)
    offset = 0
    results: list[DownloadTicksResult] = []
    for plan in plans:

        def inner(done: int, _total: int, message: str, _offset: int = offset) -> None:
            progress(min(_offset + done, total), total, message)

        request = DownloadTicksRequest(plan.symbol, plan.start_day, plan.end_day, chunk_days, force)
        results.append(download(request, inner, write_report=False))
        offset += plan.days
    progress(total, total, f"done: {len(plans)} contracts")
    return results


def summarize(
    variety: str,
    results: list[DownloadTicksResult],
    skipped: list[SkippedContract],
    duration_s: float,
    run_id: str,
) -> MultiDownloadResult:
    rejected: dict[str, int] = {}
    for r in results:
        add_counts(rejected, r.rejected_rows)
    return MultiDownloadResult(
        variety_key=variety,
        contracts=results,
        skipped=skipped,
        downloaded=sum(r.downloaded for r in results),
        no_data=sum(r.no_data for r in results),
        missing=sum(r.missing for r in results),
        rows_written=sum(r.rows_written for r in results),
        rejected_rows=dict(sorted(rejected.items())),
        duration_s=duration_s,
        run_id=run_id,
    )


def write_multi_report(
    reports: ReportSink | None, kind: str, use_case: str, request: object, result: MultiDownloadResult
) -> None:
    if reports is None:
        return
    payload = {"use_case": use_case, "request": to_jsonable(request), "result": to_jsonable(result)}
    result.report_path = reports.write_json(kind, result.run_id, payload)


# --- DownloadContractRange ----------------------------------------------------------------------
@dataclass(frozen=True)
class DownloadContractRangeRequest:
    """Download every catalog contract from ``first_contract`` to ``last_contract`` (by expiry)
    over its life window, optionally clipped to ``[start_day, end_day]``."""

    variety_key: str
    first_contract: str
    last_contract: str
    start_day: date | None = None
    end_day: date | None = None
    chunk_days: int = 5
    force: bool = False


class DownloadContractRange:
    def __init__(
        self,
        *,
        download: DownloadTicks,
        provider: DataProvider,
        calendar: CalendarSource,
        clock: Clock,
        reports: ReportSink | None = None,
    ) -> None:
        self._download = download
        self._provider = provider
        self._calendar = calendar
        self._clock = clock
        self._reports = reports

    def __call__(
        self, request: DownloadContractRangeRequest, progress: ProgressCallback = no_progress
    ) -> MultiDownloadResult:
        variety = check_variety(request.variety_key)
        first, last = _contract_bounds(variety, request.first_contract, request.last_contract)
        started = self._clock.monotonic_s()
        now_ns = self._clock.now_ns()
        cal = self._calendar.load()
        today = last_completed_trading_day(cal, now_ns)
        catalog = load_catalog(self._provider, variety)
        selected = contracts_between(catalog, first, last)
        skipped = [
            SkippedContract(sym, f"not in the {self._provider.name} catalog of {variety}")
            for sym in _symbols_between(variety, first, last)
            if sym not in {c.symbol for c in selected}
        ]
        plans, more_skipped = _plans_for(selected, cal, today, request.start_day, request.end_day)
        skipped += more_skipped
        results = run_download_plans(
            self._download, plans, chunk_days=request.chunk_days, force=request.force, progress=progress
        )
        result = summarize(
            variety,
            results,
            skipped,
            self._clock.monotonic_s() - started,
            make_run_id(now_ns, f"{first}-{last}"),
        )
        if not selected:
            result.unknown_symbols = (
                f"none of the contracts {first}..{last} is in the {self._provider.name} catalog of {variety} "
                f"({_catalog_span(catalog)}): check the variety and contract range, or the provider's data"
            )
        write_multi_report(self._reports, "ingest", "download-contract-range", request, result)
        return result


def _catalog_span(catalog: Sequence[CatalogContract]) -> str:
    if not catalog:
        return "it lists no contracts"
    return f"it lists {len(catalog)} contracts, {catalog[0].symbol}..{catalog[-1].symbol}"


def _contract_bounds(variety: str, first: str, last: str) -> tuple[str, str]:
    try:
        lo, hi = parse_contract(first), parse_contract(last)
    except InvalidSymbolError as exc:
        raise InvalidArgument(str(exc)) from None
    for c in (lo, hi):
        if c.variety_key != variety:
            raise InvalidArgument(f"contract {c.symbol} is not of variety {variety}")
    if lo.expiry_month_index > hi.expiry_month_index:
        raise InvalidArgument(f"first contract {lo.symbol} expires after last contract {hi.symbol}: swap them")
    return lo.symbol, hi.symbol


def _symbols_between(variety: str, first: str, last: str) -> list[str]:
    lo, hi = parse_contract(first), parse_contract(last)
    exchange, name = variety.split(".")
    out = []
    for idx in range(lo.expiry_month_index, hi.expiry_month_index + 1):
        out.append(f"{exchange}.{name}{(idx // 12) % 100:02d}{idx % 12 + 1:02d}")
    return out


def _plans_for(
    contracts: Sequence[CatalogContract],
    cal: TradingCalendar,
    today: date,
    start: date | None,
    end: date | None,
) -> tuple[list[DownloadPlan], list[SkippedContract]]:
    plans: list[DownloadPlan] = []
    skipped: list[SkippedContract] = []
    for c in contracts:
        if c.info.first_trading_day is None and start is None:
            skipped.append(SkippedContract(c.symbol, "the catalog has no first trading day; pass a start day"))
            continue
        window = life_window(c.info, cal, today, start, end)
        if window is None:
            skipped.append(SkippedContract(c.symbol, f"no completed trading day in its life window (today {today})"))
            continue
        plans.append(DownloadPlan(c.symbol, window[0], window[1], len(cal.trading_days(*window))))
    return plans, skipped


# --- UpdateContracts ----------------------------------------------------------------------------
@dataclass(frozen=True)
class UpdateContractsRequest:
    """Forward-fill active contracts and those expired within ``recent_expiry_days`` trading days,
    from the day after their last covered (present or no-data) day to the last completed day."""

    variety_key: str
    recent_expiry_days: int = 10
    chunk_days: int = 5


class UpdateContracts:
    def __init__(
        self,
        *,
        download: DownloadTicks,
        provider: DataProvider,
        index: IndexStore,
        calendar: CalendarSource,
        clock: Clock,
        reports: ReportSink | None = None,
    ) -> None:
        self._download = download
        self._provider = provider
        self._index = index
        self._calendar = calendar
        self._clock = clock
        self._reports = reports

    def __call__(
        self, request: UpdateContractsRequest, progress: ProgressCallback = no_progress
    ) -> MultiDownloadResult:
        variety = check_variety(request.variety_key)
        if request.recent_expiry_days < 0:
            raise InvalidArgument(f"recent_expiry_days must be >= 0, got {request.recent_expiry_days}")
        started = self._clock.monotonic_s()
        now_ns = self._clock.now_ns()
        cal = self._calendar.load()
        today = last_completed_trading_day(cal, now_ns)
        expiry_cutoff = shift_trading_days(cal, today, request.recent_expiry_days)
        plans: list[DownloadPlan] = []
        skipped: list[SkippedContract] = []
        catalog = load_catalog(self._provider, variety)
        for c in catalog:
            last_day = c.info.last_trading_day
            if c.info.expired and (last_day is None or last_day < expiry_cutoff):
                continue  # long expired: FillMissing's business, not a forward fill
            covered, first_stale = self._coverage(c.symbol, source_of(self._provider, c.symbol))
            if covered is not None:
                start = cal.next_trading_day(covered)
                if first_stale is not None:
                    start = min(start, first_stale)  # re-check no-data days whose source changed
            elif c.info.first_trading_day is not None:
                start = c.info.first_trading_day
            else:
                skipped.append(SkippedContract(c.symbol, "nothing stored and no first trading day in the catalog"))
                continue
            end = today if last_day is None else min(last_day, today)
            days = cal.trading_days(start, end)
            if days:
                plans.append(DownloadPlan(c.symbol, days[0], days[-1], len(days)))
        results = run_download_plans(
            self._download, plans, chunk_days=request.chunk_days, force=False, progress=progress
        )
        result = summarize(
            variety, results, skipped, self._clock.monotonic_s() - started, make_run_id(now_ns, f"update_{variety}")
        )
        if not catalog:
            result.unknown_symbols = (
                f"the {self._provider.name} catalog has no contracts of {variety}: nothing to update; "
                "check the variety, or the provider's data"
            )
        write_multi_report(self._reports, "ingest", "update", request, result)
        return result

    def _coverage(self, symbol: str, source: DataSource) -> tuple[date | None, date | None]:
        """Last day present or recorded as no-data from the current source, and the first
        no-data day recorded from another source (None when there is none)."""
        days = [m.trading_day for m in self._index.manifests(symbol, RAW)]
        stale: list[date] = []
        for n in self._index.no_data_days(symbol, RAW):
            (stale if n.source_changed(source) else days).append(n.trading_day)
        return (max(days) if days else None), (min(stale) if stale else None)
