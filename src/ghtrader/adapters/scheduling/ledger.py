"""UpdateLedger on SQLite: one row per (target, trading day), inserted by the first claimer only."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from ghtrader.application.daily_update import LedgerEntry

__all__ = ["SqliteUpdateLedger"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS daily_update_claims (
    target TEXT NOT NULL,
    trading_day TEXT NOT NULL,
    claimed_ns INTEGER NOT NULL,
    job_id INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (target, trading_day)
)
"""


class SqliteUpdateLedger:
    """The ledger in ``path`` (WAL; a busy database is waited for ``busy_timeout_s``)."""

    def __init__(self, path: Path, busy_timeout_s: float = 10.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._timeout = float(busy_timeout_s)
        with self._tx() as conn:
            conn.execute(_SCHEMA)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA busy_timeout={int(self._timeout * 1000)}")
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()

    def claim(self, target: str, trading_day: date, now_ns: int) -> bool:
        with self._tx() as conn:
            cur = conn.execute(
                "INSERT OR IGNORE INTO daily_update_claims (target, trading_day, claimed_ns) VALUES (?, ?, ?)",
                (target, trading_day.isoformat(), int(now_ns)),
            )
            return cur.rowcount == 1

    def attach(self, target: str, trading_day: date, job_id: int) -> None:
        with self._tx() as conn:
            conn.execute(
                "UPDATE daily_update_claims SET job_id = ? WHERE target = ? AND trading_day = ?",
                (int(job_id), target, trading_day.isoformat()),
            )

    def release(self, target: str, trading_day: date) -> None:
        with self._tx() as conn:
            conn.execute(
                "DELETE FROM daily_update_claims WHERE target = ? AND trading_day = ?",
                (target, trading_day.isoformat()),
            )

    def entries(self, limit: int = 50) -> list[LedgerEntry]:
        with self._tx() as conn:
            rows = conn.execute(
                "SELECT target, trading_day, claimed_ns, job_id FROM daily_update_claims "
                "ORDER BY claimed_ns DESC, target LIMIT ?",
                (int(limit),),
            ).fetchall()
        return [LedgerEntry(t, date.fromisoformat(d), int(ns), int(j)) for t, d, ns, j in rows]
