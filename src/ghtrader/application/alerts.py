"""Alert use cases: scan stored ticks for anomalies, list stored events.

``ScanAnomalies(request, progress)`` reads a symbol's ticks one trading day at a time, runs the
tick detectors of :func:`ghtrader.domain.anomaly.scan_day` (with the volume profile of up to
``PROFILE_DAYS`` earlier days of the same scan, so the profile never sees the day it judges) and
writes the events to the AnomalyStore (idempotent: a rescan adds nothing).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np

from ghtrader.application.errors import InvalidArgument, NotFound
from ghtrader.application.ports.alerts import AnomalyFilter, AnomalyStore, StoredAnomaly
from ghtrader.application.ports.clock import Clock
from ghtrader.application.ports.providers import CalendarSource
from ghtrader.application.ports.stores import TickStore
from ghtrader.application.ports.trading import TradingRunStore
from ghtrader.domain.anomaly import AnomalyConfig, AnomalyEvent, Severity, scan_day
from ghtrader.domain.anomaly.execution import journal_events
from ghtrader.domain.anomaly.market import correlation_break_events, volume_profile
from ghtrader.domain.errors import DomainError
from ghtrader.domain.instruments import contract_spec

__all__ = ["PROFILE_DAYS", "ListAnomalies", "ScanAnomalies", "ScanRequest", "ScanResult", "default_lake"]

PROFILE_DAYS = 5
Progress = Callable[[int, int, str], None]


def default_lake(symbol: str) -> str:
    """``main_l5`` for a ``KQ.m@`` continuous alias, ``raw`` for a contract."""
    return "main_l5" if symbol.startswith("KQ.m@") else "raw"


@dataclass(frozen=True)
class ScanRequest:
    symbol: str
    start_day: date | None  # required for a tick scan
    end_day: date | None
    ticks_lake: str = ""  # "" : default_lake(symbol)
    run_id: str = ""  # a trading run: scan its journal (execution detectors) instead of ticks


@dataclass
class ScanResult:
    symbol: str
    ticks_lake: str  # raw | main_l5, or "run:<run id>" for a journal scan
    start_day: date | None
    end_day: date | None
    days: int = 0
    ticks: int = 0
    events: int = 0
    new_events: int = 0
    by_severity: dict[str, int] = field(default_factory=dict)
    by_type: dict[str, int] = field(default_factory=dict)
    critical: list[dict[str, Any]] = field(default_factory=list)  # the first few, for the summary

    def summary(self) -> str:
        sev = ", ".join(f"{self.by_severity.get(s.name, 0)} {s.name}" for s in reversed(Severity))
        if self.ticks_lake.startswith("model:"):
            return (f"scanned {self.ticks_lake[6:]} ({self.symbol}) {self.start_day}..{self.end_day} against its "
                    f"training data: {self.days} days, {self.ticks:,} rows, {self.events} events ({sev}), "
                    f"{self.new_events} new")  # fmt: skip
        if self.ticks_lake.startswith("run:"):
            return (f"scanned trading run {self.ticks_lake[4:]} ({self.symbol}): {self.ticks} journal records, "
                    f"{self.events} events ({sev}), {self.new_events} new")  # fmt: skip
        return (
            f"scanned {self.symbol} ({self.ticks_lake}) {self.start_day}..{self.end_day}: {self.days} days, "
            f"{self.ticks:,} ticks, {self.events} events ({sev}), {self.new_events} new"
        )


class ScanAnomalies:
    def __init__(
        self,
        *,
        ticks: TickStore,
        calendar: CalendarSource,
        store: Callable[[], AnomalyStore],
        clock: Clock,
        config: AnomalyConfig | None = None,
        runs: TradingRunStore | None = None,  # trading runs' journals (``run_id`` scans)
    ) -> None:
        self._ticks = ticks
        self._calendar = calendar
        self._store = store
        self._clock = clock
        self._config = config or AnomalyConfig()
        self._runs = runs

    def __call__(self, request: ScanRequest, progress: Progress = lambda *_: None) -> ScanResult:
        if request.run_id:
            return self._scan_run(request, progress)
        if "," in request.symbol:
            return self._scan_cross(request, progress)
        if request.start_day is None or request.end_day is None:
            raise InvalidArgument("a tick scan needs start_day and end_day")
        if request.end_day < request.start_day:
            raise InvalidArgument(f"end_day {request.end_day} is before start_day {request.start_day}")
        lake = request.ticks_lake or default_lake(request.symbol)
        if lake not in ("raw", "main_l5"):
            raise InvalidArgument(f"ticks_lake must be raw or main_l5, got {lake!r}")
        try:
            spec = contract_spec(request.symbol)
        except DomainError as exc:
            raise InvalidArgument(str(exc)) from exc
        cal = self._calendar.load()
        days = cal.trading_days(request.start_day, request.end_day)
        store = self._store()
        result = ScanResult(request.symbol, lake, request.start_day, request.end_day)
        sev: Counter[str] = Counter()
        kinds: Counter[str] = Counter()
        history: list[np.ndarray] = []
        for i, day in enumerate(days):
            progress(i, len(days), f"scanning {request.symbol} {day}")
            ticks = self._ticks.read_ticks(request.symbol, lake, day, day).ticks
            if ticks.shape[0] == 0:
                continue
            profile = volume_profile(history[-PROFILE_DAYS:], self._config.profile_bucket_s) if history else None
            events = scan_day(ticks, request.symbol, spec.price_tick, cal.session_windows_ns(day, spec),
                              self._config, profile)  # fmt: skip
            history = [*history[-(PROFILE_DAYS - 1) :], ticks]  # only what the next profile needs
            result.days += 1
            result.ticks += int(ticks.shape[0])
            result.events += len(events)
            result.new_events += store.write_events(events, self._clock.now_ns())
            sev.update(e.severity.name for e in events)
            kinds.update(e.anomaly_type for e in events)
            room = 10 - len(result.critical)
            result.critical += [e.to_dict() for e in events if e.severity == Severity.CRITICAL][: max(room, 0)]
        result.by_severity, result.by_type = dict(sev), dict(kinds)
        progress(len(days), len(days), result.summary())
        return result

    def _scan_cross(self, request: ScanRequest, progress: Progress) -> ScanResult:
        """``correlation_break`` between comma-separated symbols (e.g. the CU / AU / AG mains):
        per day, 1-minute log returns of each mid on a common grid, the rolling correlation of each
        pair against its correlation over the days scanned before (the first day only learns)."""
        symbols = [s.strip() for s in request.symbol.split(",") if s.strip()]
        if len(symbols) < 2 or request.start_day is None or request.end_day is None:
            raise InvalidArgument("a cross-asset scan needs two or more symbols and start_day / end_day")
        cal = self._calendar.load()
        days = cal.trading_days(request.start_day, request.end_day)
        store = self._store()
        pairs = [(a, b) for i, a in enumerate(symbols) for b in symbols[i + 1 :]]
        history: dict[str, list[np.ndarray]] = {s: [] for s in symbols}
        result = ScanResult(",".join(symbols), request.ticks_lake or "main_l5", request.start_day, request.end_day)
        events: list[AnomalyEvent] = []
        for i, day in enumerate(days):
            progress(i, len(days), f"correlations {day}")
            grid, returns = self._minute_returns(symbols, request.ticks_lake, day)
            if grid.shape[0] < 2:
                continue
            result.days += 1
            result.ticks += int(grid.shape[0])
            if history[symbols[0]]:
                past = {s: np.concatenate(history[s]) for s in symbols}
                ref = {(a, b): float(np.corrcoef(past[a], past[b])[0, 1]) for a, b in pairs}
                ref = {k: v for k, v in ref.items() if math.isfinite(v)}
                events += correlation_break_events(grid, returns, ref, self._config)
            for s in symbols:
                history[s].append(returns[s])
        result.events = len(events)
        result.new_events = store.write_events(events, self._clock.now_ns())
        result.by_severity = dict(Counter(e.severity.name for e in events))
        result.by_type = dict(Counter(e.anomaly_type for e in events))
        progress(len(days), len(days), result.summary())
        return result

    def _minute_returns(self, symbols: list[str], lake: str, day: date) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """A 60 s grid over the day's common span and each symbol's log mid return per step, keeping
        only the steps in which every symbol had a tick (breaks and quiet minutes drop out)."""
        mids: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for s in symbols:
            cols = self._ticks.read_tick_columns(s, lake or default_lake(s), day, day, ("bid_price1", "ask_price1"))
            ts = np.asarray(cols["datetime_ns"], dtype=np.int64)
            with np.errstate(invalid="ignore"):
                mid = np.where((cols["bid_price1"] > 0) & (cols["ask_price1"] > cols["bid_price1"]),
                               (cols["bid_price1"] + cols["ask_price1"]) / 2, np.nan)  # fmt: skip
            ok = np.isfinite(mid)
            mids[s] = (ts[ok], mid[ok])
        if any(v[0].shape[0] == 0 for v in mids.values()):
            return np.empty(0, dtype=np.int64), {}
        lo, hi = max(v[0][0] for v in mids.values()), min(v[0][-1] for v in mids.values())
        grid = np.arange(lo, hi + 1, 60 * 10**9, dtype=np.int64)
        returns, fresh = {}, np.ones(max(grid.shape[0] - 1, 0), dtype=bool)
        for s, (ts, mid) in mids.items():
            at = np.searchsorted(ts, grid, side="right") - 1
            fresh &= np.diff(at) > 0  # a tick arrived within the step
            returns[s] = np.diff(np.log(mid[at]))
        return grid[1:][fresh], {s: r[fresh] for s, r in returns.items()}

    def _scan_run(self, request: ScanRequest, progress: Progress) -> ScanResult:
        """The execution detectors over one trading run's journal (``journal_events``)."""
        if self._runs is None:
            raise InvalidArgument("this server has no trading-run store wired")
        if not self._runs.exists(request.run_id):
            raise NotFound(f"no trading run {request.run_id!r}")
        progress(0, 1, f"reading the journal of {request.run_id}")
        records = self._runs.tail_events(request.run_id, 0)
        config = self._runs.read_config(request.run_id) or {}
        symbol = str((config.get("symbols") or {}).get("resolved") or request.symbol)
        events = journal_events(records, self._config, symbol)
        result = ScanResult(symbol, f"run:{request.run_id}", request.start_day, request.end_day, days=0,
                            ticks=len(records), events=len(events))  # fmt: skip
        result.new_events = self._store().write_events(events, self._clock.now_ns())
        result.by_severity = dict(Counter(e.severity.name for e in events))
        result.by_type = dict(Counter(e.anomaly_type for e in events))
        result.critical = [e.to_dict() for e in events if e.severity == Severity.CRITICAL][:10]
        progress(1, 1, result.summary())
        return result


class ListAnomalies:
    def __init__(self, store: Callable[[], AnomalyStore]) -> None:
        self._store = store

    def __call__(self, query: AnomalyFilter) -> list[StoredAnomaly]:
        if query.limit < 1 or query.limit > 10_000:
            raise InvalidArgument(f"limit must be in 1..10000, got {query.limit}")
        return self._store().list_events(query)

    def latest_seq(self) -> int:
        """The newest stored row's seq (0 when empty): a watcher's "from now on" cursor."""
        return self._store().latest_seq()
