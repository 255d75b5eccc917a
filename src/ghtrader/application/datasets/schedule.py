"""BuildMainSchedule: the main-contract roll schedule of a variety from the stored raw ticks.

End-of-day open interest comes from the tick store (the last tick of each contract-day), for
the contract-days the index holds (the day manifest is the commit marker, so a half-written
day never votes). The OI rule and the hash are the domain's
(:func:`ghtrader.domain.schedule.build_main_schedule`): a main without a committed day (a feed
gap recorded as a no-data day, or a day not downloaded) keeps the main, unless the request
brings that contract-day's real OI from the provider (``gap_open_interest``); the schedule starts at the first day
whose main contract has true L5 depth (``l5_present`` in the day manifests). The result
replaces the variety's stored schedule (``ghtrader_main_schedule_v2``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date

from ghtrader.application.contract_windows import (
    check_variety,
    is_dated_contract,
    load_catalog,
    symbol_variety,
)
from ghtrader.application.datasets.schedule_chart import schedule_chart
from ghtrader.application.errors import FailedPrecondition, InvalidArgument
from ghtrader.application.ports.clock import Clock
from ghtrader.application.ports.datasets import ScheduleStore
from ghtrader.application.ports.providers import CalendarSource, DataProvider
from ghtrader.application.ports.reports import BenchmarkReportWriter, ReportSink
from ghtrader.application.ports.stores import DayManifest, IndexStore, TickStore
from ghtrader.application.progress import ProgressCallback, no_progress
from ghtrader.application.reporting import make_run_id, to_jsonable
from ghtrader.domain.schedule import (
    DEFAULT_SWITCH_RATIO,
    MainSchedule,
    ScheduleError,
    ScheduleSegment,
    build_main_schedule,
)

__all__ = ["BuildMainSchedule", "BuildMainScheduleRequest", "BuildMainScheduleResult"]

RAW = "raw"


@dataclass(frozen=True)
class BuildMainScheduleRequest:
    """Schedule ``variety`` (``"SHFE.cu"``) over the indexed raw days in [start_day, end_day]
    (default: every indexed day). ``require_l5``: start at the first day whose main has L5.
    ``initial_main``: the main effective on the first day, decided from a longer OI history
    (e.g. the provider's); None seeds it from the first day, which is then not scheduled."""

    variety: str
    start_day: date | None = None
    end_day: date | None = None
    switch_ratio: float = DEFAULT_SWITCH_RATIO
    require_l5: bool = True
    initial_main: str | None = None
    # Real end-of-day OI from another source (the provider's) for contract-days in the no-data
    # ledger: the vendor had no ticks, but the exchange's OI is known, so the rule need not skip.
    gap_open_interest: Mapping[date, Mapping[str, float]] | None = None


@dataclass
class BuildMainScheduleResult:
    variety: str
    schedule_hash: str
    previous_hashes: list[str]
    changed: bool
    rows: int
    first_day: date | None
    last_day: date | None
    next_main: str | None
    segments: list[ScheduleSegment]
    contracts: list[str]  # contracts whose OI was considered
    days_considered: int  # trading days fed to the OI rule
    expiry_source: str  # "catalog" or "none"
    duration_s: float
    run_id: str = ""
    report_path: str | None = None
    chart_path: str | None = None  # HTML page with the open-interest chart and the segments
    schedule: MainSchedule | None = field(default=None, repr=False)
    gaps_filled: int = 0  # no-data contract-days whose OI came from ``gap_open_interest``


class BuildMainSchedule:
    """Compute and store the main schedule of one variety (``main-schedule --var SHFE.cu``).

    ``provider`` (optional) supplies the contract catalog: with it a contract is no candidate
    from its last trading day on, so an expiring main always rolls in time.
    """

    def __init__(
        self,
        *,
        ticks: TickStore,
        index: IndexStore,
        schedules: ScheduleStore,
        calendar: CalendarSource,
        clock: Clock,
        provider: DataProvider | None = None,
        reports: ReportSink | None = None,
        charts: BenchmarkReportWriter | None = None,
    ) -> None:
        self._ticks = ticks
        self._index = index
        self._schedules = schedules
        self._calendar = calendar
        self._clock = clock
        self._provider = provider
        self._reports = reports
        self._charts = charts

    def __call__(
        self, request: BuildMainScheduleRequest, progress: ProgressCallback = no_progress
    ) -> BuildMainScheduleResult:
        key = check_variety(request.variety)
        exchange, variety = key.split(".", 1)
        if request.start_day is not None and request.end_day is not None and request.start_day > request.end_day:
            raise InvalidArgument(f"start_day {request.start_day} is after end_day {request.end_day}: swap them")
        started = self._clock.monotonic_s()
        now_ns = self._clock.now_ns()
        progress(0, 3, f"{key}: reading the day index")

        contracts = [s for s in self._index.indexed_symbols(RAW) if is_dated_contract(s) and symbol_variety(s) == key]
        manifests: dict[str, list[DayManifest]] = {
            s: self._index.manifests(s, RAW, request.start_day, request.end_day) for s in contracts
        }
        manifests = {s: ms for s, ms in manifests.items() if ms}
        if not manifests:
            raise FailedPrecondition(
                f"no raw {key} contract-days are indexed in the range: download the contracts first "
                f"(download-contract-range --var {key})"
            )
        all_days = [m.trading_day for ms in manifests.values() for m in ms]
        start = request.start_day or min(all_days)
        end = request.end_day or max(all_days)
        days = self._calendar.load().trading_days(start, end)
        committed = {(s, m.trading_day) for s, ms in manifests.items() for m in ms}
        l5_first: dict[str, date] = {}
        for s, ms in manifests.items():
            first = next((m.trading_day for m in ms if m.l5_present), None)
            if first is not None:
                l5_first[s] = first

        progress(1, 3, f"{key}: end-of-day open interest of {len(manifests)} contracts")
        eod = self._ticks.end_of_day_open_interest(sorted(manifests), RAW, start, end)
        eod_oi: dict[date, dict[str, float]] = {d: {} for d in days}
        for (symbol, day), oi in eod.items():
            if (symbol, day) in committed and day in eod_oi:
                eod_oi[day][symbol] = oi
        gaps_filled = 0
        if request.gap_open_interest:
            for gap in self._index.no_data_days(None, RAW, start, end):
                known = request.gap_open_interest.get(gap.trading_day, {}).get(gap.symbol)
                if (
                    known is not None
                    and gap.trading_day in eod_oi
                    and (gap.symbol, gap.trading_day) not in committed
                    and is_dated_contract(gap.symbol)
                    and symbol_variety(gap.symbol) == key
                ):
                    eod_oi[gap.trading_day][gap.symbol] = float(known)
                    gaps_filled += 1

        expiry: dict[str, date] | None = None
        if self._provider is not None:
            expiry = {
                c.symbol: c.info.last_trading_day
                for c in load_catalog(self._provider, key)
                if c.info.last_trading_day is not None
            }
        try:
            schedule = build_main_schedule(
                eod_oi,
                exchange=exchange,
                variety=variety,
                l5_first_day=l5_first if request.require_l5 else None,
                switch_ratio=request.switch_ratio,
                last_trading_day=expiry,
                initial_main=request.initial_main,
            )
        except ScheduleError as exc:
            raise InvalidArgument(str(exc)) from exc
        if not schedule.rows:
            why = "whose main contract has L5 depth" if request.require_l5 else "with a main contract"
            raise FailedPrecondition(
                f"no {key} trading day in {start}..{end} {why}: download more contract days "
                "(the first day only seeds the main, which is effective from the next day)"
            )

        progress(2, 3, f"{key}: saving {len(schedule)} schedule rows")
        previous = self._schedules.schedule_hashes(exchange, variety)
        self._schedules.save_schedule(schedule)
        result = BuildMainScheduleResult(
            variety=key,
            schedule_hash=schedule.schedule_hash,
            previous_hashes=previous,
            changed=previous != [schedule.schedule_hash],
            rows=len(schedule),
            first_day=schedule.rows[0].trading_day,
            last_day=schedule.rows[-1].trading_day,
            next_main=schedule.next_main,
            segments=schedule.segments(),
            contracts=sorted(manifests),
            days_considered=len(days),
            expiry_source="none" if expiry is None else "catalog",
            gaps_filled=gaps_filled,
            duration_s=self._clock.monotonic_s() - started,
            run_id=make_run_id(now_ns, f"main_schedule_{key}"),
            schedule=schedule,
        )
        if self._reports is not None:
            payload = {"use_case": "main-schedule", "request": to_jsonable(request)}
            payload["result"] = {
                f.name: to_jsonable(getattr(result, f.name)) for f in fields(result) if f.name != "schedule"
            }
            result.report_path = self._reports.write_json("main_schedule", result.run_id, payload)
        if self._charts is not None:
            figures, tables = schedule_chart(schedule, eod_oi)
            written = self._charts.write(
                f"{result.run_id}_chart",
                {"variety": key, "schedule_hash": schedule.schedule_hash},
                figures,
                tables,
                title=f"{key} roll schedule",
            )
            result.chart_path = written.html_path
        progress(
            3, 3, f"{key}: {len(schedule)} days, {len(result.segments)} segments, hash {schedule.schedule_hash[:12]}"
        )
        return result
