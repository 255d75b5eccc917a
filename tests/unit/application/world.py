"""A small in-memory world for the ingest / coverage / recorder / audit use-case tests.

Calendar: weekdays minus the 2024 National Day holidays (2024-10-01..07). The clock stands at
Friday 2024-10-11 20:00 Beijing, so the last completed trading day is 2024-10-11.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np

from ghtrader.adapters.filesystem.json_reports import JsonFileReportSink
from ghtrader.adapters.memory import InMemoryIndexStore, InMemorySchemaManager, InMemoryTickStore
from ghtrader.application.audit import AuditStore
from ghtrader.application.coverage import BootstrapIndex, ContractStatus, FillMissing, VerifyCoverage
from ghtrader.application.ingest import DownloadContractRange, DownloadTicks, UpdateContracts
from ghtrader.application.ports.providers import ContractInfo
from ghtrader.application.recorder import RecordTicks
from ghtrader.domain.calendar import TradingCalendar, beijing_datetime_to_ns
from ghtrader.domain.ticks import empty_ticks
from tests.fakes.providers import FixedCalendarSource, InMemoryDataProvider, InMemoryLiveFeed
from tests.fakes.system import FakeClock

HOLIDAYS = [date(2024, 10, d) for d in range(1, 8)]
NOW = datetime(2024, 10, 11, 20, 0)  # Beijing
TODAY = date(2024, 10, 11)  # last completed trading day at NOW


def bj(*args: int) -> int:
    """Epoch ns of a naive Beijing wall time."""
    return beijing_datetime_to_ns(datetime(*args))


def day_ticks(cal: TradingCalendar, day: date, n: int = 12, *, price: float = 75_000.0, night: int = 4) -> np.ndarray:
    """Deterministic L5 ticks of one trading day: ``night`` rows in the night session of the
    previous trading day's evening (when it has one), ``n`` rows from 09:00:00.5 every 0.5 s."""
    prev = cal.previous_trading_day(day)
    stamps: list[int] = []
    if night and cal.has_night_session(prev):
        base = beijing_datetime_to_ns(datetime.combine(prev, datetime.min.time()) + timedelta(hours=21, seconds=1))
        stamps += [base + i * 500_000_000 for i in range(night)]
    base = beijing_datetime_to_ns(datetime.combine(day, datetime.min.time()) + timedelta(hours=9, milliseconds=500))
    stamps += [base + i * 500_000_000 for i in range(n)]
    m = len(stamps)
    arr = empty_ticks(m)
    arr["datetime_ns"] = np.array(stamps, dtype=np.int64)
    k = np.arange(m, dtype=np.float64)
    offset = float(day.toordinal() % 17) * 10.0
    arr["last_price"] = price + offset + 10.0 * (k % 3)
    arr["average"] = price + offset
    arr["highest"] = price + offset + 20.0
    arr["lowest"] = price + offset
    arr["volume"] = 1.0 + k * 2.0
    arr["amount"] = arr["volume"] * 5.0 * price
    arr["open_interest"] = 100_000.0 + k
    for lvl in range(1, 6):
        arr[f"bid_price{lvl}"] = price + offset - 10.0 * lvl
        arr[f"ask_price{lvl}"] = price + offset + 10.0 * lvl
        arr[f"bid_volume{lvl}"] = 5.0 + lvl
        arr[f"ask_volume{lvl}"] = 6.0 + lvl
    return arr


def contract(symbol: str, first: date | None, last: date | None, *, expired: bool = False) -> ContractInfo:
    return ContractInfo(
        symbol=symbol,
        exchange="SHFE",
        variety=symbol.split(".")[1][:2],
        expired=expired,
        first_trading_day=first,
        last_trading_day=last,
        price_tick=10.0,
        multiplier=5.0,
        source="synthetic",
    )


@dataclass
class World:
    tmp: Path
    cal: TradingCalendar = field(default_factory=lambda: TradingCalendar(HOLIDAYS))
    clock: FakeClock = field(default_factory=lambda: FakeClock(now=beijing_datetime_to_ns(NOW)))
    ticks: InMemoryTickStore = field(default_factory=InMemoryTickStore)
    index: InMemoryIndexStore = field(default_factory=InMemoryIndexStore)
    schema: InMemorySchemaManager = field(default_factory=InMemorySchemaManager)

    def __post_init__(self) -> None:
        self.provider = InMemoryDataProvider(self.cal)
        self.calendar_source = FixedCalendarSource(self.cal)
        self.reports = JsonFileReportSink(self.tmp / "runs")
        self.schema.ensure_schema()

    def fill(self, symbol: str, start: date, end: date, **kw: object) -> None:
        """Give the provider ticks for every trading day of [start, end]."""
        for d in self.cal.trading_days(start, end):
            self.provider.add_ticks(symbol, day_ticks(self.cal, d, **kw))  # type: ignore[arg-type]

    def download(self, ticks_store: object | None = None) -> DownloadTicks:
        return DownloadTicks(
            provider=self.provider,
            ticks=ticks_store or self.ticks,
            index=self.index,  # type: ignore[arg-type]
            calendar=self.calendar_source,
            clock=self.clock,
            reports=self.reports,
        )

    def contract_range(self) -> DownloadContractRange:
        return DownloadContractRange(
            download=self.download(),
            provider=self.provider,
            calendar=self.calendar_source,
            clock=self.clock,
            reports=self.reports,
        )

    def update(self) -> UpdateContracts:
        return UpdateContracts(
            download=self.download(),
            provider=self.provider,
            index=self.index,
            calendar=self.calendar_source,
            clock=self.clock,
            reports=self.reports,
        )

    def verify(self) -> VerifyCoverage:
        return VerifyCoverage(
            provider=self.provider,
            index=self.index,
            calendar=self.calendar_source,
            clock=self.clock,
            reports=self.reports,
        )

    def fill_missing(self) -> FillMissing:
        return FillMissing(
            download=self.download(),
            verify=self.verify(),
            provider=self.provider,
            ticks=self.ticks,
            index=self.index,
            calendar=self.calendar_source,
            clock=self.clock,
            reports=self.reports,
        )

    def bootstrap(self) -> BootstrapIndex:
        return BootstrapIndex(ticks=self.ticks, index=self.index, clock=self.clock, reports=self.reports)

    def status(self) -> ContractStatus:
        return ContractStatus(provider=self.provider, index=self.index, calendar=self.calendar_source, clock=self.clock)

    def audit(self) -> AuditStore:
        return AuditStore(
            ticks=self.ticks,
            index=self.index,
            schema=self.schema,
            clock=self.clock,
            calendar=self.calendar_source,
            reports=self.reports,
        )

    def recorder(self, feed: InMemoryLiveFeed) -> RecordTicks:
        return RecordTicks(
            feed=feed, ticks=self.ticks, index=self.index, calendar=self.calendar_source, clock=self.clock
        )

    def stored(self, symbol: str, lake: str = "raw") -> np.ndarray:
        return self.ticks.read_ticks(symbol, lake, date(2000, 1, 1), date(2100, 1, 1)).ticks

    def manifest_days(self, symbol: str) -> list[date]:
        return [m.trading_day for m in self.index.manifests(symbol, "raw")]

    def no_data_days(self, symbol: str) -> list[date]:
        return [n.trading_day for n in self.index.no_data_days(symbol, "raw")]
