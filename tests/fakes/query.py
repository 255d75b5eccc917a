"""In-memory fake of the ReadOnlyQuery port: every statement returns one fixed table."""

from __future__ import annotations

from dataclasses import dataclass, field

from ghtrader.application.ports.query import Cell, QueryColumn, QueryRows, SqlDialect
from ghtrader.application.query.cells import rows_size


@dataclass
class InMemoryReadOnlyQuery:
    """Answers any statement with ``rows`` under ``columns``, honouring the caps like a real
    store; ``statements`` records what reached it (a refused statement must never arrive)."""

    columns: tuple[QueryColumn, ...] = (QueryColumn("x", "int8"),)
    rows: list[tuple[Cell, ...]] = field(default_factory=list)
    dialect: SqlDialect = "postgres"
    description: str = "in-memory"
    statements: list[str] = field(default_factory=list)

    def fetch(self, statement: str, *, max_rows: int, timeout_s: float, max_bytes: int) -> QueryRows:
        self.statements.append(statement)
        rows = self.rows[: max_rows + 1]
        truncated_by = "max_rows" if len(rows) > max_rows else ""
        rows = rows[:max_rows]
        kept = rows_size(rows, max_bytes)
        if kept < len(rows):
            rows, truncated_by = rows[:kept], "max_bytes"
        return QueryRows(self.columns, rows, truncated_by)
