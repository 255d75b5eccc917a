"""Hostile SQL against the real embedded PostgreSQL through RunQuery and the read-only adapter.

More than 1,000 statements (DDL, DML, several statements, comments and quotes hiding a second
statement, data-modifying CTEs, SELECT INTO, row locks, side-effecting functions, huge results)
plus a Hypothesis soup of hostile fragments. Asserted for every one: it does not outlive its
timeout plus a margin, returns at most the row cap, and leaves the database as it was (row
counts of every table, a canary table's content, sequences, catalog objects, roles and their
settings, server settings, large objects, advisory locks, files on disk, a live admin session).
A second part sends the side-effecting statements straight to the adapter, past the validator,
to show the role and the read-only transaction stop them on their own.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql

from ghtrader.adapters.host.clock import SystemClock
from ghtrader.adapters.postgres import EmbeddedPostgres, open_postgres_stores
from ghtrader.adapters.postgres.query import PostgresReadOnlyQuery
from ghtrader.application.errors import InvalidArgument, ResourceExhausted
from ghtrader.application.ports.query import QueryRows, SqlDialect
from ghtrader.application.query import QueryRefused, RunQuery
from ghtrader.application.query.tokens import SqlSyntaxRefused
from tests.integration._sql_corpus import FRAGMENTS, FUNCTIONS, fill, hostile_corpus

pytestmark = pytest.mark.integration

FAST = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off", "shared_buffers": "64MB"}
SCHEMA = "fuzz"
TIMEOUT_S = 0.5
MARGIN_S = 2.0  # generous: two busy cores shared by several test runs
CAP = 1000
TEMP_LIMIT = "8MB"  # small, so a disk-filling statement meets it long before its timeout


@dataclass
class Counting:
    """The real adapter behind a counter: proves a refused statement never reached the server."""

    inner: PostgresReadOnlyQuery
    sent: list[str] = field(default_factory=list)

    @property
    def dialect(self) -> SqlDialect:
        return self.inner.dialect

    @property
    def description(self) -> str:
        return self.inner.description

    def fetch(self, statement: str, *, max_rows: int, timeout_s: float, max_bytes: int) -> QueryRows:
        self.sent.append(statement)
        return self.inner.fetch(statement, max_rows=max_rows, timeout_s=timeout_s, max_bytes=max_bytes)


@dataclass
class World:
    server: EmbeddedPostgres
    admin: psycopg.Connection  # a session the attacks must not end (pg_terminate_backend)
    admin_pid: int
    target: Path  # where lo_export / COPY TO would write
    store: Counting
    run: RunQuery
    baseline: dict[str, Any]


def fingerprint(url: str) -> dict[str, Any]:
    """Everything a statement could change, read through a fresh superuser session."""
    with psycopg.connect(url, autocommit=True) as conn:

        def rows(query: str) -> list[tuple[Any, ...]]:
            return [tuple(r) for r in conn.execute(query).fetchall()]  # type: ignore[arg-type]

        user_tables = rows(
            "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
            "AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%' ORDER BY 1, 2"
        )
        counts = {
            f"{s}.{t}": conn.execute(
                sql.SQL("SELECT count(*) FROM {}.{}").format(sql.Identifier(s), sql.Identifier(t))
            ).fetchone()[0]  # type: ignore[index]
            for s, t in user_tables
        }
        canary = conn.execute(
            "SELECT md5(string_agg(id::text || ':' || note, ',' ORDER BY id)) FROM fuzz.canary"
        ).fetchone()
        return {
            "counts": counts,
            "canary": canary,
            "relations": rows(
                "SELECT n.nspname, c.relname, c.relkind, c.relacl::text FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname NOT LIKE 'pg_temp%' AND n.nspname NOT LIKE 'pg_toast_temp%' ORDER BY 1, 2"
            ),
            "columns": rows(
                "SELECT attrelid::regclass::text, attname, atttypid FROM pg_attribute a JOIN pg_class c "
                "ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
                f"WHERE n.nspname = '{SCHEMA}' AND attnum > 0 ORDER BY 1, 2"
            ),
            "sequences": rows("SELECT schemaname, sequencename, last_value FROM pg_sequences ORDER BY 1, 2"),
            "namespaces": rows("SELECT nspname, nspacl::text FROM pg_namespace ORDER BY 1"),
            "functions": rows("SELECT count(*), md5(string_agg(oid::text, ',' ORDER BY oid)) FROM pg_proc"),
            "extensions": rows("SELECT extname FROM pg_extension ORDER BY 1"),
            "databases": rows("SELECT datname, datacl::text FROM pg_database ORDER BY 1"),
            "roles": rows(
                "SELECT rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication, "
                "rolbypassrls, rolconnlimit FROM pg_roles ORDER BY 1"
            ),
            "members": rows("SELECT roleid::regrole::text, member::regrole::text FROM pg_auth_members ORDER BY 1, 2"),
            "role_settings": rows("SELECT setdatabase, setrole, setconfig::text FROM pg_db_role_setting ORDER BY 1, 2"),
            "settings": rows("SELECT name, setting FROM pg_settings ORDER BY 1"),
            "file_settings": rows("SELECT sourcefile, name, setting FROM pg_file_settings ORDER BY 1, 2"),
            "large_objects": rows("SELECT count(*) FROM pg_largeobject_metadata"),
            "advisory_locks": rows("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"),
            "prepared_xacts": rows("SELECT count(*) FROM pg_prepared_xacts"),
            "slots": rows("SELECT count(*) FROM pg_replication_slots"),
            "triggers": rows("SELECT count(*) FROM pg_trigger"),
            "rules": rows("SELECT count(*) FROM pg_rewrite"),
            "policies": rows("SELECT count(*) FROM pg_policy"),
            "event_triggers": rows("SELECT count(*) FROM pg_event_trigger"),
            "comments": rows(
                "SELECT count(*), md5(string_agg(description, ',' ORDER BY objoid, objsubid)) FROM pg_description"
            ),
        }


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("queryfuzz")
    target = root / "target"
    target.mkdir()
    target.chmod(0o777)  # so a write by the server's own user would land (and be seen)
    server = EmbeddedPostgres(root / "pg", settings=FAST)
    url = server.start()
    try:
        _, close_stores = open_postgres_stores(url, schema=SCHEMA)  # the project's real tables
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"CREATE TABLE {SCHEMA}.canary (id int PRIMARY KEY, note text NOT NULL)")
            conn.execute(f"INSERT INTO {SCHEMA}.canary SELECT g, md5(g::text) FROM generate_series(1, 100) g")
            conn.execute(f"CREATE SEQUENCE {SCHEMA}.canary_seq")
            conn.execute(f"SELECT nextval('{SCHEMA}.canary_seq')")
        adapter = PostgresReadOnlyQuery(url, schema=SCHEMA, temp_file_limit=TEMP_LIMIT)
        store = Counting(adapter)
        run = RunQuery(store, SystemClock())
        run("SELECT 1")  # opens the reader role and its pool before the baseline
        admin = psycopg.connect(url, autocommit=True)
        pid = admin.execute("SELECT pg_backend_pid()").fetchone()[0]  # type: ignore[index]
        try:
            yield World(server, admin, pid, target, store, run, fingerprint(url))
        finally:
            admin.close()
            adapter.close()
            close_stores()
    finally:
        server.stop()


STOPPED = {"timeout", "temp_limit"}
# (statement, max_rows, acceptable outcomes): big or slow results, cut by a cap or stopped
LARGE = [
    ("SELECT g FROM generate_series(1, 1000000000) g", CAP, STOPPED),  # materialised: temp files
    ("SELECT generate_series(1, 1000000000)", CAP, {"answered:max_rows"}),
    ("SELECT generate_series(1, 1000000000)", 100_000, {"answered:max_rows", "timeout"}),
    ("SELECT * FROM generate_series(1, 100000) a CROSS JOIN generate_series(1, 100000) b", CAP, {"answered:max_rows"}),
    ("SELECT * FROM fuzz.canary a, fuzz.canary b, fuzz.canary c, fuzz.canary d", CAP, {"answered:max_rows"}),
    ("SELECT * FROM fuzz.canary a, fuzz.canary b, fuzz.canary c, fuzz.canary d", 100_000, {"answered:max_bytes", "timeout"}),
    ("SELECT repeat('x', 50000000)", CAP, {"answered:max_bytes", *STOPPED}),
    ("SELECT repeat('x', 2000000) FROM generate_series(1, 3)", CAP, {"answered:max_bytes"}),
    ("SELECT repeat('x', 10000) FROM generate_series(1, 100000)", 100_000, STOPPED),
    ("SELECT repeat('x', 10000) || g FROM generate_series(1, 1000) g", 100_000, {"answered:max_bytes"}),
    ("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT n FROM r", CAP, {"answered:max_rows"}),
    ("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r", CAP, STOPPED),
    ("SELECT count(*) FROM generate_series(1, 1e10)", CAP, STOPPED),
    ("SELECT pg_sleep(30)", CAP, {"timeout"}),
    ("SELECT pg_sleep_for('30 seconds')", CAP, {"timeout"}),
    ("SELECT pg_sleep(1) FROM generate_series(1, 10)", CAP, {"timeout"}),
    ("SELECT * FROM fuzz.canary ORDER BY random()", CAP, {"answered"}),
    ("SELECT md5(a.note || b.note) FROM fuzz.canary a CROSS JOIN fuzz.canary b ORDER BY 1", 5, {"answered:max_rows"}),
    # temporary files: a materialised function result of 100 GB, a sort spilling to disk
    ("SELECT repeat('x', 1000000) FROM generate_series(1, 100000)", CAP, STOPPED),
    ("SELECT g FROM generate_series(1, 5000000) g ORDER BY g DESC", CAP, STOPPED),
]  # fmt: skip


def _fill(template: str, world: World) -> str:
    return fill(template, world.target, world.admin_pid)


def corpus(world: World) -> list[tuple[str, bool]]:
    return hostile_corpus(world.target, world.admin_pid)


@dataclass
class Tally:
    refused_by_validator: int = 0
    refused_by_database: int = 0
    timed_out: int = 0
    answered: int = 0


def _send(world: World, statement: str, max_rows: int, tally: Tally) -> str:
    """Run one statement through RunQuery; assert the caps; return its outcome."""
    before = len(world.store.sent)
    started = time.monotonic()
    try:
        result = world.run(statement, max_rows=max_rows, timeout_s=TIMEOUT_S)
    except (QueryRefused, SqlSyntaxRefused):
        assert len(world.store.sent) == before, f"refused statement reached the server: {statement!r}"
        tally.refused_by_validator += 1
        return "refused"
    except ResourceExhausted as exc:
        assert "timeout" in str(exc)
        tally.timed_out += 1
        outcome = "timeout"
    except InvalidArgument as exc:
        tally.refused_by_database += 1
        outcome = "temp_limit" if "temp_file_limit" in str(exc) else "db_refused"
    else:
        assert len(result.rows) <= max_rows, statement
        tally.answered += 1
        outcome = "answered" + (f":{result.truncated_by}" if result.truncated_by else "")
    elapsed = time.monotonic() - started
    assert elapsed <= TIMEOUT_S + MARGIN_S, f"{statement!r} ran {elapsed:.2f} s"
    return outcome


def _assert_unchanged(world: World, after: str) -> None:
    now = fingerprint(world.server.url)
    changed = [k for k in world.baseline if world.baseline[k] != now[k]]
    assert not changed, f"database changed ({', '.join(changed)}) after {after!r}"
    assert world.admin.execute("SELECT 1").fetchone() == (1,), "the admin session was ended"
    assert list(world.target.iterdir()) == [], "a statement wrote a file on the server"


def test_hostile_corpus_changes_nothing_and_escapes_no_cap(world: World) -> None:
    statements = corpus(world)
    tally = Tally()
    outcomes: dict[str, str] = {}
    reached = 0
    for statement, must_refuse in statements:
        outcome = _send(world, statement, CAP, tally)
        outcomes[statement] = outcome
        if must_refuse:
            assert not outcome.startswith("answered"), f"a hostile statement was answered: {statement!r}"
        if outcome != "refused":
            reached += 1
            if reached % 25 == 0:
                _assert_unchanged(world, statement)
    unexpected = []
    for statement, max_rows, expected in LARGE:
        outcome = _send(world, statement, max_rows, tally)
        if outcome not in expected:
            unexpected.append(f"{statement!r} (max_rows {max_rows}): {outcome}, expected {sorted(expected)}")
    assert not unexpected, "\n".join(unexpected)
    _assert_unchanged(world, "the whole corpus")
    total = len(statements) + len(LARGE)
    print(f"\n{total} hostile statements: {tally}")
    assert total >= 1000
    assert tally.refused_by_validator > 2000 and tally.answered > 80  # the harmless wrappers run


def test_a_statement_that_would_fill_the_disk_stops_at_the_temp_file_limit(world: World) -> None:
    started = time.monotonic()
    with pytest.raises(InvalidArgument, match="temp_file_limit"):
        # 100 GB of materialised function result, given a 30 s timeout: the limit stops it first
        world.run("SELECT repeat('x', 1000000) FROM generate_series(1, 100000)", timeout_s=30)
    assert time.monotonic() - started < 15


# Straight to the adapter, past the validator: the role and the read-only transaction alone.
PAST_THE_VALIDATOR = [
    *(f"SELECT {f}" for f in FUNCTIONS),
    "SELECT * INTO fuzz.stolen FROM fuzz.canary",
    "WITH d AS (DELETE FROM fuzz.canary RETURNING *) SELECT * FROM d",
    "WITH i AS (INSERT INTO fuzz.canary VALUES (4000, 'x') RETURNING *) SELECT * FROM i",
    "SELECT * FROM fuzz.canary FOR UPDATE",
    "SELECT 1; DELETE FROM fuzz.canary",
    "DELETE FROM fuzz.canary",
    "SELECT current_setting('search_path')",  # after set_config('search_path', 'evil'): unchanged
    "SELECT current_setting('default_transaction_read_only')",
    "SELECT current_user",
    "SELECT current_setting('temp_file_limit')",
]


def test_side_effects_are_stopped_even_past_the_validator(world: World) -> None:
    seen: dict[str, Any] = {}
    for template in PAST_THE_VALIDATOR:
        statement = _fill(template, world)
        try:
            got = world.store.inner.fetch(statement, max_rows=CAP, timeout_s=TIMEOUT_S, max_bytes=1 << 20)
            seen[template] = got.rows
        except (InvalidArgument, ResourceExhausted) as exc:
            seen[template] = str(exc)
    _assert_unchanged(world, "statements sent past the validator")
    assert seen["SELECT current_setting('search_path')"] == [(SCHEMA,)]
    assert seen["SELECT current_setting('default_transaction_read_only')"] == [("on",)]
    assert seen["SELECT current_user"] == [("ghtrader_reader",)]
    assert seen["SELECT current_setting('temp_file_limit')"] == [(TEMP_LIMIT,)]
    for name in ("lo_import", "lo_export", "pg_read_file", "pg_ls_dir", "pg_reload_conf", "pg_switch_wal"):
        assert "permission denied" in str(next(v for k, v in seen.items() if k.startswith(f"SELECT {name}(")))
    assert "permission denied to terminate" in str(seen["SELECT pg_terminate_backend({pid})"])
    assert "read-only transaction" in str(seen["SELECT * FROM fuzz.canary FOR UPDATE"])


@settings(
    max_examples=300,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    prefix=st.sampled_from(["SELECT ", "WITH a AS (SELECT 1) SELECT ", ""]),
    parts=st.lists(st.sampled_from(FRAGMENTS), max_size=12),
)
def test_fragment_soup_changes_nothing(world: World, prefix: str, parts: list[str]) -> None:
    statement = prefix + "".join(parts)
    _send(world, statement, CAP, Tally())
    digest = hashlib.sha256(statement.encode()).digest()[0]
    if digest < 16:  # a full check on a deterministic sixteenth of the examples (it costs ~30 ms)
        _assert_unchanged(world, statement)


def test_after_the_soup_nothing_changed(world: World) -> None:
    _assert_unchanged(world, "the fragment soup")
    assert os.path.isdir(world.target)
