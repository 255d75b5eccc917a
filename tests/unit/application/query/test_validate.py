"""The read-only query validator and its tokenizer: what passes, what is refused and why."""

from __future__ import annotations

import pytest

from ghtrader.application.errors import InvalidArgument
from ghtrader.application.query import QueryRefused, validate_statement
from ghtrader.application.query.tokens import SqlSyntaxRefused, tokenize

ACCEPTED = [
    ("SELECT 1", "SELECT 1"),
    ("select 1;", "select 1"),
    ("  SELECT 1 ;  -- trailing note", "SELECT 1"),
    ("(SELECT 1) UNION ALL (SELECT 2)", "(SELECT 1) UNION ALL (SELECT 2)"),
    ("WITH a AS (SELECT 1 AS x) SELECT x FROM a", "WITH a AS (SELECT 1 AS x) SELECT x FROM a"),
    ("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT n FROM r", None),
    ("SELECT 'a;b', \"semi;colon\" FROM t", None),
    ("SELECT $$ ; DROP TABLE t; $$", None),
    ("SELECT $tag$ $$ ; DROP TABLE t $$ $tag$", None),
    ("SELECT E'it\\'s; DROP TABLE t'", None),
    ("SELECT 'it''s; DROP TABLE t'", None),
    ('SELECT "update", "insert" FROM t', None),
    ("SELECT /* a /* nested; DROP TABLE t */ comment */ 1", "SELECT   1"),
    ("SELECT pg_sleep(1)", None),  # the timeout bounds it
    ("SELECT substring('abc' FROM 1 FOR 2)", None),
    ("SELECT x FROM t ORDER BY x FETCH FIRST 3 ROWS ONLY", None),
    ("SELECT foo$bar FROM t", None),
    ("SELECT 1e-3, .5, 1.5e+10", None),
    ("SELECT x::text FROM t WHERE y <> 2 AND z ~ 'a'", None),
    ("SELECT U&'d\\0061t' AS data", None),
    ("SELECT count(*) FROM ghtrader_ticks_raw_v2 WHERE symbol = 'SHFE.cu2602'", None),
]


@pytest.mark.parametrize(("statement", "expected"), ACCEPTED)
def test_accepted(statement: str, expected: str | None) -> None:
    valid = validate_statement(statement)
    assert valid.sql == (expected if expected is not None else statement)
    assert all(t.kind != "comment" for t in valid.tokens)


REFUSED = [
    ("", "empty"),
    ("-- only a comment", "empty"),
    (";", "empty"),
    ("SELECT 1; SELECT 2", "exactly one statement"),
    ("SELECT 1;;", "exactly one statement"),
    ("SELECT 1 --\r; DROP TABLE t", "exactly one statement"),  # PostgreSQL ends -- comments at \r too
    ("SELECT 1 /* c */; DROP TABLE t", "exactly one statement"),
    ("SELECT 'a'; DELETE FROM t", "exactly one statement"),
    ("INSERT INTO t VALUES (1)", "starts with 'INSERT'"),
    ("DROP TABLE t", "starts with 'DROP'"),
    ("COPY t TO '/tmp/x'", "starts with 'COPY'"),
    ("EXPLAIN ANALYZE SELECT 1", "starts with 'EXPLAIN'"),
    ("BEGIN", "starts with 'BEGIN'"),
    ("VALUES (1)", "starts with 'VALUES'"),
    ("/* hi */ UPDATE t SET x = 1", "starts with 'UPDATE'"),
    ("WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x", "DELETE removes rows"),
    ("WITH x AS (INSERT INTO t VALUES (1) RETURNING *) SELECT * FROM x", "INSERT writes rows"),
    ("WITH x AS (UPDATE t SET a = 1 RETURNING *) SELECT 1", "UPDATE writes rows"),
    ("SELECT * INTO t2 FROM t", "SELECT ... INTO creates a table"),
    ("SELECT * FROM t FOR UPDATE", "row locks"),
    ("SELECT * FROM t FOR NO KEY UPDATE", "row locks"),
    ("SELECT * FROM t FOR SHARE", "row locks"),
    ("SELECT * FROM t FOR KEY SHARE", "row locks"),
    ("SELECT lo_import('/etc/passwd')", "lo_import()"),
    ("SELECT pg_catalog.lo_export(1, '/tmp/x')", "lo_export()"),
    ("SELECT \"pg_read_file\"('/etc/passwd')", "pg_read_file()"),
    ("SELECT PG_TERMINATE_BACKEND (1)", "pg_terminate_backend()"),
    ("SELECT pg_cancel_backend/**/(1)", "pg_cancel_backend()"),
    ("SELECT set_config('default_transaction_read_only', 'off', false)", "set_config()"),
    ("SELECT * FROM dblink('host=x', 'DELETE FROM t') AS r(x int)", "dblink()"),
    ("SELECT nextval('s')", "nextval()"),
    ("SELECT setval('s', 1)", "setval()"),
    ("SELECT pg_advisory_lock(1)", "pg_advisory_lock()"),
    ("SELECT pg_try_advisory_xact_lock(1)", "pg_try_advisory_xact_lock()"),
    ("SELECT txid_current()", "txid_current()"),
    ("SELECT pg_reload_conf()", "pg_reload_conf()"),
    ("SELECT pg_ls_dir('.')", "pg_ls_dir()"),
    ("SELECT query_to_xml('DELETE FROM t', true, true, '')", "query_to_xml()"),
    ("SELECT pg_logical_emit_message(false, 'a', 'b')", "pg_logical_emit_message()"),
    ("SELECT $1", "parameter placeholders"),
    ("SELECT U&\"pg\\005fread\\005ffile\"('x')", 'U&"..." identifiers'),
    ("SELECT 1 WHERE x = 'unterminated", "unterminated string"),
    ('SELECT "unterminated', "unterminated quoted identifier"),
    ("SELECT 1 /* unterminated /* nested */", "unterminated /* comment"),
    ("SELECT $$ unterminated", "unterminated dollar-quoted string"),
    ("SELECT $ 1", "stray '$'"),
    ("SELECT E'\\'", "unterminated string"),
    ("SELECT 1\x00", "NUL"),
    ("SELECT " + "1," * 60_000 + "1", "characters long"),
]


