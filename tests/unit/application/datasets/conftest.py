"""A synthetic SHFE copper world for the dataset use cases, on the in-memory stores.

The calendar has the 2024 Qingming and Labour Day holidays; the synthetic market starts on
2024-01-02. Ticks are written the way ingest writes them (rows first, day manifest last), but
directly, so tests choose exactly which contract-days exist.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pytest

from ghtrader.adapters.filesystem.json_reports import JsonFileReportSink
from ghtrader.adapters.memory import (
    InMemoryDatasetStore,
    InMemoryIndexStore,
    InMemoryOnlineFeatureStore,
    InMemoryScheduleStore,
    InMemorySchemaManager,
    InMemoryTickStore,
)
from ghtrader.application.audit import AuditStore
from ghtrader.application.datasets.main_l5 import BuildMainL5
from ghtrader.application.datasets.schedule import BuildMainSchedule
from ghtrader.application.manifests import compute_manifests
from ghtrader.application.ports.providers import ContractInfo
from ghtrader.application.ports.stores import TickBatch
from ghtrader.domain.calendar import TradingCalendar, beijing_datetime_to_ns
from ghtrader.domain.market_sim import SyntheticMarket, SyntheticMarketConfig
from ghtrader.domain.ticks import TICK_DTYPE, row_hash
from tests.fakes.providers import FixedCalendarSource, InMemoryDataProvider
from tests.fakes.system import FakeClock

HOLIDAYS = [date(2024, 4, 4), date(2024, 4, 5), *(date(2024, 5, d) for d in range(1, 6))]
ANCHOR = date(2024, 1, 2)
NOW = datetime(2024, 9, 30, 20, 0)  # Beijing


@dataclass
class DatasetWorld:
    tmp: Path
    tick_interval_ms: int = 5_000
    cal: TradingCalendar = field(default_factory=lambda: TradingCalendar(HOLIDAYS))
    clock: FakeClock = field(default_factory=lambda: FakeClock(now=beijing_datetime_to_ns(NOW)))
    ticks: InMemoryTickStore = field(default_factory=InMemoryTickStore)
    index: InMemoryIndexStore = field(default_factory=InMemoryIndexStore)
    schema: InMemorySchemaManager = field(default_factory=InMemorySchemaManager)
    schedules: InMemoryScheduleStore = field(default_factory=InMemoryScheduleStore)
    datasets: InMemoryDatasetStore = field(default_factory=InMemoryDatasetStore)
    online: InMemoryOnlineFeatureStore = field(default_factory=InMemoryOnlineFeatureStore)

    def __post_init__(self) -> None:
        self.schema.ensure_schema()
        self.market = SyntheticMarket(
            SyntheticMarketConfig(anchor_date=ANCHOR, tick_interval_ms=self.tick_interval_ms, tick_jitter_ms=400),
            self.cal,
        )
        self.provider = InMemoryDataProvider(self.cal)
        self.calendar_source = FixedCalendarSource(self.cal)
        self.reports = JsonFileReportSink(self.tmp / "runs")

    # --- writing raw data ----------------------------------------------------------------
    def store(self, symbol: str, ticks: np.ndarray) -> None:
        """Write one contract's ticks and their day manifests (rows first, manifest last)."""
        if ticks.shape[0] == 0:
            return
        days = self.cal.trading_days_of(ticks["datetime_ns"])
        hashes = row_hash(ticks)
        self.ticks.write_ticks(TickBatch(symbol, "raw", ticks, days, hashes))
        self.index.upsert_manifests(compute_manifests(symbol, "raw", days, hashes, ticks, self.clock.now_ns()))

    def store_market_days(self, days: list[date], symbols: list[str] | None = None) -> None:
        """Full synthetic ticks of every listed cu contract (or ``symbols``) on ``days``."""
        for day in days:
            for symbol in symbols or self.market.listed_contracts("SHFE.cu", day):
                self.store(symbol, self.market.ticks(symbol, day))

    def store_eod_only(self, days: list[date], *, l1_only_before: dict[str, date] | None = None) -> None:
        """Two ticks per listed contract-day whose last carries the market's end-of-day OI
        (cheap: the schedule needs only OI). A contract in ``l1_only_before`` has level-1-only
        books before that day (no true L5)."""
        for day in days:
            oi = self.market.end_of_day_open_interest("SHFE.cu", day)
            for symbol, value in oi.items():
                ticks = np.zeros(2, dtype=TICK_DTYPE)
                base = beijing_datetime_to_ns(datetime(day.year, day.month, day.day, 9, 0, 1))
                ticks["datetime_ns"] = [base, base + 500_000_000]
                for name in ticks.dtype.names[1:]:
                    ticks[name] = 1.0
                ticks["last_price"] = ticks["average"] = ticks["highest"] = ticks["lowest"] = 70_000.0
                for lvl in range(1, 6):
                    ticks[f"bid_price{lvl}"] = 70_000.0 - 10 * lvl
                    ticks[f"ask_price{lvl}"] = 70_000.0 + 10 * lvl
                cutoff = (l1_only_before or {}).get(symbol)
                if cutoff is not None and day < cutoff:
                    for lvl in range(2, 6):
                        for side in ("bid_price", "ask_price", "bid_volume", "ask_volume"):
                            ticks[f"{side}{lvl}"] = np.nan
                ticks["open_interest"] = [value * 0.99, value]
                self.store(symbol, ticks)

    def add_catalog(self, days: list[date]) -> None:
        """Catalog entries (with expiry) of every cu contract listed on ``days``."""
        seen = {c.symbol for c in self.provider.catalog("SHFE.cu")}
        for day in days:
            for symbol in self.market.listed_contracts("SHFE.cu", day):
                if symbol in seen:
                    continue
                seen.add(symbol)
                first, last = self.market.contract_life(symbol)
                self.provider.add_contract(
                    ContractInfo(symbol, "SHFE", "cu", False, first, last, 10.0, 5.0, "synthetic")
                )

    # --- use cases --------------------------------------------------------------------------
    def schedule_use_case(self, *, with_catalog: bool = True) -> BuildMainSchedule:
        return BuildMainSchedule(
            ticks=self.ticks,
            index=self.index,
            schedules=self.schedules,
            calendar=self.calendar_source,
            clock=self.clock,
            provider=self.provider if with_catalog else None,
            reports=self.reports,
        )

    def main_l5_use_case(self) -> BuildMainL5:
        return BuildMainL5(
            ticks=self.ticks,
            index=self.index,
            schedules=self.schedules,
            datasets=self.datasets,
            clock=self.clock,
            reports=self.reports,
        )

    def audit(self) -> AuditStore:
        return AuditStore(
            ticks=self.ticks,
            index=self.index,
            schema=self.schema,
            clock=self.clock,
            calendar=self.calendar_source,
            reports=self.reports,
        )


@pytest.fixture
def dworld(tmp_path: Path) -> DatasetWorld:
    return DatasetWorld(tmp_path)
