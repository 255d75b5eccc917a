"""Database values as the plain cells of :mod:`ghtrader.application.ports.query`."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from ghtrader.application.ports.query import Cell

__all__ = ["cell_bytes", "plain_cell", "rows_size"]

_INT64 = (-(2**63), 2**63 - 1)


def plain_cell(value: Any) -> Cell:
    """``value`` as a bool, int64, float, str, bytes or None; anything richer as exact text
    (numerics as written, timestamps in ISO 8601, JSON and arrays as JSON)."""
    if value is None or isinstance(value, (bool, str, bytes)):
        return value
    if isinstance(value, int):
        return value if _INT64[0] <= value <= _INT64[1] else str(value)
    if isinstance(value, float):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, default=str, allow_nan=True)
    return str(value)


def cell_bytes(value: Cell) -> int:
    """Rough wire size of a cell (for the response size cap)."""
    if value is None or isinstance(value, bool):
        return 2
    if isinstance(value, (int, float)):
        return 10
    if isinstance(value, str):
        return len(value.encode("utf-8", "surrogatepass")) + 4
    return len(value) + 4


def rows_size(rows: list[tuple[Cell, ...]], max_bytes: int) -> int:
    """How many of ``rows`` (from the first) fit in ``max_bytes``."""
    size = 0
    for i, row in enumerate(rows):
        size += sum(cell_bytes(v) for v in row) + 4
        if size > max_bytes:
            return i
    return len(rows)