@pytest.mark.parametrize(("statement", "reason"), REFUSED)
def test_refused_with_reason(statement: str, reason: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        validate_statement(statement)
    assert reason in str(caught.value)


def test_refusals_are_invalid_argument_and_say_query_refused() -> None:
    with pytest.raises(QueryRefused, match=r"^query refused: .*exactly one statement"):
        validate_statement("SELECT 1; SELECT 2")
    with pytest.raises(SqlSyntaxRefused, match="at character 8"):
        validate_statement("SELECT 'x")


def test_a_column_named_like_a_keyword_is_explained() -> None:
    with pytest.raises(QueryRefused, match='double quotes, "update"'):
        validate_statement("SELECT update FROM t")


QUESTDB_REFUSED = [
    ("SELECT $$x$$", "dollar quoting"),
    ("SELECT E'x'", "E'...' string form"),
    ("SELECT U&'x'", "U&'...'"),
    ("SELECT 'a\\' FROM t", "backslash inside a string"),
    ("SELECT /* a /* b */ */ 1", "nested inside a comment"),
]


@pytest.mark.parametrize(("statement", "reason"), QUESTDB_REFUSED)
def test_questdb_dialect_refuses_forms_questdb_may_read_differently(statement: str, reason: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        validate_statement(statement, "questdb")
    assert reason in str(caught.value)


def test_questdb_statement_loses_its_comments() -> None:
    valid = validate_statement("SELECT x -- why\r FROM t /* note */ WHERE y = 1;", "questdb")
    assert valid.sql == "SELECT x  \r FROM t   WHERE y = 1"


def test_tokens_follow_postgres_lexing() -> None:
    kinds = [(t.kind, t.value) for t in tokenize('SELECT "A""b", e\'x\\\'y\', $q$a$q$, 1.5e3, x::int -- c')]
    assert kinds == [
        ("ident", "select"),
        ("quoted_ident", 'A"b'),
        ("op", ","),
        ("string", "x\\'y"),
        ("op", ","),
        ("string", "a"),
        ("op", ","),
        ("number", "1.5e3"),
        ("op", ","),
        ("ident", "x"),
        ("op", ":"),
        ("op", ":"),
        ("ident", "int"),
        ("comment", " c"),
    ]


def test_a_no_break_space_is_part_of_an_identifier_as_in_postgres() -> None:
    # PostgreSQL treats only ASCII whitespace as space; U+00A0 continues an identifier
    assert [t.value for t in tokenize("SELECT\u00a0x")] == ["select\u00a0x"]
