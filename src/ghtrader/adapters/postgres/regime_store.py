"""``PostgresRegimeStateStore``: the RegimeStateStore port on ``ghtrader_regime_states_v2``.

One row per (symbol, detection_method, model_config_hash, datetime_ns) (the primary key, so a
rerun upserts instead of duplicating). ``regime_probabilities`` is a ``float8[]`` of the
series' K probabilities. Writes: binary COPY of fixed-width rows (``p0..pK-1`` as separate
float8 columns, encoded by NumPy) into a temporary staging table, then one
``INSERT ... SELECT ..., ARRAY[p0, ...] ... ON CONFLICT DO UPDATE``. Reads: binary COPY out with
the array unpacked into K columns, so no per-row Python work either way.
"""

from __future__ import annotations

from datetime import date

import numpy as np
from psycopg_pool import ConnectionPool

from ghtrader.adapters.postgres._copy_binary import PG_EPOCH_DAYS, PG_EPOCH_US, CopyBinaryReader, encode_rows
from ghtrader.adapters.table_names import REGIME_STATES_TABLE
from ghtrader.application.errors import InvalidArgument
from ghtrader.application.ports.regimes import RegimeStates, RegimeStateSummary, summarise_groups

__all__ = ["PostgresRegimeStateStore"]

_DDL = (
    f"CREATE TABLE IF NOT EXISTS {REGIME_STATES_TABLE} ("
    'symbol text COLLATE "C" NOT NULL, '
    'detection_method text COLLATE "C" NOT NULL, '
    'model_config_hash text COLLATE "C" NOT NULL, '
    "datetime_ns bigint NOT NULL, "
    "ts timestamptz NOT NULL, "
    "trading_day date NOT NULL, "
    "regime_id integer NOT NULL, "
    "regime_probabilities double precision[] NOT NULL, "
    "lake_version text NOT NULL DEFAULT 'v2', "
    "PRIMARY KEY (symbol, detection_method, model_config_hash, datetime_ns))",
    f"CREATE INDEX IF NOT EXISTS {REGIME_STATES_TABLE}_day_idx "
    f"ON {REGIME_STATES_TABLE} (symbol, detection_method, model_config_hash, trading_day)",
)
_KEY = "symbol = %(symbol)s AND detection_method = %(method)s AND model_config_hash = %(hash)s"
_BLOCK_ROWS = 50_000


