"""SQLite job registry and lock table in one database (``runs/control/jobs.db``).

WAL mode and a busy timeout let the server and every job process share the file; each call
opens its own short connection, so an instance is safe to use from any thread or process.
State changes are compare-and-set updates (``UPDATE ... WHERE state IN (...)``), and lock
acquisition runs in one ``BEGIN IMMEDIATE`` transaction: all keys or none.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import psutil

from ghtrader.application.ports.jobs import (
    ACTIVE_STATES,
    FINAL_STATES,
    TQSDK_SLOT_PREFIX,
    JobOutcome,
    JobRecord,
    JobSource,
    JobState,
    LockHolder,
    NewJob,
    ProgressEvent,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    command TEXT NOT NULL,
    args_json TEXT NOT NULL,
    request_type TEXT NOT NULL,
    request_b64 TEXT NOT NULL,
    source TEXT NOT NULL,
    state TEXT NOT NULL,
    created_ns INTEGER NOT NULL,
    start_ns INTEGER,
    end_ns INTEGER,
    pid INTEGER,
    pgid INTEGER,
    exit_code INTEGER,
    error_kind TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT '',
    locks_wanted TEXT NOT NULL DEFAULT '[]',
    locks_held TEXT NOT NULL DEFAULT '[]',
    tqsdk INTEGER NOT NULL DEFAULT 0,
    no_wait INTEGER NOT NULL DEFAULT 0,
    waited_for TEXT NOT NULL DEFAULT '',
    progress_done INTEGER NOT NULL DEFAULT 0,
    progress_total INTEGER NOT NULL DEFAULT 0,
    progress_message TEXT NOT NULL DEFAULT '',
    log_path TEXT NOT NULL DEFAULT '',
    ok INTEGER,
    summary TEXT NOT NULL DEFAULT '',
    report_path TEXT NOT NULL DEFAULT '',
    result_json TEXT NOT NULL DEFAULT '',
    git_commit TEXT NOT NULL DEFAULT '',
    git_dirty INTEGER,
    manifest_path TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state);
CREATE TABLE IF NOT EXISTS job_progress (
    job_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    done INTEGER NOT NULL,
    total INTEGER NOT NULL,
    message TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
);
CREATE TABLE IF NOT EXISTS locks (
    key TEXT PRIMARY KEY,
    job_id INTEGER NOT NULL,
    pid INTEGER NOT NULL,
    acquired_ns INTEGER NOT NULL
);
"""

_ACTIVE = tuple(ACTIVE_STATES)
SCHEMA_VERSION = 2
# Columns each version added to ``jobs``: an older database is migrated in place (history kept).
_MIGRATIONS: dict[int, tuple[str, ...]] = {
    2: (
        "git_commit TEXT NOT NULL DEFAULT ''",  # the code that ran the job ('' : not recorded)
        "git_dirty INTEGER",  # 1 tracked files changed, 0 clean, NULL unknown
        "manifest_path TEXT NOT NULL DEFAULT ''",  # runs/control/manifests/job-<id>.json
    ),
}


class JobStoreSchemaError(RuntimeError):
    """The database was written by a ghTrader with another job-store schema."""


def process_alive(pid: int, since_ns: int | None = None) -> bool:
    """True while ``pid`` runs (not a zombie) and, given ``since_ns``, was started by then.

    The start-time check keeps a recycled pid from passing for the original holder.
    """
    if pid <= 0:
        return False
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return since_ns is None or proc.create_time() <= since_ns / 1e9 + 1.0
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:  # another user's live process
        return True


