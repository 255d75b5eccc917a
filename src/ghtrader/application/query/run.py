"""RunQuery: one validated, capped, time-limited read-only SELECT over the active store."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ghtrader.application.errors import InvalidArgument
from ghtrader.application.ports.clock import Clock
from ghtrader.application.ports.query import Cell, QueryColumn, ReadOnlyQuery
from ghtrader.application.query.cells import rows_size
from ghtrader.application.query.validate import validate_statement

__all__ = [
    "DEFAULT_MAX_ROWS",
    "DEFAULT_TIMEOUT_S",
    "MAX_RESULT_BYTES",
    "MAX_ROWS_LIMIT",
    "MAX_TIMEOUT_S",
    "QueryResult",
    "RunQuery",
]

DEFAULT_MAX_ROWS = 1000
MAX_ROWS_LIMIT = 100_000
DEFAULT_TIMEOUT_S = 5.0
MAX_TIMEOUT_S = 300.0
#: A response stays under gRPC's default 4 MiB message limit: rows past this size are cut.
MAX_RESULT_BYTES = 3 * 2**20


@dataclass(frozen=True)
class QueryResult:
    statement: str  # what was sent to the store (comments removed)
    store: str  # the store and its guards, e.g. "postgres (role ghtrader_reader, read-only transaction)"
    columns: tuple[QueryColumn, ...]
    rows: list[tuple[Cell, ...]]
    truncated: bool  # more rows existed than were returned
    truncated_by: str  # "" | "max_rows" | "max_bytes"
    max_rows: int
    timeout_s: float
    elapsed_s: float


class RunQuery:
    """Validate (before anything reaches the database), then fetch through the ReadOnlyQuery port.

    ``max_rows`` (default 1000, at most 100,000) and ``timeout_s`` (default 5, at most 300) are
    the caller's caps; ``None`` takes the default. A refused statement raises
    :class:`~ghtrader.application.query.validate.QueryRefused` (an ``InvalidArgument``).
    """

    def __init__(self, query: ReadOnlyQuery, clock: Clock, *, max_result_bytes: int = MAX_RESULT_BYTES) -> None:
        self._query = query
        self._clock = clock
        self._max_bytes = max_result_bytes

    def __call__(self, statement: str, *, max_rows: int | None = None, timeout_s: float | None = None) -> QueryResult:
        rows_cap = DEFAULT_MAX_ROWS if max_rows is None else max_rows
        if not 1 <= rows_cap <= MAX_ROWS_LIMIT:
            raise InvalidArgument(f"max_rows must be 1..{MAX_ROWS_LIMIT:,}, got {rows_cap}")
        timeout = DEFAULT_TIMEOUT_S if timeout_s is None else timeout_s
        if not (math.isfinite(timeout) and 0 < timeout <= MAX_TIMEOUT_S):
            raise InvalidArgument(f"timeout_s must be > 0 and at most {MAX_TIMEOUT_S:g}, got {timeout}")
        valid = validate_statement(statement, self._query.dialect)
        started = self._clock.monotonic_s()
        fetched = self._query.fetch(valid.sql, max_rows=rows_cap, timeout_s=timeout, max_bytes=self._max_bytes)
        elapsed = self._clock.monotonic_s() - started
        # the port promises the caps; enforce them here too, so no adapter can exceed them
        rows, truncated_by = fetched.rows, fetched.truncated_by
        if len(rows) > rows_cap:
            rows, truncated_by = rows[:rows_cap], "max_rows"
        kept = rows_size(rows, self._max_bytes)
        if kept < len(rows):
            rows, truncated_by = rows[:kept], "max_bytes"
        return QueryResult(
            statement=valid.sql,
            store=self._query.description,
            columns=fetched.columns,
            rows=rows,
            truncated=bool(truncated_by),
            truncated_by=truncated_by,
            max_rows=rows_cap,
            timeout_s=timeout,
            elapsed_s=elapsed,
        )
