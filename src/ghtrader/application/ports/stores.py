"""Storage ports: ticks, the symbol-day index (day manifest) and the no-data ledger.

Every store (embedded PostgreSQL, QuestDB, in-memory fake) implements these with the same
semantics, proven by one contract test suite (tests/contract/).

Conventions:
- ``ticks_lake`` is ``"raw"`` (a provider's own rows) or ``"main_l5"`` (the derived continuous
  main contract). ``lake_version`` is always ``"v2"``.
- Row identity is ``(symbol, ticks_lake, datetime_ns)``: writing the same rows twice changes
  nothing (upsert; the later write wins).
- Trading days cross this boundary as ``datetime.date`` (scalars) or ``datetime64[D]`` arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal, Protocol

import numpy as np

from ghtrader.application.errors import InvalidArgument
from ghtrader.application.ports.datasets import DatasetStore, ScheduleStore
from ghtrader.application.ports.models import ModelRegistry
from ghtrader.application.ports.providers import DataSource
from ghtrader.application.ports.system import StoreProbe
from ghtrader.domain.ticks import MARKET_FIELDS

LAKE_VERSION = "v2"
TicksLake = Literal["raw", "main_l5"]
TICKS_LAKES: tuple[str, ...] = ("raw", "main_l5")


@dataclass(frozen=True)
class MainL5Provenance:
    """Per-row provenance of main_l5 rows (arrays aligned with the tick rows)."""

    underlying_contract: np.ndarray  # object/str array, e.g. "SHFE.cu2602"
    segment_id: np.ndarray  # int64
    schedule_hash: str


@dataclass(frozen=True)
class TickBatch:
    """Ticks of ONE symbol in one lake, ready to store.

    ``ticks`` is a structured array of ``ghtrader.domain.ticks.TICK_DTYPE`` sorted by
    ``datetime_ns``; ``trading_day`` (datetime64[D]) and ``row_hash`` (int64) are aligned with it.
    """

    symbol: str
    ticks_lake: str
    ticks: np.ndarray
    trading_day: np.ndarray
    row_hash: np.ndarray
    main_l5: MainL5Provenance | None = None

    def __len__(self) -> int:
        return int(self.ticks.shape[0])


@dataclass(frozen=True)
class DayManifest:
    """One row of the symbol-day index: what the store holds for (symbol, trading_day, lake).

    ``row_hash_sum`` and ``row_hash_sum_abs`` are int64 sums with two's-complement wrap-around
    (``abs(INT64_MIN)`` stays ``INT64_MIN``), so every store and NumPy agree bit for bit.
    """

    symbol: str
    trading_day: date
    ticks_lake: str
    rows_total: int
    first_datetime_ns: int
    last_datetime_ns: int
    l5_present: bool
    row_hash_min: int
    row_hash_max: int
    row_hash_sum: int
    row_hash_sum_abs: int
    updated_at_ns: int = 0
    lake_version: str = LAKE_VERSION

    def same_content(self, other: DayManifest) -> bool:
        """True when both describe identical stored rows (ignores ``updated_at_ns``)."""
        return (
            self.symbol,
            self.trading_day,
            self.ticks_lake,
            self.rows_total,
            self.first_datetime_ns,
            self.last_datetime_ns,
            self.l5_present,
            self.row_hash_min,
            self.row_hash_max,
            self.row_hash_sum,
            self.row_hash_sum_abs,
        ) == (
            other.symbol,
            other.trading_day,
            other.ticks_lake,
            other.rows_total,
            other.first_datetime_ns,
            other.last_datetime_ns,
            other.l5_present,
            other.row_hash_min,
            other.row_hash_max,
            other.row_hash_sum,
            other.row_hash_sum_abs,
        )


@dataclass(frozen=True)
class NoDataDay:
    """A requested trading day for which the provider had zero ticks, and where that answer
    came from: the provider, the request, and for a file-based provider the file (or files,
    joined by ``;``) with its size and modification time (-1 when not a file)."""

    symbol: str
    trading_day: date
    ticks_lake: str
    reason: str
    created_at_ns: int = 0
    lake_version: str = LAKE_VERSION
    provider: str = ""  # "" for entries recorded before provenance was kept
    request: str = ""  # e.g. "fetch_days(SHFE.cu2602, 2026-01-05, 2026-01-09)"
    source_path: str = ""
    source_size: int = -1
    source_mtime_ns: int = -1

    def source_changed(self, source: DataSource) -> bool:
        """True when ``source`` is not what this entry was recorded from (another provider, or
        the file's path, size or mtime differ), so the day should be downloaded again. An entry
        without provenance never counts as changed."""
        if not self.provider:
            return False
        if self.provider != source.provider:
            return True
        recorded = (self.source_path, self.source_size, self.source_mtime_ns)
        return recorded != (source.path, source.size, source.mtime_ns)


def market_columns(columns: Sequence[str]) -> tuple[str, ...]:
    """``columns`` checked against the market fields (duplicates dropped, order kept): the
    columns a narrow read (:meth:`TickStore.read_tick_columns`) may ask for."""
    names = tuple(dict.fromkeys(columns))
    unknown = [c for c in names if c not in MARKET_FIELDS]
    if unknown or not names:
        raise InvalidArgument(
            f"invalid tick columns {unknown or list(names)}: expected one or more of {list(MARKET_FIELDS)}"
        )
    return names


@dataclass(frozen=True)
class StoredTicks:
    """Ticks read back from a store: columns as NumPy arrays, never Python row tuples."""

    symbol: str
    ticks_lake: str
    ticks: np.ndarray  # TICK_DTYPE, sorted by datetime_ns
    trading_day: np.ndarray  # datetime64[D]
    row_hash: np.ndarray  # int64 as stored
    underlying_contract: np.ndarray | None = None  # main_l5 only
    segment_id: np.ndarray | None = None  # main_l5 only
    schedule_hash: np.ndarray | None = None  # main_l5 only

    def __len__(self) -> int:
        return int(self.ticks.shape[0])


class TickStore(Protocol):
    """The tick table (``ghtrader_ticks_raw_v2``)."""

    def write_ticks(self, batch: TickBatch) -> int:
        """Upsert rows by identity; returns the number of rows sent. Atomic per call where the
        backend allows; a retry of the same batch is always safe."""
        ...

    def read_ticks(
        self,
        symbol: str,
        ticks_lake: str,
        start_day: date,
        end_day: date,
    ) -> StoredTicks:
        """All rows of symbol/lake whose trading_day is in [start_day, end_day], by time."""
        ...

    def read_tick_columns(
        self,
        symbol: str,
        ticks_lake: str,
        start_day: date,
        end_day: date,
        columns: Sequence[str],
    ) -> dict[str, np.ndarray]:
        """``datetime_ns`` (int64) and the market ``columns`` (float64, see :func:`market_columns`)
        of the rows ``read_ticks`` returns for the same arguments, in the same order: a narrow read
        for callers that need a few columns (as-of mids of other symbols, say)."""
        ...

    def tick_days(self, symbol: str, ticks_lake: str) -> list[date]:
        """Trading days that have at least one stored row (a scan; not for request paths)."""
        ...

    def tick_symbols(self, ticks_lake: str) -> list[str]:
        """Symbols with at least one stored row in the lake."""
        ...

    def delete_days(self, symbol: str, ticks_lake: str, days: Sequence[date]) -> None:
        """Remove every row of those trading days (used by overwrite rebuilds)."""
        ...

    def end_of_day_open_interest(
        self,
        symbols: Sequence[str],
        ticks_lake: str,
        start_day: date,
        end_day: date,
    ) -> dict[tuple[str, date], float]:
        """``open_interest`` of the last tick (largest ``datetime_ns``) of each
        (symbol, trading_day) with rows in [start_day, end_day]; NaN stays NaN."""
        ...


class IndexStore(Protocol):
    """The day manifest (``ghtrader_symbol_day_index_v2``) and no-data ledger
    (``ghtrader_no_data_days_v2``)."""

    def upsert_manifests(self, manifests: Sequence[DayManifest]) -> None: ...

    def manifests(
        self,
        symbol: str | None = None,
        ticks_lake: str = "raw",
        start_day: date | None = None,
        end_day: date | None = None,
    ) -> list[DayManifest]:
        """Index rows, sorted by (symbol, trading_day)."""
        ...

    def delete_manifests(self, symbol: str, ticks_lake: str, days: Sequence[date]) -> None: ...

    def indexed_symbols(self, ticks_lake: str = "raw") -> list[str]: ...

    def record_no_data(self, days: Sequence[NoDataDay]) -> None:
        """Idempotent: unique on (symbol, trading_day, lake_version, ticks_lake); an entry
        already recorded keeps its first record (reason, created_at and provenance)."""
        ...

    def no_data_days(
        self,
        symbol: str | None = None,
        ticks_lake: str = "raw",
        start_day: date | None = None,
        end_day: date | None = None,
    ) -> list[NoDataDay]: ...

    def clear_no_data(self, symbol: str, ticks_lake: str, days: Sequence[date]) -> None:
        """Forget no-data entries (data arrived later for those days)."""
        ...


class SchemaManager(Protocol):
    """Owns the DDL and migrations of every ghTrader table in one store."""

    def ensure_schema(self) -> list[str]:
        """Create missing tables / apply pending migrations; returns what was applied."""
        ...

    def table_names(self) -> list[str]: ...


@dataclass
class StoreBundle:
    """The set of store ports one backend provides (what the container hands to use cases).

    Every backend fills every field, so the type checker, not a key lookup at run time, proves
    the wiring. Backend-specific handles (a connection pool, the server URL ...) live on the
    adapter's subclass of this bundle, never here.
    """

    backend: str
    ticks: TickStore
    index: IndexStore
    schema: SchemaManager
    schedules: ScheduleStore
    datasets: DatasetStore
    models: ModelRegistry
    probe: StoreProbe
