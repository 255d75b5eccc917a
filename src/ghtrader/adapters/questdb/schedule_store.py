"""``QuestDBScheduleStore``: the ScheduleStore port on ``ghtrader_main_schedule_v2`` in QuestDB.

The table keys rows by ``(trading_day, exchange, variety, schedule_hash)``. A save writes the new
schedule's rows and, for every live row of another schedule of the variety, a tombstone (the
same key with ``deleted = true``; an upsert replaces the whole row) in ONE PG-wire transaction,
which QuestDB commits as one WAL transaction: a reader sees the old schedule or the new one,
never a mix. Saving the stored schedule again writes nothing.

Without locks two concurrent saves of one variety can both stay live; each one's rows are
complete (one transaction each), :meth:`load_schedule` then takes the hash reaching the latest
day (ties: the smallest hash), as the PostgreSQL store does, and the next save hides the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from psycopg import ClientCursor

from ghtrader.adapters.questdb.connections import QuestDBConnections
from ghtrader.adapters.questdb.schema import MAIN_SCHEDULE_TABLE
from ghtrader.application.datasets.store_checks import rebuild_schedule
from ghtrader.application.ports.stores import LAKE_VERSION
from ghtrader.domain.schedule import MainSchedule, ScheduleRow

__all__ = ["QuestDBScheduleStore"]

_ROWS_PER_INSERT = 500
_COLS = "trading_day, exchange, variety, main_contract, segment_id, schedule_hash, lake_version, deleted, switch_ratio"
_LIVE = "WHERE exchange = %s AND variety = %s AND lake_version = %s AND NOT deleted"


class QuestDBScheduleStore:
    """ScheduleStore on QuestDB (see module docstring). Thread-safe."""

    def __init__(self, connections: QuestDBConnections) -> None:
        self._cx = connections
        self._table = connections.table(MAIN_SCHEDULE_TABLE)

    def _live_rows(self, cur: ClientCursor, exchange: str, variety: str) -> list[tuple[Any, ...]]:
        """(trading_day date, main_contract, segment_id, schedule_hash, switch_ratio) of the live rows."""
        rows = cur.execute(
            f"SELECT trading_day, main_contract, segment_id, schedule_hash, switch_ratio FROM {self._table} {_LIVE}",
            (exchange, variety, LAKE_VERSION),
        ).fetchall()
        return [(r[0].date(), r[1], r[2], r[3], r[4]) for r in rows]

    def save_schedule(self, schedule: MainSchedule) -> None:
        ex, var, new_hash = schedule.exchange, schedule.variety, schedule.schedule_hash
        with self._cx.pg() as conn:
            cur = ClientCursor(conn)
            live = self._live_rows(cur, ex, var)
            stored = sorted({r[3] for r in live})
            if stored == [new_hash] or (not stored and not schedule.rows):
                return
            rows: list[tuple[Any, ...]] = [
                (
                    r.trading_day,
                    ex,
                    var,
                    r.main_contract,
                    int(r.segment_id),
                    new_hash,
                    LAKE_VERSION,
                    False,
                    float(schedule.switch_ratio),
                )
                for r in schedule.rows
            ]
            rows += [
                (day, ex, var, None, None, old_hash, LAKE_VERSION, True, None)
                for day, _, _, old_hash, _ in live
                if old_hash != new_hash
            ]
            with conn.transaction():  # one commit = one WAL transaction
                self._insert(cur, rows)
            self._cx.wait_applied(conn, self._table)

    def _insert(self, cur: ClientCursor, rows: Sequence[tuple[Any, ...]]) -> None:
        for i in range(0, len(rows), _ROWS_PER_INSERT):
            chunk = rows[i : i + _ROWS_PER_INSERT]
            values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s)"] * len(chunk))
            cur.execute(f"INSERT INTO {self._table} ({_COLS}) VALUES {values}", [v for row in chunk for v in row])

    def load_schedule(self, exchange: str, variety: str, *, switch_ratio: float | None = None) -> MainSchedule | None:
        with self._cx.pg() as conn:
            live = self._live_rows(ClientCursor(conn), exchange, variety)
        if not live:
            return None
        last_day: date = max(r[0] for r in live)
        chosen = min(r[3] for r in live if r[0] == last_day)
        picked = sorted((r for r in live if r[3] == chosen), key=lambda r: r[0])
        rows = [ScheduleRow(day, contract, int(seg)) for day, contract, seg, _, _ in picked]
        stored_ratio = picked[0][4]
        return rebuild_schedule(
            exchange, variety, rows, chosen, switch_ratio, None if stored_ratio is None else float(stored_ratio)
        )

    def schedule_hashes(self, exchange: str, variety: str) -> list[str]:
        with self._cx.pg() as conn:
            rows = (
                ClientCursor(conn)
                .execute(f"SELECT DISTINCT schedule_hash FROM {self._table} {_LIVE}", (exchange, variety, LAKE_VERSION))
                .fetchall()
            )
        return sorted(r[0] for r in rows)
