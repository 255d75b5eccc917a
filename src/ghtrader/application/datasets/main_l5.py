"""BuildMainL5: materialise ``KQ.m@SHFE.cu`` in the ``main_l5`` lake from the stored schedule.

Each scheduled day's rows are exactly the raw rows of that day's main contract (88-style
splice, :func:`ghtrader.domain.main_l5.main_l5_day`), with the same ``row_hash``, plus
``underlying_contract``, ``segment_id`` and ``schedule_hash`` per row. Per day the
provenance (underlying, rows written, raw rows read) goes to ``ghtrader_main_l5_provenance_v2``
and a day manifest to the index.

Idempotent and incremental: a day is up to date when its main_l5 manifest has the same content
as the underlying's raw manifest (same rows and hashes) and its provenance names the scheduled
underlying and segment; only other days are (re)written. Rows of an up-to-date day keep the
``schedule_hash`` of the run that wrote them (a schedule extended by a day gets a new hash; the
old days' rows are unchanged, so they are not rewritten). ``force`` rewrites every day.

A scheduled day whose underlying has no ticks (the raw day is in the no-data ledger: a feed
gap) is a no-data day of the derived series: it is recorded in the ledger under the
``main_l5`` lake with the reason, listed in ``no_data_days``, and is no error. A scheduled day
whose underlying is neither indexed nor in the ledger was never downloaded: ``missing_days``.

Write order per day: manifest removed first (when present), old rows deleted, new rows written,
provenance, and the manifest LAST, so an interrupted run leaves a day without a manifest, which
the next run rebuilds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np

from ghtrader.application.contract_windows import check_variety
from ghtrader.application.errors import FailedPrecondition, InvalidArgument
from ghtrader.application.manifests import compute_manifests
from ghtrader.application.ports.clock import Clock
from ghtrader.application.ports.datasets import (
    BuildMetadata,
    DatasetStore,
    MainL5DayProvenance,
    ScheduleStore,
)
from ghtrader.application.ports.reports import ReportSink
from ghtrader.application.ports.stores import (
    DayManifest,
    IndexStore,
    MainL5Provenance,
    NoDataDay,
    TickBatch,
    TickStore,
)
from ghtrader.application.progress import ProgressCallback, no_progress
from ghtrader.application.reporting import make_run_id, to_jsonable
from ghtrader.domain.instruments import continuous_symbol
from ghtrader.domain.main_l5 import MainL5Error, main_l5_day
from ghtrader.domain.schedule import MainSchedule

__all__ = ["BuildMainL5", "BuildMainL5Request", "BuildMainL5Result", "MainL5NoDataDay"]

RAW = "raw"
MAIN_L5 = "main_l5"


@dataclass(frozen=True)
class BuildMainL5Request:
    """Build main_l5 of ``variety`` (``"SHFE.cu"``) for the scheduled days in [start_day, end_day]
    (default: the whole schedule). ``switch_ratio``: None uses the stored schedule's; a ratio
    given must be the one the schedule was built with."""

    variety: str
    start_day: date | None = None
    end_day: date | None = None
    switch_ratio: float | None = None
    force: bool = False


@dataclass(frozen=True)
class MainL5NoDataDay:
    """A scheduled main_l5 day without rows because its underlying has no ticks that day."""

    trading_day: date
    underlying_contract: str
    reason: str


@dataclass
class BuildMainL5Result:
    symbol: str
    schedule_hash: str
    days_scheduled: int  # scheduled days in the range
    days_built: int
    days_unchanged: int
    missing_days: list[date]  # scheduled, but the underlying has no indexed raw day
    removed_days: list[date]  # main_l5 days deleted (no longer scheduled, or source gone)
    rows_written: int
    build_id: str | None
    duration_s: float
    run_id: str = ""
    report_path: str | None = None
    built: list[date] = field(default_factory=list)
    no_data_days: list[MainL5NoDataDay] = field(default_factory=list)  # underlying had no ticks


def _same_rows(a: DayManifest, b: DayManifest) -> bool:
    """Both manifests describe the same rows (symbol and lake aside)."""
    return (
        a.rows_total,
        a.first_datetime_ns,
        a.last_datetime_ns,
        a.l5_present,
        a.row_hash_min,
        a.row_hash_max,
        a.row_hash_sum,
        a.row_hash_sum_abs,
    ) == (
        b.rows_total,
        b.first_datetime_ns,
        b.last_datetime_ns,
        b.l5_present,
        b.row_hash_min,
        b.row_hash_max,
        b.row_hash_sum,
        b.row_hash_sum_abs,
    )


class BuildMainL5:
    """Materialise the continuous main series with real depth (``main-l5 --var SHFE.cu``)."""

    def __init__(
        self,
        *,
        ticks: TickStore,
        index: IndexStore,
        schedules: ScheduleStore,
        datasets: DatasetStore,
        clock: Clock,
        reports: ReportSink | None = None,
    ) -> None:
        self._ticks = ticks
        self._index = index
        self._schedules = schedules
        self._datasets = datasets
        self._clock = clock
        self._reports = reports

    def __call__(self, request: BuildMainL5Request, progress: ProgressCallback = no_progress) -> BuildMainL5Result:
        key = check_variety(request.variety)
        exchange, variety = key.split(".", 1)
        if request.start_day is not None and request.end_day is not None and request.start_day > request.end_day:
            raise InvalidArgument(f"start_day {request.start_day} is after end_day {request.end_day}: swap them")
        started = self._clock.monotonic_s()
        now_ns = self._clock.now_ns()
        schedule = self._schedules.load_schedule(exchange, variety, switch_ratio=request.switch_ratio)
        if schedule is None:
            raise FailedPrecondition(f"no main schedule of {key} is stored: run main-schedule --var {key} first")
        symbol = continuous_symbol(exchange, variety)
        lo = request.start_day or date.min
        hi = request.end_day or date.max
        days = [d for d in schedule.days if lo <= d <= hi]

        stored = {m.trading_day: m for m in self._index.manifests(symbol, MAIN_L5, request.start_day, request.end_day)}
        provenance = {
            p.trading_day: p for p in self._datasets.main_l5_provenance(symbol, request.start_day, request.end_day)
        }
        stored_days = (
            set(stored) | set(provenance) | {d for d in self._ticks.tick_days(symbol, MAIN_L5) if lo <= d <= hi}
        )
        raw: dict[str, dict[date, DayManifest]] = {}
        for contract in sorted({c for c in (schedule.main_on(d) for d in days) if c is not None}):
            raw[contract] = {
                m.trading_day: m for m in self._index.manifests(contract, RAW, request.start_day, request.end_day)
            }

        raw_no_data = {
            (n.symbol, n.trading_day): n.reason
            for contract in raw
            for n in self._index.no_data_days(contract, RAW, request.start_day, request.end_day)
        }
        derived_no_data = {
            n.trading_day for n in self._index.no_data_days(symbol, MAIN_L5, request.start_day, request.end_day)
        }

        build_id = make_run_id(now_ns, f"main_l5_{symbol}")
        no_data: list[MainL5NoDataDay] = []
        missing: list[date] = []
        removed: list[date] = []
        built: list[date] = []
        unchanged = 0
        rows_written = 0
        total = len(days)
        for i, day in enumerate(days):
            row = schedule.row_on(day)
            assert row is not None
            source = raw[row.main_contract].get(day)
            if source is None:
                why = raw_no_data.get((row.main_contract, day))
                if why is None:
                    missing.append(day)
                else:
                    no_data.append(MainL5NoDataDay(day, row.main_contract, f"{row.main_contract} has no ticks: {why}"))
                if day in stored_days:
                    self._remove_day(symbol, day)
                    removed.append(day)
                continue
            prov = provenance.get(day)
            current = stored.get(day)
            if (
                not request.force
                and current is not None
                and prov is not None
                and prov.underlying_contract == row.main_contract
                and prov.segment_id == row.segment_id
                and _same_rows(current, source)
            ):
                unchanged += 1
                continue
            progress(i, total, f"{symbol} {day}: from {row.main_contract}")
            n = self._build_day(schedule, symbol, day, row.main_contract, replace=day in stored_days, now_ns=now_ns)
            if n == 0:
                missing.append(day)
                if day in stored_days:
                    removed.append(day)
                continue
            built.append(day)
            rows_written += n
        if no_data:
            self._index.record_no_data([NoDataDay(symbol, g.trading_day, MAIN_L5, g.reason, now_ns) for g in no_data])
        gap_days = {g.trading_day for g in no_data}
        stale = sorted(d for d in derived_no_data if d not in gap_days)
        if stale:  # the day has rows now, or is no longer scheduled
            self._index.clear_no_data(symbol, MAIN_L5, stale)

        scheduled = set(days)
        for day in sorted(stored_days - scheduled):
            self._remove_day(symbol, day)
            removed.append(day)

        if built or removed:
            self._datasets.put_build(
                BuildMetadata(
                    build_id=build_id,
                    kind="main_l5",
                    config_hash=schedule.schedule_hash,
                    params={
                        "symbol": symbol,
                        "variety": key,
                        "switch_ratio": schedule.switch_ratio,
                        "schedule_first_day": schedule.rows[0].trading_day,
                        "schedule_last_day": schedule.rows[-1].trading_day,
                        "days_built": built,
                        "days_removed": sorted(removed),
                        "rows_written": rows_written,
                    },
                    created_at_ns=now_ns,
                )
            )
        result = BuildMainL5Result(
            symbol=symbol,
            schedule_hash=schedule.schedule_hash,
            days_scheduled=len(days),
            days_built=len(built),
            days_unchanged=unchanged,
            missing_days=missing,
            removed_days=sorted(removed),
            rows_written=rows_written,
            build_id=build_id if built or removed else None,
            duration_s=self._clock.monotonic_s() - started,
            run_id=make_run_id(now_ns, f"main_l5_{symbol}"),
            built=built,
            no_data_days=no_data,
        )
        if self._reports is not None:
            payload = {"use_case": "main-l5", "request": to_jsonable(request), "result": to_jsonable(result)}
            result.report_path = self._reports.write_json("main_l5", result.run_id, payload)
        progress(
            total,
            total,
            f"{symbol}: {len(built)} days built, {unchanged} unchanged, "
            f"{len(no_data)} without underlying ticks, {len(missing)} missing",
        )
        return result

    def _remove_day(self, symbol: str, day: date) -> None:
        self._index.delete_manifests(symbol, MAIN_L5, [day])
        self._ticks.delete_days(symbol, MAIN_L5, [day])
        self._datasets.delete_main_l5_provenance(symbol, [day])

    def _build_day(
        self, schedule: MainSchedule, symbol: str, day: date, contract: str, *, replace: bool, now_ns: int
    ) -> int:
        """Write one main_l5 day; returns its rows (0: the raw day turned out empty, day removed)."""
        source = self._ticks.read_ticks(contract, RAW, day, day)
        if replace:
            self._remove_day(symbol, day)
        if len(source) == 0:
            return 0
        try:
            spliced = main_l5_day(schedule, day, source.ticks)
        except MainL5Error as exc:
            raise FailedPrecondition(f"cannot build main_l5 of {symbol} on {day}: {exc}") from exc
        n = len(spliced)
        trading_day = np.asarray(source.trading_day).astype("datetime64[D]")
        batch = TickBatch(
            symbol=symbol,
            ticks_lake=MAIN_L5,
            ticks=spliced.ticks,
            trading_day=trading_day,
            row_hash=np.asarray(source.row_hash, dtype=np.int64).copy(),
            main_l5=MainL5Provenance(
                underlying_contract=np.full(n, contract, dtype=object),
                segment_id=np.full(n, spliced.segment_id, dtype=np.int64),
                schedule_hash=spliced.schedule_hash,
            ),
        )
        self._ticks.write_ticks(batch)
        self._datasets.put_main_l5_provenance(
            [
                MainL5DayProvenance(
                    symbol, day, contract, spliced.segment_id, spliced.schedule_hash, n, len(source), now_ns
                )
            ]
        )
        manifests = compute_manifests(symbol, MAIN_L5, trading_day, batch.row_hash, spliced.ticks, now_ns)
        self._index.upsert_manifests(manifests)
        return n
