"""RunQuery: validation before the store, caps and defaults, the result it reports."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ghtrader.application.errors import InvalidArgument
from ghtrader.application.ports.query import QueryColumn
from ghtrader.application.query import DEFAULT_MAX_ROWS, DEFAULT_TIMEOUT_S, QueryRefused, RunQuery
from ghtrader.application.query.cells import plain_cell
from tests.fakes.query import InMemoryReadOnlyQuery
from tests.fakes.system import FakeClock


def _store(n: int) -> InMemoryReadOnlyQuery:
    return InMemoryReadOnlyQuery(rows=[(i,) for i in range(n)])


def test_a_refused_statement_never_reaches_the_store() -> None:
    store = _store(3)
    with pytest.raises(QueryRefused):
        RunQuery(store, FakeClock())("SELECT 1; DROP TABLE t")
    assert store.statements == []


def test_defaults_and_the_statement_sent() -> None:
    store = _store(5)
    result = RunQuery(store, FakeClock())("SELECT x FROM t -- note\n;")
    assert store.statements == ["SELECT x FROM t"]
    assert result.statement == "SELECT x FROM t"
    assert (result.max_rows, result.timeout_s) == (DEFAULT_MAX_ROWS, DEFAULT_TIMEOUT_S)
    assert result.rows == [(i,) for i in range(5)]
    assert not result.truncated and result.truncated_by == ""
    assert result.store == "in-memory" and result.columns == (QueryColumn("x", "int8"),)


def test_row_cap_truncates() -> None:
    result = RunQuery(_store(50), FakeClock())("SELECT x FROM t", max_rows=7)
    assert len(result.rows) == 7 and result.truncated and result.truncated_by == "max_rows"
    exact = RunQuery(_store(7), FakeClock())("SELECT x FROM t", max_rows=7)
    assert len(exact.rows) == 7 and not exact.truncated


def test_byte_cap_truncates() -> None:
    store = InMemoryReadOnlyQuery(columns=(QueryColumn("s", "text"),), rows=[("x" * 1000,)] * 100)
    result = RunQuery(store, FakeClock(), max_result_bytes=10_000)("SELECT s FROM t", max_rows=100)
    assert 0 < len(result.rows) < 10 and result.truncated_by == "max_bytes"


class _OverflowingStore(InMemoryReadOnlyQuery):
    """A store that ignores the caps: the use case must enforce them anyway."""

    def fetch(self, statement: str, *, max_rows: int, timeout_s: float, max_bytes: int):  # type: ignore[no-untyped-def]
        result = super().fetch(statement, max_rows=10_000, timeout_s=timeout_s, max_bytes=10**12)
        return result


def test_caps_hold_even_when_a_store_breaks_them() -> None:
    store = _OverflowingStore(rows=[(i,) for i in range(500)])
    result = RunQuery(store, FakeClock())("SELECT x FROM t", max_rows=10)
    assert len(result.rows) == 10 and result.truncated_by == "max_rows"


@pytest.mark.parametrize(
    ("max_rows", "timeout_s", "field"),
    [(0, None, "max_rows"), (100_001, None, "max_rows"), (None, 0.0, "timeout_s"), (None, 301.0, "timeout_s"),
     (None, math.nan, "timeout_s"), (None, -1.0, "timeout_s")],
)  # fmt: skip
def test_bad_caps_are_refused(max_rows: int | None, timeout_s: float | None, field: str) -> None:
    store = _store(1)
    with pytest.raises(InvalidArgument, match=field):
        RunQuery(store, FakeClock())("SELECT 1", max_rows=max_rows, timeout_s=timeout_s)
    assert store.statements == []


def test_elapsed_comes_from_the_clock() -> None:
    clock = FakeClock()

    class _Slow(InMemoryReadOnlyQuery):
        def fetch(self, statement: str, *, max_rows: int, timeout_s: float, max_bytes: int):  # type: ignore[no-untyped-def]
            clock.mono += 0.25
            return super().fetch(statement, max_rows=max_rows, timeout_s=timeout_s, max_bytes=max_bytes)

    assert RunQuery(_Slow(), clock)("SELECT 1").elapsed_s == pytest.approx(0.25)


def test_plain_cells() -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert plain_cell(None) is None and plain_cell(True) is True
    assert plain_cell(2**63 - 1) == 2**63 - 1 and plain_cell(2**64) == str(2**64)
    assert plain_cell(Decimal("1.10")) == "1.10"
    assert plain_cell(when) == "2026-01-02T03:04:05+00:00"
    assert plain_cell(memoryview(b"ab")) == b"ab"
    assert plain_cell([1, None]) == "[1, null]" and plain_cell({"a": 1}) == '{"a": 1}'
