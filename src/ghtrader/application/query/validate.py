"""The gate in front of every read-only query: exactly one SELECT (or WITH ... SELECT), nothing
that writes, locks or reaches outside the database, said plainly when refused.

This is the first of three walls (the read-only session/role and the always rolled-back
READ ONLY transaction are the others, in the adapters); it exists so a refusal is immediate and
explains itself, and so a function with side effects that a read-only transaction does not stop
(``pg_terminate_backend``, ``lo_export``, ``dblink``, advisory locks ...) never reaches the server.
"""

from __future__ import annotations

from dataclasses import dataclass

from ghtrader.application.errors import InvalidArgument
from ghtrader.application.query.tokens import Token, tokenize

__all__ = ["MAX_STATEMENT_CHARS", "QueryRefused", "ValidStatement", "validate_statement"]

MAX_STATEMENT_CHARS = 100_000


class QueryRefused(InvalidArgument):
    """The statement is not a single read-only SELECT (message says why)."""


@dataclass(frozen=True)
class ValidStatement:
    """A statement that passed: ``sql`` is what goes to the server (comments removed, no trailing ';')."""

    sql: str
    tokens: tuple[Token, ...]  # the code tokens of ``sql`` (no comments)


# Words that turn a SELECT into something else. Unquoted only: "update" in double quotes is a
# column name, and the message says so.
_WRITE_WORDS = {
    "insert": "INSERT writes rows",
    "update": "UPDATE writes rows",
    "delete": "DELETE removes rows",
    "merge": "MERGE writes rows",
    "truncate": "TRUNCATE removes rows",
    "upsert": "UPSERT writes rows",
    "into": "SELECT ... INTO creates a table",
    "copy": "COPY reads or writes files",
    "create": "CREATE is DDL",
    "drop": "DROP is DDL",
    "alter": "ALTER is DDL",
    "rename": "RENAME is DDL",
    "grant": "GRANT changes privileges",
    "revoke": "REVOKE changes privileges",
    "call": "CALL runs a procedure",
    "do": "DO runs code",
    "execute": "EXECUTE runs a prepared statement",
    "prepare": "PREPARE creates a prepared statement",
    "declare": "DECLARE opens a cursor",
    "set": "SET changes settings",
    "reset": "RESET changes settings",
    "listen": "LISTEN subscribes the session",
    "notify": "NOTIFY signals other sessions",
    "vacuum": "VACUUM maintains tables",
    "reindex": "REINDEX rebuilds indexes",
    "refresh": "REFRESH rewrites a materialized view",
    "backup": "BACKUP writes files",
    "snapshot": "SNAPSHOT changes the database state",
}

# Functions with side effects that a READ ONLY transaction does not (or not always) stop, or
# that run an SQL string the validator never saw. pg_sleep is allowed: the timeout bounds it.
_DENIED_FUNCTIONS = {
    "set_config": "changes server settings",
    "nextval": "advances a sequence",
    "setval": "sets a sequence",
    "txid_current": "assigns a transaction id",
    "pg_current_xact_id": "assigns a transaction id",
    "pg_notify": "signals other sessions",
    "query_to_xml": "runs an SQL string",
    "query_to_xmlschema": "runs an SQL string",
    "query_to_xml_and_xmlschema": "runs an SQL string",
    "cursor_to_xml": "reads a cursor",
    "cursor_to_xmlschema": "reads a cursor",
    "ts_stat": "runs an SQL string",
    "loread": "reads a large object",
    "lowrite": "writes a large object",
    "pg_terminate_backend": "ends other sessions",
    "pg_cancel_backend": "cancels other sessions' queries",
    "pg_reload_conf": "reloads the server configuration",
    "pg_rotate_logfile": "rotates the server log",
    "pg_promote": "promotes a standby",
    "pg_stat_file": "reads the server's file system",
    "pg_export_snapshot": "exports a snapshot",
    "pg_import_system_collations": "writes the catalog",
    "pg_log_backend_memory_contexts": "writes the server log",
    "pg_switch_wal": "switches the WAL file",
    "pg_create_restore_point": "writes the WAL",
    "pg_prewarm": "loads relations into memory",
    "pg_truncate_visibility_map": "truncates a visibility map",
}
_DENIED_PREFIXES = {
    "lo_": "reads or writes large objects or server files",
    "dblink": "connects to other servers",
    "pg_advisory": "takes advisory locks",
    "pg_try_advisory": "takes advisory locks",
    "pg_read_": "reads the server's file system",
    "pg_ls_": "lists the server's file system",
    "pg_file_": "writes the server's file system",
    "pg_stat_reset": "resets statistics",
    "pg_replication_": "manages replication",
    "pg_logical_": "writes the WAL",
    "pg_create_": "creates replication objects",
    "pg_drop_": "drops replication objects",
    "pg_copy_": "copies replication slots",
    "pg_backup_": "controls backups",
    "pg_start_backup": "controls backups",
    "pg_stop_backup": "controls backups",
    "pg_wal_": "controls WAL replay",
    "binary_upgrade_": "writes the catalog",
}
_ROW_LOCK_NEXT = {"update", "share", "no", "key"}