class SqliteJobStore:
    """Implements both :class:`JobRegistry` and :class:`LockTable` over one SQLite file."""

    def __init__(
        self,
        path: Path | str,
        logs_dir: Path | str | None = None,
        *,
        busy_timeout_s: float = 30.0,
        is_alive: Callable[[int, int | None], bool] = process_alive,
    ) -> None:
        self._path = Path(path)
        self._logs_dir = Path(logs_dir) if logs_dir is not None else self._path.parent / "logs"
        self._busy_timeout_s = busy_timeout_s
        self._is_alive = is_alive
        self._ready = False

    @property
    def path(self) -> Path:
        return self._path

    # -- connections -------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        if not self._ready:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            self._logs_dir.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self._path, timeout=self._busy_timeout_s, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_s * 1000)}")
        if not self._ready:
            conn.execute("PRAGMA journal_mode = WAL")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            has_jobs = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'jobs'").fetchone() is not None
            if has_jobs and 1 <= version < SCHEMA_VERSION:
                _migrate(conn, version)
                version = SCHEMA_VERSION
            if has_jobs and version != SCHEMA_VERSION:
                conn.close()
                raise JobStoreSchemaError(
                    f"{self._path} has job-store schema version {version}, this ghTrader writes "
                    f"{SCHEMA_VERSION}: move the file aside (it is history only) and restart"
                )
            conn.executescript(_SCHEMA)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self._ready = True
        return conn

    @contextmanager
    def _tx(self, immediate: bool = False) -> Iterator[sqlite3.Connection]:
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()

    # -- registry ----------------------------------------------------------------------------
    def create(self, job: NewJob, now_ns: int) -> JobRecord:
        with self._tx(immediate=True) as conn:
            cur = conn.execute(
                "INSERT INTO jobs (command, args_json, request_type, request_b64, source, state, created_ns, "
                "locks_wanted, tqsdk, no_wait) VALUES (?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?)",
                (
                    job.command,
                    job.args_json,
                    job.request_type,
                    job.request_b64,
                    job.source,
                    now_ns,
                    json.dumps(list(job.locks)),
                    int(job.tqsdk),
                    int(job.no_wait),
                ),
            )
            job_id = int(cast(int, cur.lastrowid))
            conn.execute(
                "UPDATE jobs SET log_path = ? WHERE id = ?", (str(self._logs_dir / f"job-{job_id}.log"), job_id)
            )
        record = self.get(job_id)
        assert record is not None
        return record

    def get(self, job_id: int) -> JobRecord | None:
        conn = self._connect()
        try:
            row = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        finally:
            conn.close()
        return None if row is None else _record(row)

    def list_jobs(
        self,
        *,
        states: Sequence[JobState] = (),
        source: JobSource | None = None,
        limit: int = 100,
        before_id: int | None = None,
    ) -> list[JobRecord]:
        where, params = [], []  # type: ignore[var-annotated]
        if before_id is not None:
            where.append("id < ?")
            params.append(before_id)
        if states:
            where.append(f"state IN ({','.join('?' * len(states))})")
            params.extend(states)
        if source:
            where.append("source = ?")
            params.append(source)
        sql = "SELECT * FROM jobs" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id DESC LIMIT ?"
        conn = self._connect()
        try:
            rows = conn.execute(sql, (*params, max(1, limit))).fetchall()
        finally:
            conn.close()
        return [_record(r) for r in rows]

    def _update(self, sql: str, params: Sequence[Any]) -> int:
        conn = self._connect()
        try:
            return conn.execute(sql, tuple(params)).rowcount
        finally:
            conn.close()

    def set_process(self, job_id: int, pid: int, pgid: int) -> None:
        self._update("UPDATE jobs SET pid = ?, pgid = ? WHERE id = ?", (pid, pgid, job_id))

    def set_waiting(self, job_id: int, waited_for: str) -> None:
        self._update("UPDATE jobs SET waited_for = ? WHERE id = ? AND state = 'queued'", (waited_for, job_id))

    def mark_running(self, job_id: int, locks_held: Sequence[str], now_ns: int) -> bool:
        return (
            self._update(
                "UPDATE jobs SET state = 'running', start_ns = ?, locks_held = ? WHERE id = ? AND state = 'queued'",
                (now_ns, json.dumps(list(locks_held)), job_id),
            )
            == 1
        )

    def set_code_version(self, job_id: int, commit: str, dirty: bool | None) -> None:
        self._update(
            "UPDATE jobs SET git_commit = ?, git_dirty = ? WHERE id = ?",
            (commit, None if dirty is None else int(dirty), job_id),
        )

    def set_manifest_path(self, job_id: int, path: str) -> None:
        self._update("UPDATE jobs SET manifest_path = ? WHERE id = ?", (path, job_id))

    def set_progress(self, job_id: int, done: int, total: int, message: str) -> None:
        with self._tx(immediate=True) as conn:
            changed = conn.execute(
                "UPDATE jobs SET progress_done = ?, progress_total = ?, progress_message = ? "
                "WHERE id = ? AND state = 'running'",
                (int(done), int(total), message, job_id),
            ).rowcount
            if changed:
                conn.execute(
                    "INSERT INTO job_progress (job_id, seq, done, total, message) SELECT ?, "
                    "COALESCE(MAX(seq), 0) + 1, ?, ?, ? FROM job_progress WHERE job_id = ?",
                    (job_id, int(done), int(total), message, job_id),
                )

    def progress_since(self, job_id: int, after_seq: int = 0) -> list[ProgressEvent]:
        conn = self._connect()
        try:
            rows = conn.execute(
                "SELECT seq, done, total, message FROM job_progress WHERE job_id = ? AND seq > ? ORDER BY seq",
                (job_id, after_seq),
            ).fetchall()
        finally:
            conn.close()
        return [ProgressEvent(int(r[0]), int(r[1]), int(r[2]), r[3]) for r in rows]

    def finish(
        self,
        job_id: int,
        state: JobState,
        now_ns: int,
        *,
        exit_code: int | None,
        error_kind: str = "",
        error: str = "",
        outcome: JobOutcome | None = None,
    ) -> bool:
        if state not in FINAL_STATES:
            raise ValueError(f"{state!r} is not a final state")
        o = outcome
        return (
            self._update(
                "UPDATE jobs SET state = ?, end_ns = ?, exit_code = ?, error_kind = ?, error = ?, "
                "ok = ?, summary = ?, report_path = ?, result_json = ? "
                f"WHERE id = ? AND state IN ({','.join('?' * len(_ACTIVE))})",
                (
                    state,
                    now_ns,
                    exit_code,
                    error_kind,
                    error,
                    None if o is None else int(o.ok),
                    "" if o is None else o.summary,
                    "" if o is None else o.report_path,
                    "" if o is None else o.result_json,
                    job_id,
                    *_ACTIVE,
                ),
            )
            == 1
        )

    def reconcile(self, now_ns: int, reason: str) -> list[int]:
        dead: list[int] = []
        for job in self.list_jobs(states=_ACTIVE, limit=1_000_000):
            since = job.start_ns  # a running job's process existed when it started; a queued one: no bound
            if job.pid is not None and self._is_alive(job.pid, since):
                continue
            if self.finish(job.id, "failed", now_ns, exit_code=None, error_kind="ProcessDied", error=reason):
                dead.append(job.id)
            self.release(job.id)
        return dead

    # -- locks -------------------------------------------------------------------------------
    def _reap(self, conn: sqlite3.Connection) -> list[LockHolder]:
        live: list[LockHolder] = []
        for row in conn.execute("SELECT key, job_id, pid, acquired_ns FROM locks").fetchall():
            holder = LockHolder(row["key"], int(row["job_id"]), int(row["pid"]), int(row["acquired_ns"]))
            if self._is_alive(holder.pid, holder.acquired_ns):
                live.append(holder)
            else:
                conn.execute("DELETE FROM locks WHERE key = ? AND job_id = ?", (holder.key, holder.job_id))
        return live

    def try_acquire(
        self, job_id: int, pid: int, keys: Sequence[str], now_ns: int, *, tqsdk_slots: int = 0
    ) -> tuple[LockHolder, ...]:
        with self._tx(immediate=True) as conn:
            live = self._reap(conn)
            by_key = {h.key: h for h in live}
            blockers = [by_key[k] for k in keys if k in by_key and by_key[k].job_id != job_id]
            wanted = [k for k in dict.fromkeys(keys) if k not in by_key]
            if tqsdk_slots > 0 and not any(h.job_id == job_id and h.key.startswith(TQSDK_SLOT_PREFIX) for h in live):
                taken = {h.key for h in live if h.key.startswith(TQSDK_SLOT_PREFIX)}
                free = [f"{TQSDK_SLOT_PREFIX}{i}" for i in range(tqsdk_slots) if f"{TQSDK_SLOT_PREFIX}{i}" not in taken]
                if free:
                    wanted.append(free[0])
                else:
                    blockers.extend(h for h in live if h.key.startswith(TQSDK_SLOT_PREFIX))
            if blockers:
                return tuple(blockers)  # the transaction commits only the reaping
            conn.executemany(
                "INSERT INTO locks (key, job_id, pid, acquired_ns) VALUES (?, ?, ?, ?)",
                [(k, job_id, pid, now_ns) for k in wanted],
            )
        return ()

    def release(self, job_id: int) -> int:
        return self._update("DELETE FROM locks WHERE job_id = ?", (job_id,))

    def holders(self) -> list[LockHolder]:
        with self._tx(immediate=True) as conn:
            live = self._reap(conn)
        return sorted(live, key=lambda h: h.key)

    def held_by(self, job_id: int) -> list[str]:
        conn = self._connect()
        try:
            return [r[0] for r in conn.execute("SELECT key FROM locks WHERE job_id = ? ORDER BY key", (job_id,))]
        finally:
            conn.close()


