"""QuestDBReadOnlyQuery: the ReadOnlyQuery port through QuestDB's PG wire.

QuestDB has no read-only transactions or per-statement timeout over the PG wire, so the walls
are: the validator in its QuestDB dialect (one SELECT / WITH; DDL, writes and every quoting form
QuestDB might read differently refused), the row cap as an outer ``LIMIT max_rows + 1`` (the
server never produces more), a client-side timer that sends a PG cancel request at the timeout,
and a fresh connection per statement that is closed afterwards. Pointing ``user``/``password``
at QuestDB's read-only PG user (``pg.readonly.user.enabled=true`` in server.conf) adds the
server's own refusal of every write.
"""

from __future__ import annotations

import threading
import time

import psycopg

from ghtrader.adapters.questdb.connections import QuestDBParams
from ghtrader.application.errors import InvalidArgument, ResourceExhausted, Unavailable
from ghtrader.application.ports.query import Cell, QueryColumn, QueryRows, SqlDialect
from ghtrader.application.query.cells import cell_bytes, plain_cell

__all__ = ["QuestDBReadOnlyQuery"]


class QuestDBReadOnlyQuery:
    """ReadOnlyQuery on QuestDB (see module docstring); thread-safe (a connection per call)."""

    dialect: SqlDialect = "questdb"

    def __init__(self, params: QuestDBParams, *, connect_timeout_s: float = 5.0) -> None:
        self._params = params
        self._connect_timeout_s = connect_timeout_s

    @property
    def description(self) -> str:
        return f"questdb (PG wire as {self._params.user}, outer LIMIT, cancel at timeout)"

    def fetch(self, statement: str, *, max_rows: int, timeout_s: float, max_bytes: int) -> QueryRows:
        p = self._params
        try:
            conn = psycopg.connect(
                host=p.host,
                port=p.pg_port,
                user=p.user,
                password=p.password,
                dbname=p.database,
                autocommit=True,
                connect_timeout=max(1, int(self._connect_timeout_s)),
                application_name="ghtrader-query",
            )
        except psycopg.OperationalError as exc:
            raise Unavailable(f"QuestDB at {p.where} is unreachable: {exc}") from exc
        cancelled = threading.Event()

        def cancel() -> None:
            cancelled.set()
            try:
                conn.cancel()
            except psycopg.Error:
                pass

        timer = threading.Timer(timeout_s, cancel)
        timer.daemon = True
        started = time.monotonic()
        try:
            timer.start()
            with conn.cursor() as cur:
                # the validated statement, wrapped: QuestDB stops producing rows at the limit
                cur.execute(f"SELECT * FROM ({statement}) LIMIT {max_rows + 1}".encode())
                columns = tuple(
                    QueryColumn(c.name, self._type_name(conn, c.type_code)) for c in (cur.description or [])
                )
                raw_rows = cur.fetchall()
        except psycopg.Error as exc:
            if cancelled.is_set() or time.monotonic() - started >= timeout_s:
                raise ResourceExhausted(
                    f"the statement ran past its {timeout_s:g} s timeout and was cancelled"
                ) from exc
            if isinstance(exc, psycopg.OperationalError) and conn.closed:
                raise Unavailable(f"QuestDB at {p.where} dropped the connection: {exc}") from exc
            primary = (exc.diag.message_primary if exc.diag else None) or str(exc).strip()
            raise InvalidArgument(f"the database refused the statement: {primary}") from exc
        finally:
            timer.cancel()
            conn.close()
        rows: list[tuple[Cell, ...]] = []
        size, truncated_by = 0, ""
        for raw in raw_rows:
            if len(rows) == max_rows:
                truncated_by = "max_rows"
                break
            row = tuple(plain_cell(v) for v in raw)
            size += sum(cell_bytes(v) for v in row) + 4
            if size > max_bytes:
                truncated_by = "max_bytes"
                break
            rows.append(row)
        return QueryRows(columns, rows, truncated_by)

    @staticmethod
    def _type_name(conn: psycopg.Connection, oid: int) -> str:
        info = conn.adapters.types.get(oid)
        if info is None:
            return f"oid {oid}"
        return f"{info.name}[]" if info.array_oid == oid else info.name
