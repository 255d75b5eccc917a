"""Hostile SQL shared by the read-only query fuzz tests (PostgreSQL and QuestDB).

Placeholders: ``{target}`` a folder a file-writing attack would write to, ``{pid}`` the admin
session's backend pid, and the ``fuzz.`` qualifier of the test's tables.
"""

from __future__ import annotations

from pathlib import Path

STATEMENTS = [
    # DDL
    "CREATE TABLE fuzz.evil (x int)",
    "CREATE TEMP TABLE evil AS SELECT 1",
    "CREATE UNLOGGED TABLE evil AS SELECT * FROM fuzz.canary",
    "DROP TABLE fuzz.canary",
    "DROP SCHEMA fuzz CASCADE",
    "ALTER TABLE fuzz.canary ADD COLUMN evil int",
    "ALTER TABLE fuzz.canary RENAME TO gone",
    "TRUNCATE fuzz.canary",
    "CREATE INDEX ON fuzz.canary (note)",
    "CREATE ROLE evil SUPERUSER LOGIN",
    "ALTER ROLE ghtrader_reader SUPERUSER",
    "ALTER ROLE ghtrader_reader SET default_transaction_read_only = off",
    "GRANT ALL ON fuzz.canary TO PUBLIC",
    "REVOKE SELECT ON fuzz.canary FROM ghtrader_reader",
    "CREATE EXTENSION dblink",
    "CREATE FUNCTION fuzz.f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    "COMMENT ON TABLE fuzz.canary IS 'pwned'",
    "CREATE VIEW fuzz.v AS SELECT 1",
    "CREATE SEQUENCE fuzz.s2",
    "ALTER SYSTEM SET work_mem = '1GB'",
    "CREATE DATABASE evil",
    "DROP ROLE ghtrader_reader",
    "VACUUM FULL fuzz.canary",
    "REINDEX TABLE fuzz.canary",
    "CLUSTER fuzz.canary USING canary_pkey",
    "CREATE POLICY p ON fuzz.canary USING (true)",
    "ALTER DATABASE ghtrader SET statement_timeout = 1",
    "LOCK TABLE fuzz.canary IN ACCESS EXCLUSIVE MODE",
    "CREATE SCHEMA evil",
    "CREATE MATERIALIZED VIEW fuzz.mv AS SELECT 1",
    # DML
    "INSERT INTO fuzz.canary VALUES (1000, 'evil')",
    "INSERT INTO fuzz.canary SELECT g, 'x' FROM generate_series(2000, 3000) g",
    "INSERT INTO fuzz.canary VALUES (1, 'x') ON CONFLICT (id) DO UPDATE SET note = 'evil'",
    "UPDATE fuzz.canary SET note = 'evil'",
    "UPDATE fuzz.canary SET note = note || '!' WHERE id = 1 RETURNING *",
    "DELETE FROM fuzz.canary",
    "DELETE FROM fuzz.canary WHERE id < 50 RETURNING id",
    "MERGE INTO fuzz.canary c USING (SELECT 1 AS id) s ON c.id = s.id WHEN MATCHED THEN DELETE",
    "COPY fuzz.canary FROM '/etc/hostname'",
    "COPY fuzz.canary TO '{target}/copy.csv'",
    "COPY (SELECT 1) TO PROGRAM 'touch {target}/program'",
    "SELECT * INTO fuzz.stolen FROM fuzz.canary",
    "SELECT * INTO TEMP stolen FROM fuzz.canary",
    "WITH d AS (DELETE FROM fuzz.canary RETURNING *) SELECT * FROM d",
    "WITH i AS (INSERT INTO fuzz.canary VALUES (4000, 'x') RETURNING *) SELECT * FROM i",
    "WITH u AS (UPDATE fuzz.canary SET note = 'evil' RETURNING *) SELECT count(*) FROM u",
    "SELECT * FROM fuzz.canary FOR UPDATE",
    "SELECT * FROM fuzz.canary FOR SHARE",
    "SELECT * FROM fuzz.canary FOR NO KEY UPDATE NOWAIT",
    "SELECT * FROM fuzz.canary FOR KEY SHARE SKIP LOCKED",
    # sessions and transactions
    "SET default_transaction_read_only = off",
    "SET SESSION AUTHORIZATION postgres",
    "SET ROLE postgres",
    "RESET ALL",
    "BEGIN READ WRITE",
    "COMMIT",
    "ROLLBACK",
    "START TRANSACTION READ WRITE",
    "SET TRANSACTION READ WRITE",
    "PREPARE p AS DELETE FROM fuzz.canary",
    "EXECUTE p",
    "DISCARD ALL",
    "LISTEN evil",
    "NOTIFY evil, 'x'",
    "DO $$ BEGIN DELETE FROM fuzz.canary; END $$",
    "DO $body$ BEGIN EXECUTE 'DROP TABLE fuzz.canary'; END $body$",
    "CALL fuzz.p()",
    "CHECKPOINT",
    "LOAD 'dblink'",
    "DECLARE c CURSOR FOR SELECT 1",
    "SAVEPOINT s",
    "PREPARE TRANSACTION 'x'",
    "EXPLAIN ANALYZE DELETE FROM fuzz.canary",
    "ANALYZE fuzz.canary",
    # QuestDB's own statements
    "BACKUP TABLE fuzz.canary",
    "SNAPSHOT PREPARE",
    "VACUUM TABLE fuzz.canary",
    "ALTER TABLE fuzz.canary DROP PARTITION LIST '2020-01-01'",
    "RENAME TABLE fuzz.canary TO gone",
    "CANCEL QUERY 1",
    "REINDEX TABLE fuzz.canary",
    "COPY fuzz.canary FROM 'canary.csv'",
    "DROP ALL TABLES",
]

