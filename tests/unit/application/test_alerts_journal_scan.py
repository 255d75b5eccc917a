"""The execution detectors over a trading run's journal: a run whose orders stop filling and get
refused in a burst raises fill_rate and rejection_burst events; an unknown run is NotFound."""

from __future__ import annotations

from pathlib import Path

import pytest

from ghtrader.adapters.filesystem.trading_runs import FilesystemTradingRunStore
from ghtrader.adapters.memory.anomaly_store import InMemoryAnomalyStore
from ghtrader.application.alerts import ScanAnomalies, ScanRequest
from ghtrader.application.errors import NotFound
from tests.fakes.system import FakeClock

T0 = 1_790_000_000 * 10**9
S = 10**9


def _order(status: str, filled: int = 0) -> dict:
    return {"symbol": "SHFE.cu2612", "side": 1, "qty": 1, "price": 70000.0, "status": status, "filled_qty": filled}


def test_journal_scan_finds_fill_rate_drop_and_rejection_burst(tmp_path: Path) -> None:
    runs = FilesystemTradingRunStore(tmp_path / "trading")
    runs.create("r1", {"symbols": {"resolved": "SHFE.cu2612"}})
    for i in range(30):
        runs.append_event("r1", {"kind": "order_done", "time_ns": T0 + i * 60 * S, "order": _order("FILLED", 1)})
    for i in range(30, 60):
        runs.append_event("r1", {"kind": "order_done", "time_ns": T0 + i * 60 * S, "order": _order("CANCELLED")})
    for i in range(25):  # 25 refusals within 25 s
        runs.append_event("r1", {"kind": "risk_refused", "time_ns": T0 + 4000 * S + i * S, "order": _order("")})
    store = InMemoryAnomalyStore()
    scan = ScanAnomalies(ticks=None, calendar=None, store=lambda: store, clock=FakeClock(now=1), runs=runs)  # type: ignore[arg-type]
    r = scan(ScanRequest("", None, None, run_id="r1"))
    assert r.ticks_lake == "run:r1" and r.ticks == 85 and r.symbol == "SHFE.cu2612"
    assert r.by_type == {"fill_rate": 1, "rejection_burst": 1}
    assert r.by_severity == {"WARNING": 1, "CRITICAL": 1}  # the fill rate has no critical level by default
    assert r.critical[0]["anomaly_type"] == "rejection_burst" and r.new_events == 2
    with pytest.raises(NotFound):
        scan(ScanRequest("", None, None, run_id="nope"))
