"""QuestDB adapter without a server: parameters, lazy connections, probe and errors when down."""

from __future__ import annotations

import socket
from datetime import date

import numpy as np
import pytest

from ghtrader.adapters.questdb import (
    QuestDBParams,
    QuestDBStoreProbe,
    QuestDBTickStore,
    open_questdb_stores,
)
from ghtrader.adapters.questdb.connections import QuestDBConnections
from ghtrader.application.errors import InvalidArgument, Unavailable
from ghtrader.application.ports.stores import TickBatch
from ghtrader.domain.ticks import empty_ticks


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _params(**kw: object) -> QuestDBParams:
    port = _closed_port()
    base: dict[str, object] = {
        "host": "127.0.0.1", "http_port": port, "pg_port": port, "user": "admin", "password": "s3cret", "database": "qdb",
    }  # fmt: skip
    return QuestDBParams(**(base | kw))  # type: ignore[arg-type]


def test_params_validate_prefix_and_ports_and_hide_the_password() -> None:
    p = _params(table_prefix="ct_ab12_")
    assert "s3cret" not in repr(p)
    with pytest.raises(ValueError, match="table_prefix"):
        _params(table_prefix="Bad-Prefix")
    with pytest.raises(ValueError, match="http_port"):
        _params(http_port=0)


def test_probe_reports_an_unreachable_server_without_raising() -> None:
    health = QuestDBStoreProbe(_params(), timeout_s=1).health()
    assert health.backend == "questdb"
    assert not health.reachable
    assert "127.0.0.1" in health.detail and "s3cret" not in health.detail


def test_stores_open_lazily_and_fail_with_unavailable_when_the_server_is_down() -> None:
    bundle, close = open_questdb_stores(_params(), ensure_schema=False)
    try:
        assert bundle.backend == "questdb"
        assert not bundle.probe.health().reachable
        cx = QuestDBConnections(_params(), connect_timeout_s=0.3)
        try:
            with pytest.raises(Unavailable, match="unreachable"):
                QuestDBTickStore(cx).tick_symbols("raw")
        finally:
            cx.close()
    finally:
        close()
        close()  # idempotent


def test_batch_checks_run_before_any_io() -> None:
    cx = QuestDBConnections(_params(), connect_timeout_s=0.3)
    try:
        store = QuestDBTickStore(cx)
        ticks = empty_ticks(2)
        ticks["datetime_ns"] = [1_709_514_000_000_000_000, 1_709_514_000_500_000_000]  # 2024-03-04 01:00 UTC
        far_day = np.full(2, np.datetime64(date(2024, 5, 1)))
        with pytest.raises(InvalidArgument, match="trading_day"):
            store.write_ticks(TickBatch("SHFE.cu2405", "raw", ticks, far_day, np.zeros(2, np.int64)))
        with pytest.raises(InvalidArgument, match="ticks_lake"):
            store.read_ticks("SHFE.cu2405", "cooked", date(2024, 3, 4), date(2024, 3, 4))
        empty = TickBatch("SHFE.cu2405", "raw", empty_ticks(0), np.empty(0, "datetime64[D]"), np.empty(0, np.int64))
        assert store.write_ticks(empty) == 0
    finally:
        cx.close()