def _migrate(conn: sqlite3.Connection, version: int) -> None:
    """Add the columns later versions introduced (one transaction; idempotent per column)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        have = {r[1] for r in conn.execute("PRAGMA table_info(jobs)").fetchall()}
        for v in range(version + 1, SCHEMA_VERSION + 1):
            for column in _MIGRATIONS.get(v, ()):
                if column.split()[0] not in have:
                    conn.execute(f"ALTER TABLE jobs ADD COLUMN {column}")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _record(row: sqlite3.Row) -> JobRecord:
    ok = row["ok"]
    dirty = row["git_dirty"]
    outcome = (
        None
        if ok is None
        else JobOutcome(
            ok=bool(ok), summary=row["summary"], report_path=row["report_path"], result_json=row["result_json"]
        )
    )
    return JobRecord(
        id=int(row["id"]),
        command=row["command"],
        args_json=row["args_json"],
        request_type=row["request_type"],
        request_b64=row["request_b64"],
        source=row["source"],
        state=row["state"],
        created_ns=int(row["created_ns"]),
        locks_wanted=tuple(json.loads(row["locks_wanted"])),
        tqsdk=bool(row["tqsdk"]),
        no_wait=bool(row["no_wait"]),
        log_path=row["log_path"],
        start_ns=row["start_ns"],
        end_ns=row["end_ns"],
        pid=row["pid"],
        pgid=row["pgid"],
        exit_code=row["exit_code"],
        error_kind=row["error_kind"],
        error=row["error"],
        locks_held=tuple(json.loads(row["locks_held"])),
        waited_for=row["waited_for"],
        progress_done=int(row["progress_done"]),
        progress_total=int(row["progress_total"]),
        progress_message=row["progress_message"],
        outcome=outcome,
        git_commit=row["git_commit"],
        git_dirty=None if dirty is None else bool(dirty),
        manifest_path=row["manifest_path"],
    )
