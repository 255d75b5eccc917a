"""Which login the PostgreSQL query adapter uses, and that each one stays read-only.

The embedded server gets the reader role; a login that may not manage roles (an external
server's application login) and ``reader_role=None`` fall back to the store's own login, where
the read-only session, the READ ONLY transaction and the rollback still hold.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from ghtrader.adapters.postgres import EmbeddedPostgres
from ghtrader.adapters.postgres.query import READER_ROLE, PostgresReadOnlyQuery, ensure_reader_role
from ghtrader.application.errors import InvalidArgument

pytestmark = pytest.mark.integration

FAST = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off", "shared_buffers": "64MB"}


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = EmbeddedPostgres(tmp_path_factory.mktemp("qlogin") / "pg", settings=FAST)
    url = server.start()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE canary (id int PRIMARY KEY)")
        conn.execute("INSERT INTO canary VALUES (1), (2)")
        conn.execute("CREATE ROLE app_login LOGIN")  # an application login: no CREATEROLE
        conn.execute("GRANT SELECT, INSERT, UPDATE ON canary TO app_login")
        conn.execute("CREATE SEQUENCE seq")
        conn.execute("GRANT USAGE, UPDATE ON SEQUENCE seq TO app_login")
    try:
        yield url
    finally:
        server.stop()


def _one(q: PostgresReadOnlyQuery, statement: str) -> object:
    return q.fetch(statement, max_rows=10, timeout_s=5, max_bytes=1 << 20).rows[0][0]


def _as(url: str, user: str) -> str:
    return make_conninfo("", **{**conninfo_to_dict(url), "user": user})


def test_embedded_login_is_the_reader_role_with_its_settings(url: str) -> None:
    q = PostgresReadOnlyQuery(url)
    try:
        assert _one(q, "SELECT current_user") == READER_ROLE and "role ghtrader_reader" in q.description
        assert _one(q, "SELECT count(*) FROM canary") == 2
        with psycopg.connect(url) as conn:
            row = conn.execute(
                "SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls FROM pg_roles "
                "WHERE rolname = %s",
                (READER_ROLE,),
            ).fetchone()
            member_of = conn.execute(
                "SELECT array_agg(roleid::regrole::text) FROM pg_auth_members WHERE member::regrole::text = %s",
                (READER_ROLE,),
            ).fetchone()
        assert row == (False, False, False, False, False) and member_of == (["pg_read_all_data"],)
        assert ensure_reader_role(url) is True  # idempotent
    finally:
        q.close()


def test_a_login_that_cannot_manage_roles_queries_as_itself_read_only(url: str) -> None:
    assert ensure_reader_role(_as(url, "app_login")) is False
    q = PostgresReadOnlyQuery(_as(url, "app_login"))
    try:
        assert _one(q, "SELECT current_user") == "app_login" and "no role of its own" in q.description
        assert _one(q, "SELECT current_setting('transaction_read_only')") == "on"
        # the login may write; the session may not (sent past the validator on purpose)
        for statement in ("SELECT nextval('seq')", "SELECT id FROM canary FOR UPDATE"):
            with pytest.raises(InvalidArgument, match="read-only transaction"):
                _one(q, statement)
        with pytest.raises(InvalidArgument, match="DECLARE CURSOR must not contain data-modifying"):
            _one(q, "WITH i AS (INSERT INTO canary VALUES (3) RETURNING id) SELECT id FROM i")
    finally:
        q.close()
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM canary").fetchone() == (2,)
        assert conn.execute("SELECT last_value, is_called FROM seq").fetchone() == (1, False)


def test_the_store_login_without_a_role_still_rolls_everything_back(url: str) -> None:
    q = PostgresReadOnlyQuery(url, reader_role=None)  # a superuser login, as on an external server
    try:
        assert _one(q, "SELECT current_user") == "postgres"
        assert _one(q, "SELECT set_config('default_transaction_read_only', 'off', false)") == "off"
        assert _one(q, "SELECT current_setting('default_transaction_read_only')") == "on"  # rolled back
        assert _one(q, "SELECT current_setting('transaction_read_only')") == "on"
    finally:
        q.close()
