"""Coverage use cases: verify what is stored, fill the gaps, rebuild the index, contract status.

Coverage is judged from the index (day manifests) and the no-data ledger: a trading day in a
contract's life window is *present* (indexed), *no-data* (the provider had nothing) or
*missing*. Only BootstrapIndex reads the tick table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from ghtrader.application.contract_windows import (
    CatalogContract,
    check_symbol,
    check_variety,
    is_dated_contract,
    last_completed_trading_day,
    life_window,
    load_catalog,
    shift_trading_days,
    symbol_variety,
)
from ghtrader.application.errors import FailedPrecondition, InvalidArgument
from ghtrader.application.ingest import (
    DownloadPlan,
    DownloadTicks,
    MultiDownloadResult,
    SkippedContract,
    run_download_plans,
    summarize,
)
from ghtrader.application.manifests import compute_manifests
from ghtrader.application.ports.clock import Clock
from ghtrader.application.ports.providers import CalendarSource, DataProvider
from ghtrader.application.ports.reports import ReportSink
from ghtrader.application.ports.stores import TICKS_LAKES, IndexStore, TickStore
from ghtrader.application.progress import ProgressCallback, no_progress
from ghtrader.application.reporting import make_run_id, to_jsonable
from ghtrader.domain.calendar import TradingCalendar

RAW = "raw"


@dataclass(frozen=True)
class ContractCoverage:
    """Coverage of one symbol over its expected window (trading days, inclusive)."""

    symbol: str
    window_start: date | None
    window_end: date | None
    expected: int
    present: int
    no_data: int
    missing: int
    missing_days: list[date]
    first_present: date | None
    last_present: date | None
    last_covered: date | None  # last present or no-data day
    note: str = ""


def _coverage(
    index: IndexStore,
    cal: TradingCalendar,
    symbol: str,
    window: tuple[date, date] | None,
    note: str = "",
    ticks_lake: str = RAW,
) -> ContractCoverage:
    present = sorted({m.trading_day for m in index.manifests(symbol, ticks_lake)})
    no_data = {n.trading_day for n in index.no_data_days(symbol, ticks_lake)}
    covered = set(present) | no_data
    if window is None:
        expected: list[date] = []
    else:
        expected = cal.trading_days(*window)
    present_set = set(present)
    missing = [d for d in expected if d not in covered]
    return ContractCoverage(
        symbol=symbol,
        window_start=window[0] if window else None,
        window_end=window[1] if window else None,
        expected=len(expected),
        present=sum(1 for d in expected if d in present_set),
        no_data=sum(1 for d in expected if d in no_data and d not in present_set),
        missing=len(missing),
        missing_days=missing,
        first_present=present[0] if present else None,
        last_present=present[-1] if present else None,
        last_covered=max(covered) if covered else None,
        note=note,
    )


def _window_between(cal: TradingCalendar, first: date | None, today: date) -> tuple[date, date] | None:
    """``[first, today]`` as trading days, None when empty."""
    if first is None:
        return None
    days = cal.trading_days(first, today)
    return (days[0], days[-1]) if days else None


def _is_indexed(index: IndexStore, symbol: str, indexed: set[str]) -> bool:
    return symbol in indexed or bool(index.no_data_days(symbol, RAW))


def _clip(window: tuple[date, date] | None, start: date | None, end: date | None) -> tuple[date, date] | None:
    if window is None:
        return None
    lo = max(window[0], start) if start else window[0]
    hi = min(window[1], end) if end else window[1]
    return (lo, hi) if lo <= hi else None


# --- VerifyCoverage -----------------------------------------------------------------------------
@dataclass(frozen=True)
class VerifyCoverageRequest:
    """Either explicit ``symbols`` or every catalog contract of ``variety_key``."""

    symbols: tuple[str, ...] = ()
    variety_key: str | None = None
    start_day: date | None = None  # clip each expected window to [start_day, end_day]
    end_day: date | None = None


@dataclass
class VerifyCoverageResult:
    contracts: list[ContractCoverage]
    unindexed: list[str]
    messages: list[str]
    today: date
    expected: int
    present: int
    no_data: int
    missing: int
    run_id: str = ""
    report_path: str | None = None

    @property
    def complete(self) -> bool:
        return self.missing == 0


class VerifyCoverage:
    """Expected trading days (catalog life window, clipped to the last completed trading day)
    against present and no-data days, per indexed contract."""

    def __init__(
        self,
        *,
        provider: DataProvider,
        index: IndexStore,
        calendar: CalendarSource,
        clock: Clock,
        reports: ReportSink | None = None,
    ) -> None:
        self._provider = provider
        self._index = index
        self._calendar = calendar
        self._clock = clock
        self._reports = reports

    def __call__(
        self,
        request: VerifyCoverageRequest,
        progress: ProgressCallback = no_progress,
        *,
        write_report: bool = True,
    ) -> VerifyCoverageResult:
        if bool(request.symbols) == (request.variety_key is not None):
            raise InvalidArgument("pass either symbols or a variety key (e.g. SHFE.cu), not both and not neither")
        now_ns = self._clock.now_ns()
        cal = self._calendar.load()
        today = last_completed_trading_day(cal, now_ns)
        catalogs: dict[str, dict[str, CatalogContract]] = {}

        def catalog_of(variety: str) -> dict[str, CatalogContract]:
            if variety not in catalogs:
                catalogs[variety] = {c.symbol: c for c in load_catalog(self._provider, variety)}
            return catalogs[variety]

        if request.variety_key is not None:
            variety = check_variety(request.variety_key)
            symbols = list(catalog_of(variety))
            label = variety
        else:
            symbols = list(dict.fromkeys(check_symbol(s) for s in request.symbols))
            label = symbols[0] if len(symbols) == 1 else f"{len(symbols)}_symbols"
        indexed = set(self._index.indexed_symbols(RAW))
        contracts: list[ContractCoverage] = []
        unindexed: list[str] = []
        messages: list[str] = []
        for i, symbol in enumerate(symbols):
            progress(i, len(symbols), f"verifying {symbol}")
            if not _is_indexed(self._index, symbol, indexed):
                unindexed.append(symbol)
                messages.append(f"{symbol}: not in the index, skipped (download it, or run `data bootstrap-index`)")
                continue
            symbol_var = symbol_variety(symbol)
            entry = catalog_of(symbol_var).get(symbol) if symbol_var else None
            window, note = self._window(symbol, entry, cal, today)
            window = _clip(window, request.start_day, request.end_day)
            if note:
                messages.append(f"{symbol}: {note}")
            contracts.append(_coverage(self._index, cal, symbol, window, note))
        progress(len(symbols), len(symbols), "verify done")
        result = VerifyCoverageResult(
            contracts=contracts,
            unindexed=unindexed,
            messages=messages,
            today=today,
            expected=sum(c.expected for c in contracts),
            present=sum(c.present for c in contracts),
            no_data=sum(c.no_data for c in contracts),
            missing=sum(c.missing for c in contracts),
            run_id=make_run_id(now_ns, f"verify_{label}"),
        )
        if write_report and self._reports is not None:
            payload = {"use_case": "verify", "request": to_jsonable(request), "result": to_jsonable(result)}
            result.report_path = self._reports.write_json("verify", result.run_id, payload)
        return result

    def _window(
        self, symbol: str, entry: CatalogContract | None, cal: TradingCalendar, today: date
    ) -> tuple[tuple[date, date] | None, str]:
        """The trading days ``symbol`` should have, and a note when the catalog cannot say."""
        if entry is not None and entry.info.first_trading_day is not None:
            return life_window(entry.info, cal, today), ""
        indexed = _coverage(self._index, cal, symbol, None)
        if not is_dated_contract(symbol):
            return _window_between(
                cal, indexed.first_present, today
            ), "continuous alias: checked from its first indexed day"
        if entry is not None and (entry.info.last_trading_day is not None or not entry.info.expired):
            last = today if entry.info.last_trading_day is None else min(entry.info.last_trading_day, today)
            note = "no first trading day in the catalog: checked from the first indexed day"
        else:
            last = indexed.last_covered or today
            note = "not in the catalog: only gaps between its first and last indexed day are checked"
        return _window_between(cal, indexed.first_present, last), note


# --- FillMissing --------------------------------------------------------------------------------
@dataclass(frozen=True)
class FillMissingRequest:
    """``normal``: download exactly the missing days of the variety's indexed contracts (needs a
    healthy index). ``init``: seed a variety by downloading every catalog contract over its life
    window. Both can be clipped to ``[start_day, end_day]``."""

    variety_key: str
    mode: Literal["normal", "init"] = "normal"
    start_day: date | None = None
    end_day: date | None = None
    chunk_days: int = 5


@dataclass
class FillMissingResult:
    mode: str
    days_requested: int
    unindexed: list[str]
    download: MultiDownloadResult


class FillMissing:
    def __init__(
        self,
        *,
        download: DownloadTicks,
        verify: VerifyCoverage,
        provider: DataProvider,
        ticks: TickStore,
        index: IndexStore,
        calendar: CalendarSource,
        clock: Clock,
        reports: ReportSink | None = None,
    ) -> None:
        self._download = download
        self._verify = verify
        self._provider = provider
        self._ticks = ticks
        self._index = index
        self._calendar = calendar
        self._clock = clock
        self._reports = reports

    def __call__(self, request: FillMissingRequest, progress: ProgressCallback = no_progress) -> FillMissingResult:
        variety = check_variety(request.variety_key)
        if request.mode not in ("normal", "init"):
            raise InvalidArgument(f"mode must be 'normal' or 'init', got {request.mode!r}")
        if request.start_day and request.end_day and request.start_day > request.end_day:
            raise InvalidArgument(f"start_day {request.start_day} is after end_day {request.end_day}")
        started = self._clock.monotonic_s()
        now_ns = self._clock.now_ns()
        cal = self._calendar.load()
        today = last_completed_trading_day(cal, now_ns)
        skipped: list[SkippedContract] = []
        unindexed: list[str] = []
        if request.mode == "normal":
            plans, unindexed = self._missing_plans(variety, cal, request)
        else:
            plans = []
            for c in load_catalog(self._provider, variety):
                window = life_window(c.info, cal, today, request.start_day, request.end_day)
                if window is None:
                    reason = (
                        "no first trading day in the catalog"
                        if c.info.first_trading_day is None
                        else "no completed trading day in its life window"
                    )
                    skipped.append(SkippedContract(c.symbol, reason))
                    continue
                plans.append(DownloadPlan(c.symbol, window[0], window[1], len(cal.trading_days(*window))))
        results = run_download_plans(
            self._download, plans, chunk_days=request.chunk_days, force=False, progress=progress
        )
        summary = summarize(
            variety,
            results,
            skipped,
            self._clock.monotonic_s() - started,
            make_run_id(now_ns, f"fill-missing_{request.mode}_{variety}"),
        )
        result = FillMissingResult(request.mode, sum(p.days for p in plans), unindexed, summary)
        if self._reports is not None:
            payload = {"use_case": "fill-missing", "request": to_jsonable(request), "result": to_jsonable(result)}
            summary.report_path = self._reports.write_json("ingest", summary.run_id, payload)
        return result

    def _missing_plans(
        self, variety: str, cal: TradingCalendar, request: FillMissingRequest
    ) -> tuple[list[DownloadPlan], list[str]]:
        indexed = {s for s in self._index.indexed_symbols(RAW) if symbol_variety(s) == variety}
        hint = (
            "run `ghtrader data bootstrap-index` to rebuild it from the stored ticks, "
            f"or `ghtrader data fill-missing {variety} --mode init` to seed a new variety"
        )
        if not indexed:
            raise FailedPrecondition(f"no index for {variety}: {hint}")
        stored = {s for s in self._ticks.tick_symbols(RAW) if symbol_variety(s) == variety}
        unindexed_stored = sorted(stored - indexed)
        if unindexed_stored:
            raise FailedPrecondition(
                f"the index of {variety} is stale: {', '.join(unindexed_stored[:5])}"
                f"{' ...' if len(unindexed_stored) > 5 else ''} have ticks but no index rows; {hint}"
            )
        coverage = self._verify(VerifyCoverageRequest(symbols=tuple(sorted(indexed))), write_report=False)
        catalog = {c.symbol for c in load_catalog(self._provider, variety)}
        unindexed = sorted(catalog - indexed)
        plans: list[DownloadPlan] = []
        for c in coverage.contracts:
            days = [
                d
                for d in c.missing_days
                if (request.start_day is None or d >= request.start_day)
                and (request.end_day is None or d <= request.end_day)
            ]
            if days:
                plans.append(DownloadPlan(c.symbol, days[0], days[-1], len(cal.trading_days(days[0], days[-1]))))
        return plans, unindexed


# --- BootstrapIndex -----------------------------------------------------------------------------
@dataclass(frozen=True)
class BootstrapIndexRequest:
    """Rebuild the index of ``symbols`` (all stored symbols when empty) from the tick table."""

    symbols: tuple[str, ...] = ()
    ticks_lakes: tuple[str, ...] = TICKS_LAKES
    days_per_read: int = 20


@dataclass
class BootstrapIndexResult:
    symbols: int
    days: int  # days with ticks
    added: int  # manifests that did not exist
    changed: int  # manifests whose content differed
    unchanged: int
    removed: int  # index rows of days without ticks
    no_data_cleared: int  # no-data entries of days that do have ticks
    duration_s: float
    per_symbol: dict[str, dict[str, int]] = field(default_factory=dict)
    run_id: str = ""
    report_path: str | None = None


class BootstrapIndex:
    """Recompute every day manifest from the stored ticks and replace the index rows."""

    def __init__(
        self,
        *,
        ticks: TickStore,
        index: IndexStore,
        clock: Clock,
        reports: ReportSink | None = None,
    ) -> None:
        self._ticks = ticks
        self._index = index
        self._clock = clock
        self._reports = reports

    def __call__(
        self, request: BootstrapIndexRequest, progress: ProgressCallback = no_progress
    ) -> BootstrapIndexResult:
        for lake in request.ticks_lakes:
            if lake not in TICKS_LAKES:
                raise InvalidArgument(f"unknown ticks lake {lake!r}: expected one of {TICKS_LAKES}")
        if request.days_per_read < 1:
            raise InvalidArgument(f"days_per_read must be >= 1, got {request.days_per_read}")
        started = self._clock.monotonic_s()
        now_ns = self._clock.now_ns()
        work: list[tuple[str, str]] = []
        for lake in request.ticks_lakes:
            if request.symbols:
                names = [check_symbol(s) for s in request.symbols]
            else:
                names = sorted(set(self._ticks.tick_symbols(lake)) | set(self._index.indexed_symbols(lake)))
            work += [(lake, s) for s in names]
        totals = {"days": 0, "added": 0, "changed": 0, "unchanged": 0, "removed": 0, "no_data_cleared": 0}
        per_symbol: dict[str, dict[str, int]] = {}
        for i, (lake, symbol) in enumerate(work):
            progress(i, len(work), f"indexing {symbol} ({lake})")
            counts = self._rebuild(symbol, lake, request.days_per_read, now_ns)
            per_symbol[f"{lake}:{symbol}"] = counts
            for k in totals:
                totals[k] += counts[k]
        progress(len(work), len(work), "bootstrap-index done")
        result = BootstrapIndexResult(
            symbols=len({s for _, s in work}),
            duration_s=self._clock.monotonic_s() - started,
            per_symbol=per_symbol,
            run_id=make_run_id(now_ns, "bootstrap-index"),
            days=totals["days"],
            added=totals["added"],
            changed=totals["changed"],
            unchanged=totals["unchanged"],
            removed=totals["removed"],
            no_data_cleared=totals["no_data_cleared"],
        )
        if self._reports is not None:
            payload = {"use_case": "bootstrap-index", "request": to_jsonable(request), "result": to_jsonable(result)}
            result.report_path = self._reports.write_json("bootstrap-index", result.run_id, payload)
        return result

    def _rebuild(self, symbol: str, lake: str, days_per_read: int, now_ns: int) -> dict[str, int]:
        days = sorted(self._ticks.tick_days(symbol, lake))
        existing = {m.trading_day: m for m in self._index.manifests(symbol, lake)}
        counts = {"days": len(days), "added": 0, "changed": 0, "unchanged": 0, "removed": 0, "no_data_cleared": 0}
        for lo in range(0, len(days), days_per_read):
            block = days[lo : lo + days_per_read]
            stored = self._ticks.read_ticks(symbol, lake, block[0], block[-1])
            manifests = compute_manifests(symbol, lake, stored.trading_day, stored.row_hash, stored.ticks, now_ns)
            for m in manifests:
                old = existing.get(m.trading_day)
                key = "added" if old is None else "unchanged" if old.same_content(m) else "changed"
                counts[key] += 1
            self._index.upsert_manifests(manifests)
        day_set = set(days)
        stale = sorted(d for d in existing if d not in day_set)
        if stale:
            self._index.delete_manifests(symbol, lake, stale)
            counts["removed"] = len(stale)
        cleared = sorted(n.trading_day for n in self._index.no_data_days(symbol, lake) if n.trading_day in day_set)
        if cleared:
            self._index.clear_no_data(symbol, lake, cleared)
            counts["no_data_cleared"] = len(cleared)
        return counts


# --- ContractStatus -----------------------------------------------------------------------------
ContractStatusName = Literal["complete", "missing", "stale", "unindexed"]
CONTRACT_STATUSES: tuple[str, ...] = ("complete", "missing", "stale", "unindexed")


@dataclass(frozen=True)
class ContractStatusRequest:
    """``stale_after_days``: an active contract whose last covered (present or no-data) day is
    more than this many trading days before the last completed trading day is stale; its
    missing days newer than that are not due yet and do not make it ``missing``."""

    variety_key: str
    stale_after_days: int = 1


@dataclass(frozen=True)
class ContractState:
    symbol: str
    status: str
    expired: bool
    coverage: ContractCoverage


@dataclass
class ContractStatusResult:
    variety_key: str
    today: date
    contracts: list[ContractState]
    counts: dict[str, int]


class ContractStatus:
    """Per-contract status for the dashboard, from the index and no-data ledger only (it never
    reads ticks, so it stays fast on any store size)."""

    def __init__(self, *, provider: DataProvider, index: IndexStore, calendar: CalendarSource, clock: Clock) -> None:
        self._provider = provider
        self._index = index
        self._calendar = calendar
        self._clock = clock

    def __call__(self, request: ContractStatusRequest) -> ContractStatusResult:
        variety = check_variety(request.variety_key)
        if request.stale_after_days < 0:
            raise InvalidArgument(f"stale_after_days must be >= 0, got {request.stale_after_days}")
        cal = self._calendar.load()
        today = last_completed_trading_day(cal, self._clock.now_ns())
        stale_before = shift_trading_days(cal, today, request.stale_after_days)
        indexed = set(self._index.indexed_symbols(RAW))
        states: list[ContractState] = []
        for c in load_catalog(self._provider, variety):
            window = life_window(c.info, cal, today)
            cov = _coverage(self._index, cal, c.symbol, window)
            active = not c.info.expired and window is not None and window[1] == today
            # Days of an active contract newer than the stale threshold are not due yet.
            due = [d for d in cov.missing_days if not active or d <= stale_before]
            if not _is_indexed(self._index, c.symbol, indexed):
                status = "unindexed"
            elif active and (cov.last_covered is None or cov.last_covered < stale_before):
                status = "stale"
            elif due:
                status = "missing"
            else:
                status = "complete"
            states.append(ContractState(c.symbol, status, c.info.expired, cov))
        counts = {s: sum(1 for st in states if st.status == s) for s in CONTRACT_STATUSES}
        return ContractStatusResult(variety, today, states, counts)


def statuses_by_symbol(result: ContractStatusResult) -> dict[str, str]:
    """``{symbol: status}`` of a ContractStatus result."""
    return {s.symbol: s.status for s in result.contracts}
