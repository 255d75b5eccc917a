"""The in-memory AnomalyStore passes the store contract."""

from __future__ import annotations

from ghtrader.adapters.memory.anomaly_store import InMemoryAnomalyStore
from tests.fakes.anomaly_store_contract import check_anomaly_store


def test_memory_anomaly_store_contract() -> None:
    check_anomaly_store(InMemoryAnomalyStore())
