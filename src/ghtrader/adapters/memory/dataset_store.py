"""``InMemoryDatasetStore``: features / labels wide tables, build metadata, main_l5 provenance
and the feature registry held in dictionaries of NumPy columns.

Same semantics as the PostgreSQL store (proven by tests/contract): a write replaces whole
days, columns are added on first use (missing values NaN), timestamps keep microseconds.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
from numpy.typing import DTypeLike

from ghtrader.application.datasets.store_checks import check_dataset_rows, check_kind
from ghtrader.application.errors import InvalidArgument
from ghtrader.application.ports.datasets import (
    BUILD_KINDS,
    BuildMetadata,
    DatasetRows,
    FeatureDefinition,
    MainL5DayProvenance,
)
from ghtrader.application.ports.stores import TICKS_LAKES

__all__ = ["InMemoryDatasetStore"]


@dataclass(frozen=True)
class _Day:
    """The stored rows of one (kind, symbol, lake, trading_day)."""

    build_id: str
    datetime_ns: np.ndarray
    underlying_contract: np.ndarray | None
    segment_id: np.ndarray | None
    columns: dict[str, np.ndarray]


def _check_lake(ticks_lake: str) -> None:
    if ticks_lake not in TICKS_LAKES:
        raise InvalidArgument(f"unknown ticks_lake {ticks_lake!r}: expected one of {TICKS_LAKES}")


class InMemoryDatasetStore:
    """DatasetStore in process memory. Thread-safe. ``clock`` returns epoch ns (default: wall clock)."""

    def __init__(self, clock: Callable[[], int] = time.time_ns) -> None:
        self._clock = clock
        self._days: dict[tuple[str, str, str], dict[date, _Day]] = {}
        self._columns: dict[str, list[str]] = {}
        self._builds: dict[str, BuildMetadata] = {}
        self._provenance: dict[tuple[str, date], MainL5DayProvenance] = {}
        self._registry: dict[tuple[str, int], FeatureDefinition] = {}
        self._lock = threading.Lock()

    def _stamp(self, ns: int) -> int:
        ns = ns or self._clock()
        return ns - ns % 1000

    # --- wide tables ---------------------------------------------------------------------------
    def write_rows(self, kind: str, build_id: str, rows: DatasetRows) -> int:
        rows = check_dataset_rows(kind, build_id, rows)
        days = rows.trading_day
        new: dict[date, _Day] = {}
        for day in np.unique(days):
            idx = np.flatnonzero(days == day)
            new[day.item()] = _Day(
                build_id=build_id,
                datetime_ns=rows.datetime_ns[idx].copy(),
                underlying_contract=None if rows.underlying_contract is None else rows.underlying_contract[idx].copy(),
                segment_id=None if rows.segment_id is None else rows.segment_id[idx].copy(),
                columns={name: col[idx].copy() for name, col in rows.columns.items()},
            )
        with self._lock:
            known = self._columns.setdefault(kind, [])
            known += [c for c in rows.columns if c not in known]
            self._days.setdefault((kind, rows.symbol, rows.ticks_lake), {}).update(new)
        return len(rows)

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
        check_kind(kind)
        _check_lake(ticks_lake)
        with self._lock:
            known = list(self._columns.get(kind, []))
            stored = self._days.get((kind, symbol, ticks_lake), {})
            picked = [stored[d] for d in sorted(stored) if start_day <= d <= end_day]
            day_keys = [d for d in sorted(stored) if start_day <= d <= end_day]
        names = known if columns is None else list(columns)
        unknown = [c for c in names if c not in known]
        if unknown:
            raise InvalidArgument(f"{kind} has no columns {unknown}: build them first (known: {known})")
        counts = [d.datetime_ns.shape[0] for d in picked]
        n = int(sum(counts))

        def cat(parts: list[np.ndarray], dtype: DTypeLike) -> np.ndarray:
            return np.concatenate(parts).astype(dtype) if parts else np.empty(0, dtype=dtype)

        out: dict[str, np.ndarray] = {
            "trading_day": np.repeat(np.array(day_keys, dtype="datetime64[D]"), counts).astype("datetime64[D]"),
            "datetime_ns": cat([d.datetime_ns for d in picked], np.int64),
            "underlying_contract": cat(
                [
                    d.underlying_contract if d.underlying_contract is not None else np.full(len(d.datetime_ns), None)
                    for d in picked
                ],
                object,
            ),
            "segment_id": cat(
                [d.segment_id if d.segment_id is not None else np.full(len(d.datetime_ns), -1) for d in picked],
                np.int64,
            ),
            "build_id": cat([np.full(len(d.datetime_ns), d.build_id, dtype=object) for d in picked], object),
        }
        for name in names:
            out[name] = cat([d.columns.get(name, np.full(len(d.datetime_ns), np.nan)) for d in picked], np.float64)
        order = np.argsort(out["datetime_ns"], kind="stable")
        if n and not np.array_equal(order, np.arange(n)):
            out = {k: v[order] for k, v in out.items()}
        return out

    def built_days(self, kind: str, symbol: str, ticks_lake: str, config_hash: str | None = None) -> list[date]:
        check_kind(kind)
        _check_lake(ticks_lake)
        with self._lock:
            stored = self._days.get((kind, symbol, ticks_lake), {})
            return sorted(
                d for d, rows in stored.items() if config_hash is None or self._config_of(rows.build_id) == config_hash
            )

    def _config_of(self, build_id: str) -> str | None:
        meta = self._builds.get(build_id)
        return None if meta is None else meta.config_hash

    def stored_config_hashes(self, kind: str, symbol: str, ticks_lake: str) -> list[str]:
        check_kind(kind)
        _check_lake(ticks_lake)
        with self._lock:
            stored = self._days.get((kind, symbol, ticks_lake), {})
            hashes = {self._config_of(rows.build_id) for rows in stored.values()}
        return sorted(h for h in hashes if h is not None)

    def delete_days(self, kind: str, symbol: str, ticks_lake: str, days: Sequence[date]) -> None:
        check_kind(kind)
        _check_lake(ticks_lake)
        with self._lock:
            stored = self._days.get((kind, symbol, ticks_lake))
            if stored is None:
                return
            for d in days:
                stored.pop(d, None)

    def column_names(self, kind: str) -> list[str]:
        check_kind(kind)
        with self._lock:
            return list(self._columns.get(kind, []))

    # --- build metadata ------------------------------------------------------------------------
    def put_build(self, meta: BuildMetadata) -> None:
        if meta.kind not in BUILD_KINDS:
            raise InvalidArgument(f"unknown build kind {meta.kind!r}: expected one of {BUILD_KINDS}")
        if not meta.build_id or not meta.config_hash:
            raise InvalidArgument("build metadata needs a build_id and a config_hash")
        with self._lock:
            old = self._builds.get(meta.build_id)
            created = (
                old.created_at_ns if old is not None and not meta.created_at_ns else self._stamp(meta.created_at_ns)
            )
            self._builds[meta.build_id] = dataclasses.replace(meta, params=dict(meta.params), created_at_ns=created)

    def get_build(self, build_id: str) -> BuildMetadata | None:
        with self._lock:
            return self._builds.get(build_id)

    def builds(self, kind: str | None = None) -> list[BuildMetadata]:
        with self._lock:
            hits = [b for b in self._builds.values() if kind is None or b.kind == kind]
        return sorted(hits, key=lambda b: (b.created_at_ns, b.build_id))

    # --- main_l5 provenance ----------------------------------------------------------------------
    def put_main_l5_provenance(self, records: Sequence[MainL5DayProvenance]) -> None:
        with self._lock:
            for r in records:
                self._provenance[(r.symbol, r.trading_day)] = dataclasses.replace(
                    r, created_at_ns=self._stamp(r.created_at_ns)
                )

    def main_l5_provenance(
        self, symbol: str, start_day: date | None = None, end_day: date | None = None
    ) -> list[MainL5DayProvenance]:
        with self._lock:
            hits = [
                p
                for (sym, day), p in self._provenance.items()
                if sym == symbol and (start_day is None or day >= start_day) and (end_day is None or day <= end_day)
            ]
        return sorted(hits, key=lambda p: p.trading_day)

    def delete_main_l5_provenance(self, symbol: str, days: Sequence[date]) -> None:
        with self._lock:
            for d in days:
                self._provenance.pop((symbol, d), None)

    # --- feature registry ----------------------------------------------------------------------
    def upsert_features(self, definitions: Sequence[FeatureDefinition]) -> None:
        with self._lock:
            for d in definitions:
                key = (d.feature_name, d.version)
                old = self._registry.get(key)
                created = old.created_at_ns if old is not None else self._stamp(d.created_at_ns)
                deprecated = None if d.deprecated_at_ns is None else self._stamp(d.deprecated_at_ns)
                self._registry[key] = dataclasses.replace(
                    d, input_columns=tuple(d.input_columns), created_at_ns=created, deprecated_at_ns=deprecated
                )

    def feature_registry(self, *, include_deprecated: bool = True) -> list[FeatureDefinition]:
        with self._lock:
            rows = list(self._registry.values())
        return sorted(
            (r for r in rows if include_deprecated or r.deprecated_at_ns is None),
            key=lambda r: (r.feature_name, r.version),
        )