def _refuse(why: str) -> QueryRefused:
    return QueryRefused(f"query refused: {why}")


def _function_refusal(name: str) -> str | None:
    if name in _DENIED_FUNCTIONS:
        return _DENIED_FUNCTIONS[name]
    for prefix, why in _DENIED_PREFIXES.items():
        if name.startswith(prefix):
            return why
    return None


def _strip_comments(text: str, tokens: list[Token]) -> str:
    """``text`` with every comment replaced by one space (the server reads a comment as a space)."""
    parts, at = [], 0
    for t in tokens:
        if t.kind == "comment":
            parts.append(text[at : t.pos])
            parts.append(" ")
            at = t.pos + len(t.text)
    parts.append(text[at:])
    return "".join(parts)


def validate_statement(text: str, dialect: str = "postgres") -> ValidStatement:
    """``text`` as a :class:`ValidStatement`, or :class:`QueryRefused` saying why not."""
    if len(text) > MAX_STATEMENT_CHARS:
        raise _refuse(f"the statement is {len(text):,} characters long (at most {MAX_STATEMENT_CHARS:,})")
    every = tokenize(text, dialect)
    code = [t for t in every if t.kind != "comment"]
    trailing = bool(code) and code[-1].kind == "op" and code[-1].value == ";"
    if trailing:
        code.pop()
    if not code:
        raise _refuse("the statement is empty")
    for t in code:
        if t.kind == "op" and t.value == ";":
            raise _refuse(
                f"exactly one statement is allowed; a ';' at character {t.pos + 1} starts another (send them one at a time)"
            )
        if t.kind == "param":
            raise _refuse(f"parameter placeholders ({t.text}) are not supported: write the value in the statement")
        if t.kind == "quoted_ident" and t.text[:1] in ("U", "u"):
            raise _refuse('U&"..." identifiers are not supported (write the name plainly or in double quotes)')
    lead = next((t for t in code if not (t.kind == "op" and t.value == "(")), code[0])
    if lead.kind != "ident" or lead.value not in ("select", "with"):
        raise _refuse(f"only SELECT or WITH ... SELECT is allowed; this statement starts with {lead.text[:40]!r}")
    for i, t in enumerate(code):
        if t.kind == "ident" and t.value in _WRITE_WORDS:
            raise _refuse(
                f"{_WRITE_WORDS[t.value]}: {t.text} (at character {t.pos + 1}) is not allowed in a read-only query "
                f'(a column with that name must be written in double quotes, "{t.value}")'
            )
        nxt = code[i + 1] if i + 1 < len(code) else None
        if t.kind == "ident" and t.value == "for" and nxt is not None and nxt.kind == "ident":
            if nxt.value in _ROW_LOCK_NEXT:
                raise _refuse(f"row locks (FOR {nxt.text.upper()} ...) are not allowed in a read-only query")
        if t.kind in ("ident", "quoted_ident") and nxt is not None and nxt.kind == "op" and nxt.value == "(":
            name = t.value.lower()
            why = _function_refusal(name)
            if why is not None:
                raise _refuse(f"the function {name}() {why} and is not allowed in a read-only query")
    sql = _strip_comments(text, every).strip()
    return ValidStatement(sql.removesuffix(";").rstrip() if trailing else sql, tuple(code))