FUNCTIONS = [
    "lo_import('/etc/hostname')",
    "lo_export(0, '{target}/lo')",
    "lo_create(0)",
    "lo_unlink(1)",
    "lo_from_bytea(0, 'x')",
    "pg_read_file('/etc/hostname')",
    "pg_read_binary_file('/etc/hostname')",
    "pg_ls_dir('.')",
    "pg_stat_file('.')",
    "pg_terminate_backend({pid})",
    "pg_cancel_backend({pid})",
    "pg_reload_conf()",
    "pg_rotate_logfile()",
    "set_config('default_transaction_read_only', 'off', false)",
    "set_config('statement_timeout', '0', false)",
    "set_config('search_path', 'evil', false)",
    "set_config('role', 'postgres', false)",
    "set_config('session_authorization', 'postgres', false)",
    "nextval('fuzz.canary_seq')",
    "setval('fuzz.canary_seq', 99)",
    "txid_current()",
    "pg_current_xact_id()",
    "pg_advisory_lock(42)",
    "pg_advisory_xact_lock(42)",
    "pg_try_advisory_lock(42)",
    "pg_notify('evil', 'x')",
    "dblink_exec('dbname=ghtrader', 'DELETE FROM fuzz.canary')",
    "query_to_xml('DELETE FROM fuzz.canary', true, true, '')",
    "query_to_xml('CREATE TEMP TABLE t AS SELECT 1', true, true, '')",
    "ts_stat('SELECT 1')",
    "pg_logical_emit_message(false, 'evil', 'x')",
    "pg_switch_wal()",
    "pg_create_restore_point('evil')",
    "pg_stat_reset()",
    "pg_create_physical_replication_slot('evil')",
    "pg_export_snapshot()",
    "pg_import_system_collations('pg_catalog')",
    "pg_log_backend_memory_contexts({pid})",
    "pg_promote()",
    "pg_backup_start('x')",
    "binary_upgrade_set_next_pg_type_oid(1)",
    "pg_file_write('x', 'y', false)",
]

