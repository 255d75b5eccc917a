"""Port for read-only SQL over the active store (``ghtrader query``, QueryService)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

#: How a store's SQL is tokenised: PostgreSQL's full lexical syntax, or QuestDB's PG-wire
#: dialect (no dollar quotes, no escape strings: the validator refuses what QuestDB might read
#: differently from the tokenizer).
SqlDialect = Literal["postgres", "questdb"]

#: A cell as it crosses the port: SQL NULL is None; everything else is one of these plain types
#: (numerics beyond int64/float64, timestamps, intervals, JSON... arrive as their text form).
Cell = bool | int | float | str | bytes | None


@dataclass(frozen=True)
class QueryColumn:
    name: str
    type_name: str  # the database's name for the column type ("int8", "timestamptz", "numeric" ...)


@dataclass(frozen=True)
class QueryRows:
    """What a store returns for one statement: at most ``max_rows`` rows plus whether more existed."""

    columns: tuple[QueryColumn, ...]
    rows: list[tuple[Cell, ...]]
    truncated_by: str  # "" (all rows), "max_rows" or "max_bytes": which cap cut the result short


class ReadOnlyQuery(Protocol):
    """Runs ONE already-validated SELECT on a read-only connection.

    Implementations must never let the statement change the database (read-only session and
    transaction, always rolled back), fetch at most ``max_rows + 1`` rows (never materialising a
    larger result) and stop once the rows kept exceed ``max_bytes`` (size by
    :func:`ghtrader.application.query.cells.cell_bytes`), and stop the statement after ``timeout_s``. Errors: ``InvalidArgument`` for a
    statement the database refuses (syntax, privileges, read-only violation), ``ResourceExhausted``
    when the timeout cancels it, ``Unavailable`` when the database cannot be reached.
    """

    @property
    def dialect(self) -> SqlDialect: ...

    @property
    def description(self) -> str:
        """Which store and which guards, for the response (``postgres, role ghtrader_reader``)."""
        ...

    def fetch(self, statement: str, *, max_rows: int, timeout_s: float, max_bytes: int) -> QueryRows: ...