class PostgresRegimeStateStore:
    """RegimeStateStore on PostgreSQL. Thread-safe: one pooled connection per call."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    def ensure_schema(self) -> list[str]:
        with self._pool.connection() as conn, conn.transaction():
            for statement in _DDL:
                conn.execute(statement)
        return [REGIME_STATES_TABLE]

    def write_states(self, states: RegimeStates) -> int:
        n = len(states)
        if n == 0:
            return 0
        probs = np.asarray(states.probabilities, dtype=np.float64)
        if probs.ndim != 2 or probs.shape[0] != n or probs.shape[1] < 1:
            raise InvalidArgument("probabilities must be (rows, K) with K >= 1")
        k = probs.shape[1]
        dt = np.asarray(states.datetime_ns, dtype=np.int64)
        kinds = ["int8", "timestamptz", "date", "int4"] + ["float8"] * k
        columns = [
            dt,
            dt // 1000 - PG_EPOCH_US,
            np.asarray(states.trading_day, dtype="datetime64[D]").astype(np.int64) - PG_EPOCH_DAYS,
            np.asarray(states.regime_id, dtype=np.int64),
        ] + [probs[:, j] for j in range(k)]
        pcols = [f"p{j}" for j in range(k)]
        stage = "ghtrader_regime_stage"
        params = {"symbol": states.symbol, "method": states.detection_method, "hash": states.model_config_hash}
        with self._pool.connection() as conn, conn.transaction():
            conn.execute(
                f"CREATE TEMP TABLE {stage} (datetime_ns bigint, ts timestamptz, trading_day date, "
                f"regime_id integer, {', '.join(c + ' double precision' for c in pcols)}) ON COMMIT DROP"
            )
            names = ", ".join(["datetime_ns", "ts", "trading_day", "regime_id", *pcols])
            with conn.cursor().copy(f"COPY {stage} ({names}) FROM STDIN (FORMAT BINARY)") as cp:
                for start in range(0, n, _BLOCK_ROWS):
                    stop = min(start + _BLOCK_ROWS, n)
                    block = [c[start:stop] for c in columns]
                    cp.write(encode_rows(kinds, block, header=start == 0, trailer=stop == n))
            conn.execute(
                f"INSERT INTO {REGIME_STATES_TABLE} (symbol, detection_method, model_config_hash, datetime_ns, ts, "
                "trading_day, regime_id, regime_probabilities) "
                f"SELECT %(symbol)s, %(method)s, %(hash)s, datetime_ns, ts, trading_day, regime_id, "
                f"ARRAY[{', '.join(pcols)}] FROM {stage} "
                "ON CONFLICT (symbol, detection_method, model_config_hash, datetime_ns) DO UPDATE SET "
                "ts = EXCLUDED.ts, trading_day = EXCLUDED.trading_day, regime_id = EXCLUDED.regime_id, "
                "regime_probabilities = EXCLUDED.regime_probabilities",
                params,
            )
        return n

    def read_states(
        self, symbol: str, detection_method: str, model_config_hash: str, start_day: date, end_day: date
    ) -> RegimeStates:
        params: dict[str, object] = {
            "symbol": symbol,
            "method": detection_method,
            "hash": model_config_hash,
            "start": start_day,
            "end": end_day,
        }
        where = f"WHERE {_KEY} AND trading_day BETWEEN %(start)s AND %(end)s"
        with self._pool.connection() as conn, conn.transaction():
            row = conn.execute(
                f"SELECT cardinality(regime_probabilities) FROM {REGIME_STATES_TABLE} {where} LIMIT 1", params
            ).fetchone()
            k = int(row[0]) if row is not None else 0
            if k == 0:
                return _empty(symbol, detection_method, model_config_hash)
            # rows written with another K (a different model would have another hash) read as NaN
            probs_sql = ", ".join(f"COALESCE(regime_probabilities[{j + 1}], 'NaN'::float8)" for j in range(k))
            reader = CopyBinaryReader(["int8", "date", "int4"] + ["float8"] * k)
            copy = (
                f"COPY (SELECT datetime_ns, trading_day, regime_id, {probs_sql} FROM {REGIME_STATES_TABLE} "
                f"{where} ORDER BY datetime_ns) TO STDOUT (FORMAT BINARY)"
            )
            with conn.cursor().copy(copy, params) as cp:
                for chunk in cp:
                    reader.feed(chunk)
            cols = reader.finish()
        return RegimeStates(
            symbol=symbol,
            detection_method=detection_method,
            model_config_hash=model_config_hash,
            datetime_ns=cols[0],
            trading_day=(cols[1].astype(np.int64) + PG_EPOCH_DAYS).astype("datetime64[D]"),
            regime_id=cols[2].astype(np.int64),
            probabilities=np.column_stack(cols[3:]),
        )

    def summaries(self, symbol: str | None = None) -> list[RegimeStateSummary]:
        where = "WHERE symbol = %(symbol)s" if symbol else ""
        with self._pool.connection() as conn:
            rows = conn.execute(
                f"SELECT symbol, detection_method, model_config_hash, regime_id, count(*), min(datetime_ns), "
                f"max(datetime_ns) FROM {REGIME_STATES_TABLE} {where} "
                "GROUP BY symbol, detection_method, model_config_hash, regime_id "
                "ORDER BY symbol, detection_method, model_config_hash, regime_id",
                {"symbol": symbol},
            ).fetchall()
        return summarise_groups(
            [(str(a), str(b), str(c), int(d), int(e), int(f), int(g)) for a, b, c, d, e, f, g in rows]
        )


def _empty(symbol: str, method: str, model_hash: str) -> RegimeStates:
    return RegimeStates(
        symbol=symbol,
        detection_method=method,
        model_config_hash=model_hash,
        datetime_ns=np.empty(0, dtype=np.int64),
        trading_day=np.empty(0, dtype="datetime64[D]"),
        regime_id=np.empty(0, dtype=np.int64),
        probabilities=np.empty((0, 0)),
    )
