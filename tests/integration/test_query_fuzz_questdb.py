"""The hostile corpus against a real QuestDB through RunQuery and its PG-wire adapter.

Skips unless GHTRADER_QUESTDB_HOST is set (fails when that server does not answer); queries go
as GHTRADER_QUESTDB_QUERY_USER (QuestDB's read-only user) when that is set. The
tables live under a fresh prefix (QuestDB has no schemas: the corpus's ``fuzz.`` becomes the
prefix). Asserted for every statement: within its timeout plus a margin, at most the row cap;
at the end and along the way: the prefix's tables, their row counts and the canary's content
are unchanged and none of the attack tables exists.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ghtrader.adapters.host.clock import SystemClock
from ghtrader.adapters.questdb import QuestDBParams
from ghtrader.adapters.questdb.query import QuestDBReadOnlyQuery
from ghtrader.application.errors import InvalidArgument, ResourceExhausted
from ghtrader.application.query import QueryRefused, RunQuery
from ghtrader.application.query.tokens import SqlSyntaxRefused
from tests.integration._sql_corpus import FRAGMENTS, fill, hostile_corpus
from tests.questdb_server import questdb_params

pytestmark = pytest.mark.integration

TIMEOUT_S = 1.0
MARGIN_S = 3.0
CAP = 1000


@dataclass
class QWorld:
    params: QuestDBParams
    prefix: str
    target: Path
    run: RunQuery
    baseline: dict[str, Any]


def _admin(p: QuestDBParams) -> psycopg.Connection:
    return psycopg.connect(
        host=p.host, port=p.pg_port, user=p.user, password=p.password, dbname=p.database, autocommit=True
    )


def fingerprint(p: QuestDBParams) -> dict[str, Any]:
    prefix = p.table_prefix
    with _admin(p) as conn:
        names = sorted(str(r[0]) for r in conn.execute("SELECT table_name FROM tables()").fetchall())
        ours = [n for n in names if n.startswith(prefix)]
        return {
            "tables": ours,
            "counts": {n: conn.execute(f'SELECT count() FROM "{n}"').fetchone() for n in ours},
            "canary": conn.execute(f"SELECT id, note FROM {prefix}canary ORDER BY id").fetchall(),
            "attack_tables": [n for n in names if n in ("evil", "gone", "stolen", "h")],
        }


@pytest.fixture(scope="module")
def qworld(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QWorld]:
    params = questdb_params("qf_")
    prefix = params.table_prefix
    with _admin(params) as conn:
        conn.execute(f"CREATE TABLE {prefix}canary (id INT, note STRING)")
        conn.execute(f"INSERT INTO {prefix}canary SELECT x::int, 'n' || x FROM long_sequence(100)")
    target = tmp_path_factory.mktemp("qtarget")
    reader = params
    if os.environ.get("GHTRADER_QUESTDB_QUERY_USER"):  # QuestDB's read-only PG user, when configured
        reader = dataclasses.replace(
            params,
            user=os.environ["GHTRADER_QUESTDB_QUERY_USER"],
            password=os.environ.get("GHTRADER_QUESTDB_QUERY_PASSWORD", ""),
        )
    try:
        run = RunQuery(QuestDBReadOnlyQuery(reader), SystemClock())
        yield QWorld(params, prefix, target, run, fingerprint(params))
    finally:
        with _admin(params) as conn:
            for (name,) in conn.execute("SELECT table_name FROM tables()").fetchall():
                if str(name).startswith(prefix):
                    conn.execute(f'DROP TABLE IF EXISTS "{name}"')


def _send(w: QWorld, statement: str, max_rows: int) -> str:
    started = time.monotonic()
    outcome = "answered"
    try:
        result = w.run(statement, max_rows=max_rows, timeout_s=TIMEOUT_S)
        assert len(result.rows) <= max_rows, statement
        outcome = f"answered:{result.truncated_by}"
    except (QueryRefused, SqlSyntaxRefused):
        outcome = "refused"
    except ResourceExhausted:
        outcome = "timeout"
    except InvalidArgument:
        outcome = "db_refused"
    elapsed = time.monotonic() - started
    assert elapsed <= TIMEOUT_S + MARGIN_S, f"{statement!r} ran {elapsed:.2f} s"
    return outcome


def _assert_unchanged(w: QWorld, after: str) -> None:
    changed = {k for k, v in fingerprint(w.params).items() if v != w.baseline[k]}
    assert not changed, f"QuestDB changed ({', '.join(sorted(changed))}) after {after!r}"


LARGE = [
    ("SELECT x FROM long_sequence(1000000000)", CAP),
    ("SELECT x FROM long_sequence(1000000000)", 100_000),
    ("SELECT sum(x) FROM long_sequence(100000000000)", CAP),
    ("SELECT * FROM {p}canary a CROSS JOIN {p}canary b CROSS JOIN {p}canary c CROSS JOIN {p}canary d", CAP),
    ("WITH a AS (SELECT * FROM {p}canary) SELECT * FROM a CROSS JOIN a b CROSS JOIN a c", CAP),
    ("SELECT rnd_str(1000, 1000, 0) FROM long_sequence(5000)", 100_000),
]


def test_hostile_corpus_changes_nothing_and_escapes_no_cap(qworld: QWorld) -> None:
    statements = hostile_corpus(qworld.target, 0, qworld.prefix)
    tally: dict[str, int] = {}
    for i, (statement, must_refuse) in enumerate(statements):
        outcome = _send(qworld, statement, CAP)
        tally[outcome.split(":")[0]] = tally.get(outcome.split(":")[0], 0) + 1
        if must_refuse:
            assert not outcome.startswith("answered"), f"a hostile statement was answered: {statement!r}"
        if outcome != "refused" and i % 10 == 0:
            _assert_unchanged(qworld, statement)
    for template, max_rows in LARGE:
        outcome = _send(qworld, template.replace("{p}", qworld.prefix), max_rows)
        tally[outcome] = tally.get(outcome, 0) + 1
    _assert_unchanged(qworld, "the whole corpus")
    print(f"\n{len(statements) + len(LARGE)} hostile statements on QuestDB: {tally}")
    assert (
        len(statements) >= 1000
        and tally["refused"] > 1500
        and tally.get("timeout", 0) >= 1
        and tally.get("answered:max_rows", 0) >= 3
    )
    assert tally.get("answered:max_bytes", 0) >= 1


@settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    prefix=st.sampled_from(["SELECT ", "WITH a AS (SELECT 1) SELECT ", ""]),
    parts=st.lists(st.sampled_from(FRAGMENTS), max_size=12),
)
def test_fragment_soup_changes_nothing(qworld: QWorld, prefix: str, parts: list[str]) -> None:
    _send(qworld, fill(prefix + "".join(parts), qworld.target, 0, qworld.prefix), CAP)


def test_after_the_soup_nothing_changed(qworld: QWorld) -> None:
    _assert_unchanged(qworld, "the fragment soup")