STATEMENT_WRAPPERS = [
    "{s}",
    "{s};",
    "SELECT 1; {s}",
    "SELECT 1 --\r; {s}",  # PostgreSQL ends a line comment at \r: the second statement is code
    "SELECT 1 /* x */; {s}",
    "SELECT 1 -- ;\n; {s}",
    "/* hidden */ {s}",
    "-- note\n{s}",
    "SELECT 'a'';' ; {s}",
    "SELECT $$;$$; {s}",
    "SELECT $q$ $$ $q$; {s}",
    "SELECT E'\\';' ; {s}",
    "select/**/1;{s}",
    "WITH x AS (SELECT 1) {s}",
    "SELECT * FROM ({s}) q",
    "SELECT 1 WHERE EXISTS ({s})",
    "\ufeff{s}",
    "SELECT 1\x0b; {s}",
    "SELECT 1 /* /* */ ; {s} */",  # nested comment: all of it is a comment, harmless SELECT 1
]
HARMLESS_WRAPPERS = {"SELECT 1 /* /* */ ; {s} */"}

FUNCTION_WRAPPERS = [
    "SELECT {f}",
    "SELECT * FROM {f}",
    "WITH a AS (SELECT {f}) SELECT * FROM a",
    "SELECT (SELECT {f})",
    "SELECT 1 WHERE {f} IS NOT NULL",
    "SELECT pg_catalog.{f}",
    "SELECT {F}",  # upper case
    "SELECT {q}",  # the name in double quotes
    "SELECT {c}",  # a comment between the name and its '('
    "SELECT 1 FROM fuzz.canary WHERE id = 1 AND {f} IS NULL",
]


def fill(template: str, target: Path, pid: int, schema: str = "fuzz.") -> str:
    """A template with its placeholders filled; ``schema`` replaces the ``fuzz.`` qualifier
    (QuestDB has no schemas: there it is the test's table prefix)."""
    return template.replace("{target}", str(target)).replace("{pid}", str(pid)).replace("fuzz.", schema)


def hostile_corpus(target: Path, pid: int, schema: str = "fuzz.") -> list[tuple[str, bool]]:
    """(statement, must_be_refused) pairs: every statement under every wrapper, every function
    under every call form."""
    out: list[tuple[str, bool]] = []
    for s in STATEMENTS:
        for w in STATEMENT_WRAPPERS:
            out.append((fill(w.replace("{s}", s), target, pid, schema), w not in HARMLESS_WRAPPERS))
        out.append((fill(s.lower(), target, pid, schema), True))
        out.append((fill(s.replace(" ", "\n\t"), target, pid, schema), True))
    for f in FUNCTIONS:
        name, rest = f.split("(", 1)
        forms = {"{f}": f, "{F}": f.upper(), "{q}": f'"{name}"({rest}', "{c}": f"{name} /* c */ ({rest}"}
        for w in FUNCTION_WRAPPERS:
            key = next(k for k in forms if k in w)
            out.append((fill(w.replace(key, forms[key]), target, pid, schema), True))
    return out


FRAGMENTS = [
    "SELECT ", "select ", "1", " ", ";", "'", "''", '"', "$$", "$a$", "--", "\r", "\n", "/*", "*/", "E'", "\\",
    "DELETE FROM fuzz.canary", "DROP TABLE fuzz.canary", "INSERT INTO fuzz.canary VALUES (5000, 'h')",
    "UPDATE fuzz.canary SET note = 'h'", "(", ")", ",", "x", " FROM fuzz.canary", "WITH a AS ", "U&", "$1",
    "::", "e", "lo_import('/etc/hostname')", "set_config('search_path', 'evil', false)", "pg_sleep(0.01)",
    "CREATE TABLE fuzz.h (x int)", "INTO fuzz.h", "FOR UPDATE", "\t",
]  # fmt: skip
