"""Dataset ports: the main schedule, derived datasets (features / labels), build metadata,
main_l5 provenance, the feature registry and the online feature store.

Every store (embedded PostgreSQL, in-memory fake) implements these with the same semantics,
proven by the contract suite (tests/contract/).

Conventions:
- Dataset kinds are ``"features"``, ``"labels"`` (direction labels) and ``"fill_labels"``: wide
  tables (``ghtrader_features_v2``, ``ghtrader_labels_v2``, ``ghtrader_fill_labels_v2``) with one
  float column per factor / label, keyed by symbol, ticks_lake, trading_day and datetime_ns and
  carrying underlying_contract, segment_id and build_id.
- Each kind stores its values as :data:`DATASET_DTYPES` says: features as float32 (a write
  rounds each value to the nearest float32; models see no difference, see
  bench/factor_dtype_bench.py and docs/datasets.md, and the table takes half the bytes),
  labels and fill labels as float64 (targets stay exact: ``ttf_*_ns`` needs more than 24 bits).
  Reads always return float64 arrays holding exactly the stored values.
- A dataset day is written whole: :meth:`DatasetStore.write_rows` replaces every stored row of
  the symbol, lake and trading days it carries, atomically. A day is therefore either absent or
  complete, and which days exist for a config is read back from the rows (the row write is the
  commit marker).
- ``build_id`` names the build run that wrote a row; :class:`BuildMetadata` maps it to the
  config hash and parameters of that run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, Protocol

import numpy as np

from ghtrader.domain.factors import STORED_DTYPE as FACTOR_STORED_DTYPE
from ghtrader.domain.schedule import MainSchedule

__all__ = [
    "BUILD_KINDS",
    "DATASET_DTYPES",
    "DATASET_KINDS",
    "DATASET_TABLES",
    "BuildMetadata",
    "DatasetKind",
    "DatasetRows",
    "DatasetStore",
    "FeatureDefinition",
    "FeatureValue",
    "MainL5DayProvenance",
    "OnlineFeatureStore",
    "ScheduleStore",
]

DatasetKind = Literal["features", "labels", "fill_labels"]
DATASET_KINDS: tuple[str, ...] = ("features", "labels", "fill_labels")
#: Kinds a build-metadata row may have (main_l5 builds are recorded too).
BUILD_KINDS: tuple[str, ...] = ("features", "labels", "fill_labels", "main_l5")
#: The dtype each kind's values are stored as (reads widen them to float64, losslessly).
DATASET_DTYPES: Mapping[str, str] = {"features": FACTOR_STORED_DTYPE, "labels": "float64", "fill_labels": "float64"}
DATASET_TABLES: Mapping[str, str] = {
    "features": "ghtrader_features_v2",
    "labels": "ghtrader_labels_v2",
    "fill_labels": "ghtrader_fill_labels_v2",
}


# --- schedule -----------------------------------------------------------------------------------
class ScheduleStore(Protocol):
    """The main-contract schedule of each variety (``ghtrader_main_schedule_v2``).

    One schedule per (exchange, variety): saving replaces the stored one. The table keeps the
    rows, the hash and the rule's ``switch_ratio``; loading rebuilds the schedule with the stored
    ratio (or the one the caller names) and checks that the rebuilt hash equals the stored one.
    """

    def save_schedule(self, schedule: MainSchedule) -> None:
        """Store ``schedule`` as the variety's schedule (atomic; saving it again changes nothing)."""
        ...

    def load_schedule(self, exchange: str, variety: str, *, switch_ratio: float | None = None) -> MainSchedule | None:
        """The stored schedule, or None when there is none.

        ``switch_ratio`` None uses the stored ratio (the default ratio for rows saved before the
        table kept it). Raises ``FailedPrecondition`` when the stored rows do not hash to the
        stored hash with that ratio (a named ratio other than the one it was built with).
        """
        ...

    def schedule_hashes(self, exchange: str, variety: str) -> list[str]:
        """Hashes of the stored schedules of the variety (one, or none)."""
        ...


# --- datasets -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class DatasetRows:
    """Rows of one symbol and lake for a wide dataset table, as aligned NumPy columns.

    ``trading_day`` (datetime64[D]) and ``datetime_ns`` (int64, ascending, unique) are the keys;
    ``underlying_contract`` (object of str) and ``segment_id`` (int64) are the main_l5
    provenance (None for a raw series); ``columns`` maps each float column name to float64
    values (NaN = missing), stored rounded to the kind's :data:`DATASET_DTYPES` entry.
    """

    symbol: str
    ticks_lake: str
    trading_day: np.ndarray
    datetime_ns: np.ndarray
    columns: Mapping[str, np.ndarray]
    underlying_contract: np.ndarray | None = None
    segment_id: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.datetime_ns.shape[0])

    def days(self) -> list[date]:
        """The distinct trading days of the rows, ascending."""
        return [d.item() for d in np.unique(np.asarray(self.trading_day).astype("datetime64[D]"))]


