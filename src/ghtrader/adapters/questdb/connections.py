"""Connections to one QuestDB server: a PG-wire pool (reads, DDL, small writes), a pool of ILP/HTTP
senders (bulk writes) and the WAL barrier that makes a write visible before the call returns.

Nothing connects at construction: the PG pool fills in the background and senders are opened on
first use, so a server that is down makes calls fail with :class:`Unavailable` instead of making
the store impossible to build (the probe then reports it).
"""

from __future__ import annotations

import contextlib
import queue
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout
from questdb import QuestDBError, Sender

from ghtrader.application.errors import FailedPrecondition, Unavailable

__all__ = ["QuestDBConnections", "QuestDBParams"]

_PREFIX_RE = re.compile(r"^[a-z0-9_]{0,40}$")


@dataclass(frozen=True)
class QuestDBParams:
    """Where the QuestDB server is and how to log in.

    ``user``/``password`` are the PG-wire credentials; the same pair is sent as HTTP basic auth
    to the ILP endpoint (ignored by a server without HTTP auth). ``table_prefix`` (lowercase
    letters, digits, ``_``) is put in front of every table name, so tests and experiments can
    share one server without touching the production tables.
    """

    host: str
    http_port: int
    pg_port: int
    user: str
    password: str
    database: str
    table_prefix: str = ""

    def __post_init__(self) -> None:
        if not _PREFIX_RE.match(self.table_prefix):
            raise ValueError(
                f"invalid table_prefix {self.table_prefix!r}: use up to 40 lowercase letters, digits and '_'"
            )
        for name in ("http_port", "pg_port"):
            port = getattr(self, name)
            if not isinstance(port, int) or not 0 < port < 65536:
                raise ValueError(f"invalid {name} {port!r}: expected an integer in 1..65535")

    def __repr__(self) -> str:  # never print the password
        return (
            f"QuestDBParams(host={self.host!r}, http_port={self.http_port}, pg_port={self.pg_port}, "
            f"user={self.user!r}, password='***', database={self.database!r}, table_prefix={self.table_prefix!r})"
        )

    @property
    def where(self) -> str:
        """``host`` with both ports, for messages."""
        return f"{self.host} (HTTP {self.http_port}, PG {self.pg_port})"


def _conf_value(value: str) -> str:
    return value.replace(";", ";;")  # the client's escape for ';' inside a config value


class QuestDBConnections:
    """Shared by every store object of one bundle; thread-safe.

    ``max_buf_bytes`` caps one ILP request (one atomic flush); ``wal_timeout_s`` bounds the wait
    for the WAL apply job after a write.
    """

    def __init__(
        self,
        params: QuestDBParams,
        *,
        max_pg_connections: int = 4,
        connect_timeout_s: float = 5.0,
        max_buf_bytes: int = 1 << 30,
        wal_timeout_s: float = 120.0,
    ) -> None:
        self.params = params
        self.wal_timeout_s = wal_timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._pool = ConnectionPool(
            kwargs={
                "host": params.host,
                "port": params.pg_port,
                "user": params.user,
                "password": params.password,
                "dbname": params.database,
                "autocommit": True,
                "connect_timeout": max(1, int(connect_timeout_s)),
            },
            min_size=1,
            max_size=max_pg_connections,
            open=False,
            name="ghtrader-questdb",
            timeout=connect_timeout_s,
            check=ConnectionPool.check_connection,
        )
        self._pool.open(wait=False)
        self._sender_conf = (
            f"http::addr={params.host}:{params.http_port};auto_flush=off;"
            f"username={_conf_value(params.user)};password={_conf_value(params.password)};"
            f"max_buf_size={max_buf_bytes};"
        )
        self._idle_senders: queue.SimpleQueue[Sender] = queue.SimpleQueue()
        self._closed = False

    def table(self, name: str) -> str:
        """Physical name of the logical table ``name`` (with the prefix)."""
        return f"{self.params.table_prefix}{name}"

    @contextlib.contextmanager
    def pg(self) -> Iterator[psycopg.Connection]:
        """A pooled autocommit PG-wire connection; connection failures become :class:`Unavailable`."""
        try:
            with self._pool.connection(timeout=self._connect_timeout_s) as conn:
                yield conn
        except PoolTimeout as exc:
            raise Unavailable(
                f"QuestDB PG wire at {self.params.host}:{self.params.pg_port} is unreachable "
                f"(no connection within {self._connect_timeout_s:g}s); is the server running?"
            ) from exc
        except psycopg.OperationalError as exc:
            raise Unavailable(f"QuestDB PG wire at {self.params.host}:{self.params.pg_port} failed: {exc}") from exc

    @contextlib.contextmanager
    def sender(self) -> Iterator[Sender]:
        """An established ILP/HTTP sender; returned to the pool only if the block succeeded."""
        if self._closed:
            raise Unavailable("the QuestDB stores were closed")
        try:
            sender = self._idle_senders.get_nowait()
        except queue.Empty:
            sender = Sender.from_conf(self._sender_conf)
            try:
                sender.establish()
            except QuestDBError as exc:
                raise Unavailable(f"QuestDB ILP/HTTP at {self.params.host}:{self.params.http_port}: {exc}") from exc
        ok = False
        try:
            yield sender
            ok = True
        finally:
            if ok and not self._closed:
                self._idle_senders.put(sender)
            else:
                with contextlib.suppress(QuestDBError):
                    sender.close(flush=False)

    def wait_applied(self, conn: psycopg.Connection, table: str) -> None:
        """Block until every WAL transaction of ``table`` committed so far is applied (visible).

        The target is the sequencer txn read now (it already includes a write that returned), so
        later writes by others do not prolong the wait. Raises :class:`FailedPrecondition` if the
        table's WAL is suspended, :class:`Unavailable` on timeout.
        """
        sql = "SELECT suspended, writerTxn, sequencerTxn, errorMessage FROM wal_tables() WHERE name = %s"
        target: int | None = None
        deadline = time.monotonic() + self.wal_timeout_s
        pause = 0.002
        while True:
            row = conn.execute(sql, (table,)).fetchone()
            if row is None:
                raise FailedPrecondition(f"QuestDB table {table} is not a WAL table (or does not exist)")
            suspended, writer_txn, sequencer_txn, error = row
            if suspended:
                raise FailedPrecondition(
                    f"QuestDB suspended WAL apply of {table}: {error or 'no message'}; "
                    f"fix the cause, then run ALTER TABLE {table} RESUME WAL"
                )
            if target is None:
                target = int(sequencer_txn)
            if int(writer_txn) >= target:
                return
            if time.monotonic() > deadline:
                raise Unavailable(
                    f"QuestDB did not apply the WAL of {table} within {self.wal_timeout_s:g}s "
                    f"(writerTxn {writer_txn} < {target})"
                )
            time.sleep(pause)
            pause = min(pause * 2, 0.05)

    def close(self) -> None:
        """Close every connection and sender (idempotent)."""
        self._closed = True
        while True:
            try:
                sender = self._idle_senders.get_nowait()
            except queue.Empty:
                break
            with contextlib.suppress(QuestDBError):
                sender.close(flush=False)
        self._pool.close()
