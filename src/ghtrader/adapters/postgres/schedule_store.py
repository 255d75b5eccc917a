"""``PostgresScheduleStore``: the ScheduleStore port on ``ghtrader_main_schedule_v2``.

One schedule per (exchange, variety): a save deletes the variety's rows and inserts the new
ones in one transaction (nothing happens when the stored hash is already the new one).
"""

from __future__ import annotations

from psycopg_pool import ConnectionPool

from ghtrader.adapters.postgres.schema import MAIN_SCHEDULE_TABLE
from ghtrader.application.datasets.store_checks import rebuild_schedule
from ghtrader.application.ports.stores import LAKE_VERSION
from ghtrader.domain.schedule import MainSchedule, ScheduleRow

__all__ = ["PostgresScheduleStore"]

_WHERE = "WHERE exchange = %(exchange)s AND variety = %(variety)s AND lake_version = %(v)s"
_HASHES = f"SELECT DISTINCT schedule_hash FROM {MAIN_SCHEDULE_TABLE} {_WHERE} ORDER BY schedule_hash"
_DELETE = f"DELETE FROM {MAIN_SCHEDULE_TABLE} {_WHERE}"
_INSERT = (
    f"INSERT INTO {MAIN_SCHEDULE_TABLE} "
    "(exchange, variety, trading_day, main_contract, segment_id, schedule_hash, lake_version, switch_ratio) "
    "SELECT %(exchange)s, %(variety)s, d, c, s, %(hash)s, %(v)s, %(ratio)s "
    "FROM unnest(%(days)s::date[], %(contracts)s::text[], %(segments)s::bigint[]) AS u(d, c, s)"
)
# With several hashes stored (another writer), the one reaching the latest day wins.
_LOAD = (
    f"SELECT trading_day, main_contract, segment_id, schedule_hash, switch_ratio FROM {MAIN_SCHEDULE_TABLE} {_WHERE} "
    f"AND schedule_hash = (SELECT schedule_hash FROM {MAIN_SCHEDULE_TABLE} {_WHERE} "
    "ORDER BY trading_day DESC, schedule_hash LIMIT 1) ORDER BY trading_day"
)
# Serialises concurrent saves of one variety ("ghtr" "schd").
_LOCK_KEY = 0x67687472_73636864


class PostgresScheduleStore:
    """ScheduleStore on PostgreSQL. Thread-safe: one pooled connection per call."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    def save_schedule(self, schedule: MainSchedule) -> None:
        key = {"exchange": schedule.exchange, "variety": schedule.variety, "v": LAKE_VERSION}
        with self._pool.connection() as conn, conn.transaction():
            conn.execute(
                "SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
                (_LOCK_KEY >> 32, f"{schedule.exchange}.{schedule.variety}"),
            )
            stored = [r[0] for r in conn.execute(_HASHES, key)]
            if stored == [schedule.schedule_hash] or (not stored and not schedule.rows):
                return
            conn.execute(_DELETE, key)
            if schedule.rows:
                conn.execute(
                    _INSERT,
                    key
                    | {
                        "hash": schedule.schedule_hash,
                        "ratio": float(schedule.switch_ratio),
                        "days": [r.trading_day for r in schedule.rows],
                        "contracts": [r.main_contract for r in schedule.rows],
                        "segments": [r.segment_id for r in schedule.rows],
                    },
                )

    def load_schedule(self, exchange: str, variety: str, *, switch_ratio: float | None = None) -> MainSchedule | None:
        key = {"exchange": exchange, "variety": variety, "v": LAKE_VERSION}
        with self._pool.connection() as conn:
            rows = conn.execute(_LOAD, key).fetchall()
        if not rows:
            return None
        schedule_rows = [ScheduleRow(day, contract, int(seg)) for day, contract, seg, _, _ in rows]
        return rebuild_schedule(exchange, variety, schedule_rows, rows[0][3], switch_ratio, rows[0][4])

    def schedule_hashes(self, exchange: str, variety: str) -> list[str]:
        with self._pool.connection() as conn:
            return [r[0] for r in conn.execute(_HASHES, {"exchange": exchange, "variety": variety, "v": LAKE_VERSION})]
