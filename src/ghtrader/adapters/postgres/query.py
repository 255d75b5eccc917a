"""PostgresReadOnlyQuery: the ReadOnlyQuery port on its own read-only connections.

Walls behind the validator (see docs/query.md):

- the login: on the embedded server a dedicated role ``ghtrader_reader`` (LOGIN, no superuser,
  no CREATEROLE/CREATEDB/REPLICATION/BYPASSRLS, member of ``pg_read_all_data`` only), so the
  server-file, large-object, signal and configuration functions are refused by privileges, and
  ``temp_file_limit`` keeps a huge sort or materialised result from filling the disk;
  on an external server (whose roles ghTrader does not manage) the store's own login;
- the session: ``default_transaction_read_only=on``, ``statement_timeout`` (upper bound),
  ``idle_in_transaction_session_timeout``, ``standard_conforming_strings=on`` as start-up options;
- the transaction: each statement runs in ``BEGIN READ ONLY`` with a local ``statement_timeout``,
  through a server-side cursor read by ONE ``FETCH max_rows + 1`` in single-row mode, and is ALWAYS
  rolled back; the connection is then ``DISCARD ALL``-ed (settings, advisory locks, temp tables)
  before it goes back to the pool.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Sequence

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg_pool import ConnectionPool, PoolTimeout

from ghtrader.adapters.postgres.connections import redact_url
from ghtrader.application.errors import InvalidArgument, ResourceExhausted, Unavailable
from ghtrader.application.ports.query import Cell, QueryColumn, QueryRows, SqlDialect
from ghtrader.application.query.cells import cell_bytes, plain_cell

__all__ = ["READER_ROLE", "PostgresReadOnlyQuery", "ensure_reader_role"]

READER_ROLE = "ghtrader_reader"
_CEILING_TIMEOUT_MS = 300_000  # the session's statement_timeout: no statement outlives it
_IDLE_TX_TIMEOUT_MS = 60_000
_CURSOR = "ghtrader_query"
_SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def ensure_reader_role(admin_url: str, role: str = READER_ROLE, *, temp_file_limit: str = "1GB") -> bool:
    """Create (or refresh) the read-only login ``role`` with ``admin_url``'s privileges.

    Returns False when that login may not manage roles (then nothing changes). Idempotent and
    safe when two processes race: a role created concurrently is simply found. The role's
    settings (which it cannot change: ``temp_file_limit`` is superuser-only) are rewritten
    every time.
    """
    ident = sql.Identifier(role)
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as conn:
        may = conn.execute("SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user").fetchone()
        if not may or not may[0]:
            return False
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone() is None:
            try:
                conn.execute(
                    sql.SQL(
                        "CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS "
                        "INHERIT CONNECTION LIMIT 16"
                    ).format(ident)
                )
            except (pg_errors.DuplicateObject, pg_errors.UniqueViolation):
                pass
        conn.execute(sql.SQL("GRANT pg_read_all_data TO {}").format(ident))
        for name, value in (
            ("default_transaction_read_only", "on"),
            ("statement_timeout", str(_CEILING_TIMEOUT_MS)),
            ("idle_in_transaction_session_timeout", str(_IDLE_TX_TIMEOUT_MS)),
            ("temp_file_limit", temp_file_limit),
        ):
            conn.execute(sql.SQL("ALTER ROLE {} SET {} = {}").format(ident, sql.Identifier(name), sql.Literal(value)))
    return True


def _reset(conn: psycopg.Connection) -> None:
    conn.rollback()
    conn.autocommit = True
    try:
        conn.execute("DISCARD ALL")  # session settings, advisory locks, temp tables, prepared plans
    finally:
        conn.autocommit = False


def _configure(conn: psycopg.Connection) -> None:
    conn.read_only = True  # every transaction psycopg opens is BEGIN READ ONLY


class PostgresReadOnlyQuery:
    """ReadOnlyQuery on PostgreSQL (see module docstring). Connects on first use; thread-safe.

    ``url`` is the store's server; ``reader_role`` (the embedded server) logs in as that role,
    created with ``url``'s login when missing; None uses ``url``'s own login. ``temp_file_limit``
    caps the temporary files one statement of the role may write (a huge sort, a materialised
    function result) so it cannot fill the disk before its timeout. ``schema`` sets
    the search_path as the stores do.
    """

    dialect: SqlDialect = "postgres"

    def __init__(
        self,
        url: str,
        *,
        reader_role: str | None = READER_ROLE,
        schema: str | None = None,
        max_connections: int = 4,
        connect_timeout_s: float = 10.0,
        temp_file_limit: str = "1GB",
    ) -> None:
        if schema is not None and not _SCHEMA_RE.match(schema):
            raise ValueError(f"invalid schema name {schema!r}: lowercase letters, digits and '_'")
        self._url = url
        self._temp_file_limit = temp_file_limit
        self._role = reader_role
        self._schema = schema
        self._max = max_connections
        self._connect_timeout_s = connect_timeout_s
        self._pool: ConnectionPool | None = None
        self._lock = threading.Lock()
        self._login = "store login"

    @property
    def description(self) -> str:
        return f"postgres ({self._login}, read-only session and transaction, always rolled back)"

    def _conninfo(self) -> str:
        params = conninfo_to_dict(self._url)
        if self._role is not None and ensure_reader_role(self._url, self._role, temp_file_limit=self._temp_file_limit):
            params.pop("password", None)
            params["user"] = self._role
            self._login = f"role {self._role}"
        else:
            self._login = f"login {params.get('user', '?')}, no role of its own"
        options = [
            "-c default_transaction_read_only=on",
            f"-c statement_timeout={_CEILING_TIMEOUT_MS}",
            f"-c idle_in_transaction_session_timeout={_IDLE_TX_TIMEOUT_MS}",
            "-c standard_conforming_strings=on",
        ]
        if self._schema is not None:
            options.append(f"-c search_path={self._schema}")
        params["options"] = " ".join(options)
        params["application_name"] = "ghtrader-query"
        return make_conninfo("", **params)

    def _connections(self) -> ConnectionPool:
        with self._lock:
            if self._pool is None:
                try:
                    conninfo = self._conninfo()
                except psycopg.OperationalError as exc:
                    raise Unavailable(f"PostgreSQL at {redact_url(self._url)} is unreachable: {exc}") from exc
                pool = ConnectionPool(
                    conninfo,
                    min_size=1,
                    max_size=self._max,
                    open=False,
                    name="ghtrader-query",
                    timeout=self._connect_timeout_s,
                    configure=_configure,
                    reset=_reset,
                    check=ConnectionPool.check_connection,
                )
                try:
                    pool.open(wait=True, timeout=self._connect_timeout_s)
                except PoolTimeout as exc:
                    pool.close()
                    raise Unavailable(f"PostgreSQL at {redact_url(self._url)}: no read-only connection") from exc
                self._pool = pool
            return self._pool

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.close()
                self._pool = None

    def fetch(self, statement: str, *, max_rows: int, timeout_s: float, max_bytes: int) -> QueryRows:
        deadline = time.monotonic() + timeout_s
        try:
            with self._connections().connection() as conn:
                try:
                    return self._fetch(conn, statement, max_rows, deadline, max_bytes)
                finally:
                    if not conn.closed:
                        conn.rollback()
        except pg_errors.QueryCanceled as exc:
            raise ResourceExhausted(f"the statement ran past its {timeout_s:g} s timeout and was cancelled") from exc
        except pg_errors.IdleInTransactionSessionTimeout as exc:
            raise ResourceExhausted(f"the query session timed out: {exc.diag.message_primary}") from exc
        except PoolTimeout as exc:
            raise Unavailable("every read-only query connection is busy; retry shortly") from exc
        except psycopg.Error as exc:
            lost = exc.sqlstate is None or exc.sqlstate.startswith(("08", "57P"))  # connection lost, shutdown
            if isinstance(exc, psycopg.OperationalError) and lost:
                raise Unavailable(f"PostgreSQL at {redact_url(self._url)} is unreachable: {exc}") from exc
            primary = exc.diag.message_primary or str(exc).strip()
            code = f" [SQLSTATE {exc.sqlstate}]" if exc.sqlstate else ""
            raise InvalidArgument(f"the database refused the statement: {primary}{code}") from exc

    @staticmethod
    def _timeout(conn: psycopg.Connection, deadline: float) -> None:
        left_ms = int((deadline - time.monotonic()) * 1000)
        if left_ms <= 0:
            raise pg_errors.QueryCanceled("deadline reached")
        conn.execute("SELECT set_config('statement_timeout', %s, true)", (str(left_ms),))

    def _fetch(
        self, conn: psycopg.Connection, statement: str, max_rows: int, deadline: float, max_bytes: int
    ) -> QueryRows:
        self._timeout(conn, deadline)  # opens the READ ONLY transaction
        rows: list[tuple[Cell, ...]] = []
        size, truncated_by = 0, ""
        with conn.cursor(name=_CURSOR, scrollable=False, withhold=False) as cur:
            cur.execute(statement.encode())  # validated; runs as DECLARE ... CURSOR FOR <statement>
            columns = self._columns(conn, cur.description or [])
            self._timeout(conn, deadline)
            # One FETCH of max_rows + 1 read in single-row mode: the client holds one row at a
            # time however wide the rows are, and leaving early cancels the rest.
            fetch = sql.SQL("FETCH FORWARD {} FROM {}").format(sql.Literal(max_rows + 1), sql.Identifier(_CURSOR))
            for raw in conn.cursor().stream(fetch, size=1):
                if len(rows) == max_rows:  # the one row past the cap: the FETCH ends with it
                    truncated_by = "max_rows"
                    continue
                row = tuple(plain_cell(v) for v in raw)
                size += sum(cell_bytes(v) for v in row) + 4
                if size > max_bytes:
                    truncated_by = "max_bytes"
                    break
                rows.append(row)
            if truncated_by == "max_bytes":
                # the cancel psycopg sent for the unread rows could land on a later statement of
                # this session: retire the connection rather than reuse it
                conn.close()
        return QueryRows(columns, rows, truncated_by)

    @staticmethod
    def _columns(conn: psycopg.Connection, description: Sequence[psycopg.Column]) -> tuple[QueryColumn, ...]:
        out = []
        for col in description:
            info = conn.adapters.types.get(col.type_code)
            if info is not None:
                name = f"{info.name}[]" if info.array_oid == col.type_code else info.name
            else:
                found = conn.execute("SELECT format_type(%s, NULL)", (col.type_code,)).fetchone()
                name = str(found[0]) if found else f"oid {col.type_code}"
            out.append(QueryColumn(col.name, name))
        return tuple(out)
