"""AuditStore: check that the store holds what the index says, and that every row is sound.

Checks (each finding names symbol, trading day, check, detail and severity):

- ``schema``: the required tables exist; rows read back have ``TICK_DTYPE``.
- ``datetime``: ``datetime_ns`` never decreases within a day; no duplicate ``datetime_ns``.
- ``trading_day``: the stored trading day agrees with the calendar (when one is given).
- ``sanity``: the tick sanity rules of ``ghtrader.domain.ticks.check_sanity``.
- ``row_hash``: the hash recomputed from the stored fields equals the stored ``row_hash``.
- ``index``: the manifest recomputed from the stored rows has the same content as the index
  row; index days without ticks and tick days without an index row.
- ``main_l5``: each main_l5 row equals the raw row of its underlying contract at the same
  ``datetime_ns`` in all 28 market fields and in ``row_hash``.

Row-reading checks run on every stored day, or on ``sample_days`` days per symbol and lake
drawn with ``seed``. The index/tick day lists are always compared in full.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

import numpy as np

from ghtrader.application.contract_windows import check_symbol
from ghtrader.application.errors import InvalidArgument
from ghtrader.application.manifests import compute_manifests
from ghtrader.application.ports.clock import Clock
from ghtrader.application.ports.providers import CalendarSource
from ghtrader.application.ports.reports import ReportSink
from ghtrader.application.ports.stores import (
    TICKS_LAKES,
    DayManifest,
    IndexStore,
    SchemaManager,
    StoredTicks,
    TickStore,
)
from ghtrader.application.progress import ProgressCallback, no_progress
from ghtrader.application.reporting import make_run_id, to_jsonable
from ghtrader.domain.calendar import TradingCalendar
from ghtrader.domain.ticks import MARKET_FIELDS, REASON_NAMES, TICK_DTYPE, check_sanity, row_hash

REQUIRED_TABLES: tuple[str, ...] = (
    "ghtrader_ticks_raw_v2",
    "ghtrader_symbol_day_index_v2",
    "ghtrader_no_data_days_v2",
)
CHECKS: tuple[str, ...] = ("schema", "datetime", "trading_day", "sanity", "row_hash", "index", "main_l5")
_MANIFEST_FIELDS = (
    "rows_total",
    "first_datetime_ns",
    "last_datetime_ns",
    "l5_present",
    "row_hash_min",
    "row_hash_max",
    "row_hash_sum",
    "row_hash_sum_abs",
)

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class AuditFinding:
    symbol: str
    trading_day: date | None
    check: str
    detail: str
    severity: Severity = "error"
    ticks_lake: str = "raw"


@dataclass
class CheckStats:
    checked: int = 0  # partitions (symbol, lake, day) or tables examined
    errors: int = 0
    warnings: int = 0


@dataclass(frozen=True)
class AuditStoreRequest:
    """Audit ``symbols`` (every stored or indexed symbol when empty) in ``ticks_lakes``.

    ``sample_days``: row-reading checks on that many days per symbol and lake (None: all).
    ``max_row_findings``: rows named individually per (symbol, day, check); the rest are summed
    up in one more finding.
    """

    symbols: tuple[str, ...] = ()
    ticks_lakes: tuple[str, ...] = TICKS_LAKES
    sample_days: int | None = None
    seed: int = 0
    max_row_findings: int = 5


@dataclass
class AuditStoreResult:
    ok: bool
    checks: dict[str, CheckStats]
    findings: list[AuditFinding]
    symbols: int
    partitions_read: int
    duration_s: float
    run_id: str = ""
    report_path: str | None = None

    def errors(self, check: str | None = None) -> list[AuditFinding]:
        return [f for f in self.findings if f.severity == "error" and (check is None or f.check == check)]


@dataclass
class _Audit:
    max_row_findings: int
    checks: dict[str, CheckStats] = field(default_factory=lambda: {c: CheckStats() for c in CHECKS})
    findings: list[AuditFinding] = field(default_factory=list)

    def checked(self, check: str, n: int = 1) -> None:
        self.checks[check].checked += n

    def add(
        self, lake: str, symbol: str, day: date | None, check: str, detail: str, severity: Severity = "error"
    ) -> None:
        stats = self.checks[check]
        if severity == "error":
            stats.errors += 1
        else:
            stats.warnings += 1
        self.findings.append(AuditFinding(symbol, day, check, detail, severity, lake))

    def rows(self, lake: str, symbol: str, day: date, check: str, what: str, dt: np.ndarray) -> None:
        """Findings for the rows at ``dt`` (datetime_ns values): the first few by name."""
        for ns in dt[: self.max_row_findings]:
            self.add(lake, symbol, day, check, f"{what} at datetime_ns={int(ns)}")
        if dt.shape[0] > self.max_row_findings:
            self.add(lake, symbol, day, check, f"{what}: {dt.shape[0] - self.max_row_findings} more rows")


def _fields_equal(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise equality of two TICK_DTYPE arrays over datetime_ns and all market fields
    (NaN equals NaN)."""
    eq = a["datetime_ns"] == b["datetime_ns"]
    for name in MARKET_FIELDS:
        x, y = a[name], b[name]
        eq &= (x == y) | (np.isnan(x) & np.isnan(y))
    return eq