@dataclass(frozen=True)
class BuildMetadata:
    """One build run of one kind (``ghtrader_build_metadata_v2``).

    ``params`` is JSON-ready: for features / labels at least ``symbol``, ``ticks_lake``, the
    column set and lookbacks; for main_l5 the variety and schedule. ``created_at_ns`` 0 means
    "stamp with the store's clock".
    """

    build_id: str
    kind: str
    config_hash: str
    params: Mapping[str, Any] = field(default_factory=dict)
    created_at_ns: int = 0


@dataclass(frozen=True)
class MainL5DayProvenance:
    """Where one main_l5 day came from (``ghtrader_main_l5_provenance_v2``)."""

    symbol: str
    trading_day: date
    underlying_contract: str
    segment_id: int
    schedule_hash: str
    rows_total: int  # main_l5 rows written
    source_rows: int  # raw rows of the underlying read
    created_at_ns: int = 0


@dataclass(frozen=True)
class FeatureDefinition:
    """One row of the feature registry (``ghtrader_feature_registry_v2``): a factor's lineage.

    ``input_columns`` are the raw tick columns the factor reads; ``lookback_ticks`` the rows of
    history it needs; ``ttl_seconds`` how long an online value stays fresh (None: forever).
    ``deprecated_at_ns`` is set when the factor left the registry.
    """

    feature_name: str
    version: int
    definition_hash: str
    input_columns: tuple[str, ...]
    output_dtype: str
    lookback_ticks: int
    ttl_seconds: float | None = None
    created_at_ns: int = 0
    deprecated_at_ns: int | None = None


class DatasetStore(Protocol):
    """Features and labels wide tables plus build metadata, main_l5 provenance and the feature
    registry."""

    # wide tables
    def write_rows(self, kind: str, build_id: str, rows: DatasetRows) -> int:
        """Replace every stored row of ``rows.symbol`` / ``rows.ticks_lake`` on the trading days
        present in ``rows`` with ``rows`` (one transaction); returns the rows written. New float
        columns are added to the table; columns the rows lack are NaN."""
        ...

    def read(
        self,
        kind: str,
        symbol: str,
        start_day: date,
        end_day: date,
        *,
        ticks_lake: str = "main_l5",
        columns: Sequence[str] | None = None,
    ) -> dict[str, np.ndarray]:
        """Rows with trading_day in [start_day, end_day], by datetime_ns: ``trading_day``,
        ``datetime_ns``, ``underlying_contract`` (object, None for raw), ``segment_id`` (int64,
        -1 for none), ``build_id`` (object) and the float columns (``columns``, or every float
        column of the table; a column the table lacks raises InvalidArgument)."""
        ...

    def built_days(self, kind: str, symbol: str, ticks_lake: str, config_hash: str | None = None) -> list[date]:
        """Trading days with stored rows, written by builds of ``config_hash`` (any when None)."""
        ...

    def stored_config_hashes(self, kind: str, symbol: str, ticks_lake: str) -> list[str]:
        """Config hashes of the builds whose rows are stored for the symbol, sorted."""
        ...

    def delete_days(self, kind: str, symbol: str, ticks_lake: str, days: Sequence[date]) -> None: ...

    def column_names(self, kind: str) -> list[str]:
        """Float columns the kind's table has, in table order."""
        ...

    # build metadata
    def put_build(self, meta: BuildMetadata) -> None:
        """Insert or replace by ``build_id``."""
        ...

    def get_build(self, build_id: str) -> BuildMetadata | None: ...

    def builds(self, kind: str | None = None) -> list[BuildMetadata]:
        """Every build (of ``kind``), oldest first."""
        ...

    # main_l5 provenance
    def put_main_l5_provenance(self, records: Sequence[MainL5DayProvenance]) -> None:
        """Insert or replace by (symbol, trading_day)."""
        ...

    def main_l5_provenance(
        self, symbol: str, start_day: date | None = None, end_day: date | None = None
    ) -> list[MainL5DayProvenance]:
        """Provenance rows of the symbol, by trading day."""
        ...

    def delete_main_l5_provenance(self, symbol: str, days: Sequence[date]) -> None: ...

    # feature registry
    def upsert_features(self, definitions: Sequence[FeatureDefinition]) -> None:
        """Insert or replace by (feature_name, version); ``created_at_ns`` of an existing row is
        kept, ``deprecated_at_ns`` is taken from the definition."""
        ...

    def feature_registry(self, *, include_deprecated: bool = True) -> list[FeatureDefinition]:
        """Registry rows sorted by (feature_name, version)."""
        ...


# --- online store -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class FeatureValue:
    """The latest value of one feature of one symbol and the event time it belongs to."""

    symbol: str
    feature: str
    value: float
    event_time_ns: int


class OnlineFeatureStore(Protocol):
    """Latest value and event time per (symbol, feature), for serving. Reads must be cheap
    (sub-millisecond); freshness (TTL) is judged by the caller."""

    def put_latest(self, symbol: str, values: Mapping[str, float], event_time_ns: int) -> None:
        """Set the latest values; an update older than the stored event time is ignored."""
        ...

    def get_latest(self, symbol: str, feature: str) -> FeatureValue | None: ...

    def get_many(self, symbol: str, features: Sequence[str]) -> dict[str, FeatureValue | None]: ...

    def symbols(self) -> list[str]: ...