class AuditStore:
    def __init__(
        self,
        *,
        ticks: TickStore,
        index: IndexStore,
        schema: SchemaManager,
        clock: Clock,
        calendar: CalendarSource | None = None,
        reports: ReportSink | None = None,
    ) -> None:
        self._ticks = ticks
        self._index = index
        self._schema = schema
        self._clock = clock
        self._calendar = calendar
        self._reports = reports

    def __call__(self, request: AuditStoreRequest, progress: ProgressCallback = no_progress) -> AuditStoreResult:
        for lake in request.ticks_lakes:
            if lake not in TICKS_LAKES:
                raise InvalidArgument(f"unknown ticks lake {lake!r}: expected one of {TICKS_LAKES}")
        if request.sample_days is not None and request.sample_days < 1:
            raise InvalidArgument(f"sample_days must be >= 1 (or unset for every day), got {request.sample_days}")
        started = self._clock.monotonic_s()
        now_ns = self._clock.now_ns()
        cal = self._calendar.load() if self._calendar is not None else None
        audit = _Audit(max(0, request.max_row_findings))

        tables = set(self._schema.table_names())
        audit.checked("schema")
        for table in REQUIRED_TABLES:
            if table not in tables:
                audit.add("", "", None, "schema", f"table {table} is missing: run the server once (ensure_schema)")

        work: list[tuple[str, str]] = []
        for lake in request.ticks_lakes:
            if request.symbols:
                names = [check_symbol(s) for s in request.symbols]
            else:
                names = sorted(set(self._ticks.tick_symbols(lake)) | set(self._index.indexed_symbols(lake)))
            work += [(lake, s) for s in names]
        partitions = 0
        for i, (lake, symbol) in enumerate(work):
            progress(i, len(work), f"auditing {symbol} ({lake})")
            partitions += self._audit_symbol(audit, lake, symbol, request, cal, now_ns)
        progress(len(work), len(work), "audit done")

        ok = not any(f.severity == "error" for f in audit.findings)
        result = AuditStoreResult(
            ok=ok,
            checks=audit.checks,
            findings=audit.findings,
            symbols=len({s for _, s in work}),
            partitions_read=partitions,
            duration_s=self._clock.monotonic_s() - started,
            run_id=make_run_id(now_ns, "audit"),
        )
        if self._reports is not None:
            payload = {"use_case": "audit", "request": to_jsonable(request), "result": to_jsonable(result)}
            result.report_path = self._reports.write_json("audit", result.run_id, payload)
        return result

    def _audit_symbol(
        self,
        audit: _Audit,
        lake: str,
        symbol: str,
        request: AuditStoreRequest,
        cal: TradingCalendar | None,
        now_ns: int,
    ) -> int:
        tick_days = set(self._ticks.tick_days(symbol, lake))
        manifests = {m.trading_day: m for m in self._index.manifests(symbol, lake)}
        audit.checked("index", len(tick_days | set(manifests)))
        for day in sorted(set(manifests) - tick_days):
            audit.add(lake, symbol, day, "index", "index row without ticks: run `data bootstrap-index`")
        for day in sorted(tick_days - set(manifests)):
            audit.add(lake, symbol, day, "index", "ticks without an index row: run `data bootstrap-index`")

        days = sorted(tick_days)
        if request.sample_days is not None and len(days) > request.sample_days:
            rng = random.Random(f"{request.seed}|{lake}|{symbol}")
            days = sorted(rng.sample(days, request.sample_days))
        for day in days:
            stored = self._ticks.read_ticks(symbol, lake, day, day)
            self._audit_day(audit, lake, symbol, day, stored, manifests.get(day), cal, now_ns)
        return len(days)

    def _audit_day(
        self,
        audit: _Audit,
        lake: str,
        symbol: str,
        day: date,
        stored: StoredTicks,
        manifest: DayManifest | None,
        cal: TradingCalendar | None,
        now_ns: int,
    ) -> None:
        arr = stored.ticks
        audit.checked("schema")
        if arr.dtype != TICK_DTYPE:
            audit.add(lake, symbol, day, "schema", f"stored rows have dtype {arr.dtype}, expected TICK_DTYPE")
            return
        dt = arr["datetime_ns"]

        audit.checked("datetime")
        step = np.diff(dt)
        if np.any(step < 0):
            audit.rows(lake, symbol, day, "datetime", "datetime_ns decreases", dt[1:][step < 0])
        n_dup = int(np.count_nonzero(step == 0))
        if n_dup:
            audit.add(
                lake,
                symbol,
                day,
                "datetime",
                f"{n_dup} duplicate datetime_ns ({n_dup / max(1, dt.shape[0]):.2%} of {dt.shape[0]} rows), "
                f"first at datetime_ns={int(dt[1:][step == 0][0])}",
            )

        audit.checked("trading_day")
        wrong = stored.trading_day != np.datetime64(day, "D")
        if cal is not None:
            wrong |= cal.trading_days_of(dt) != stored.trading_day
        if np.any(wrong):
            audit.rows(lake, symbol, day, "trading_day", "trading_day disagrees with the calendar", dt[wrong])

        audit.checked("sanity")
        report = check_sanity(arr)
        for bit_rows, text in _rows_per_reason(report.reasons):
            audit.rows(lake, symbol, day, "sanity", text, dt[bit_rows])

        audit.checked("row_hash")
        bad_hash = row_hash(arr) != stored.row_hash
        if np.any(bad_hash):
            audit.rows(
                lake,
                symbol,
                day,
                "row_hash",
                "stored row_hash differs from the row's fields (corrupted row)",
                dt[bad_hash],
            )

        if manifest is not None:
            fresh = compute_manifests(symbol, lake, stored.trading_day, stored.row_hash, arr, now_ns)[0]
            if not fresh.same_content(manifest):
                diffs = [
                    f"{name}: index {getattr(manifest, name)} vs ticks {getattr(fresh, name)}"
                    for name in _MANIFEST_FIELDS
                    if getattr(manifest, name) != getattr(fresh, name)
                ]
                audit.add(lake, symbol, day, "index", "manifest differs from the stored rows: " + "; ".join(diffs))

        if lake == "main_l5":
            self._audit_main_l5(audit, symbol, day, stored)

    def _audit_main_l5(self, audit: _Audit, symbol: str, day: date, stored: StoredTicks) -> None:
        audit.checked("main_l5")
        lake = "main_l5"
        if stored.underlying_contract is None:
            audit.add(lake, symbol, day, "main_l5", "main_l5 rows carry no underlying_contract")
            return
        underlying = np.asarray(stored.underlying_contract).astype(str)
        arr, dt = stored.ticks, stored.ticks["datetime_ns"]
        for contract in np.unique(underlying):
            rows = np.flatnonzero(underlying == contract)
            raw = self._ticks.read_ticks(str(contract), "raw", day, day)
            raw_dt = raw.ticks["datetime_ns"]
            pos = np.searchsorted(raw_dt, dt[rows])
            pos_ok = pos < raw_dt.shape[0]
            found = np.zeros(rows.shape[0], dtype=bool)
            found[pos_ok] = raw_dt[pos[pos_ok]] == dt[rows][pos_ok]
            if not found.all():
                audit.rows(lake, symbol, day, "main_l5", f"no raw {contract} row at the same time", dt[rows][~found])
            hit, at = rows[found], pos[found]
            same = _fields_equal(arr[hit], raw.ticks[at]) & (stored.row_hash[hit] == raw.row_hash[at])
            if not same.all():
                audit.rows(lake, symbol, day, "main_l5", f"row differs from raw {contract}", dt[hit][~same])


def _rows_per_reason(reasons: np.ndarray) -> list[tuple[np.ndarray, str]]:
    out = []
    for bit, text in REASON_NAMES.items():
        mask = (reasons & bit) != 0
        if mask.any():
            out.append((mask, text))
    return out
