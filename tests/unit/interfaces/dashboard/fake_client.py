"""An in-memory stand-in for GhTraderClient: what the dashboard reads and the jobs it starts.

It answers like the real client (same method names, same shapes) so page tests need no
server; the browser tests run the real one.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from ghtrader.interfaces.client import ApiError, ServerUnavailableError
from ghtrader.interfaces.client.views import (
    ContractStatusView,
    DiskView,
    RunResultView,
    StatusView,
    VarietyStatusView,
)


def job(job_id: int, command: str, state: str, *, source: str = "terminal", summary: str = "") -> dict[str, Any]:
    return {
        "id": job_id, "command": command, "args_json": "{}", "source": source, "state": state, "pid": 0, "pgid": 0,
        "created_ns": 1_765_000_000_000_000_000 + job_id, "start_ns": 0, "end_ns": 0, "duration_s": 0.0,
        "has_exit_code": state in ("succeeded", "failed"), "exit_code": 0 if state == "succeeded" else 2,
        "error_kind": "", "error": "", "locks_wanted": [], "locks_held": [], "waited_for": "", "tqsdk": False,
        "no_wait": False, "progress_done": 0, "progress_total": 0, "progress_message": "", "log_path": "",
        "has_result": False, "ok": state == "succeeded", "summary": summary, "report_path": "", "result_json": "{}",
    }  # fmt: skip


# the smallest valid PNG (1x1, grey)
PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010800000000"
    "3a7e9b550000000a49444154789c6360000000020001e221bc330000000049454e44ae426082"
)


@dataclass
class FakeClient:
    reachable: bool = True
    jobs: list[dict[str, Any]] = field(default_factory=list)
    contracts: int = 3
    calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)  # anomaly events, newest first
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _check(self) -> None:
        if not self.reachable:
            raise ServerUnavailableError("127.0.0.1:1", "failed to connect to all addresses")

    def close(self) -> None:
        return None

    def get_status(self) -> StatusView:
        self._check()
        return StatusView(
            "0.1.0", "abcdef1234", 3600.0, 1_765_000_000_000_000_000, "postgres", True, "embedded", 12.0, 16,
            4 << 30, 16 << 30, (DiskView("/data", 10 << 30, 90 << 30, 100 << 30),), "NVIDIA H100 80GB", "synthetic",
        )  # fmt: skip

    def pipeline_readiness(self, varieties: Any = ()) -> dict[str, Any]:
        self._check()
        return {"store_reachable": True, "store_detail": "memory", "varieties": [
            {"variety": "SHFE.cu", "raw_contracts": 12, "schedule_present": True, "main_l5_days": 40,
             "main_l5_last_day": "2026-02-27", "error": ""},
            {"variety": "SHFE.au", "raw_contracts": 6, "schedule_present": False, "main_l5_days": 0,
             "main_l5_last_day": "", "error": ""},
            {"variety": "SHFE.ag", "raw_contracts": 0, "schedule_present": False, "main_l5_days": 0,
             "main_l5_last_day": "", "error": ""},
        ]}  # fmt: skip

    def directory_sizes(self) -> dict[str, Any]:
        self._check()
        return {
            "sizes": [
                {"path": "data", "bytes": 3 << 30, "files": 1200, "partial": False, "walk_seconds": 0.4,
                 "measured_ns": 1_765_000_000_000_000_000, "error": ""},
                {"path": "runs", "bytes": 5 << 20, "files": 90000, "partial": True, "walk_seconds": 10.0,
                 "measured_ns": 1_765_000_000_000_000_000, "error": ""},
                {"path": "artifacts", "bytes": 0, "files": 0, "partial": False, "walk_seconds": 0.0,
                 "measured_ns": 1_765_000_000_000_000_000, "error": "not a folder (does not exist yet?)"},
            ],
            "measuring": False, "ttl_seconds": 300.0, "budget_seconds": 10.0,
        }  # fmt: skip

    def report_figures(self, report_path: str, max_bytes: int | None = None) -> list[tuple[str, bytes]]:
        self._check()
        with self._lock:
            self.calls.append(("report_figures", (report_path,), {}))
        return [("reliability", PNG_1X1), ("equity", PNG_1X1)] if report_path.endswith(".json") else []

    def list_jobs(
        self, *, states: Any = (), source: str = "", limit: int = 0, before_id: int | None = None
    ) -> list[dict[str, Any]]:
        self._check()
        with self._lock:
            found = [
                j
                for j in reversed(self.jobs)
                if (not states or j["state"] in states)
                and (not source or j["source"] == source)
                and (before_id is None or j["id"] < before_id)
            ]
            self.calls.append(("list_jobs", (), {"limit": limit, "before_id": before_id}))
        return found[: limit or 100]

    def get_job(self, job_id: int) -> dict[str, Any]:
        self._check()
        for j in self.jobs:
            if j["id"] == job_id:
                return j
        raise ApiError("NOT_FOUND", f"no job {job_id}")

    def tail_job_log(self, job_id: int, *, offset: int = 0, follow: bool = False) -> list[str]:
        text = f"job {job_id} log line\n".encode()
        return [text[offset:].decode()] if offset < len(text) else []

    def cancel_job(self, job_id: int, *, grace_s: float | None = None) -> dict[str, Any]:
        j = self.get_job(job_id)
        j["state"] = "cancelled"
        self.calls.append(("cancel_job", (job_id,), {}))
        return j

    def list_locks(self) -> list[dict[str, Any]]:
        self._check()
        return [{"key": "ticks:symbol=SHFE.cu2612", "job_id": 2, "pid": 42, "acquired_ns": 1_765_000_000_000_000_000}]

    def list_models(self, *, model_type: str = "", status: str = "") -> list[dict[str, Any]]:
        self._check()
        return [
            {"model_id": "cu-logistic", "version": "v3", "model_type": "logistic", "status": "production",
             "artifact_path": "artifacts/m.onnx", "config_hash": "x", "metrics": {"auc": 0.61}, "created_at_ns": 1},
            {"model_id": "cu-lgbm", "version": "v1", "model_type": "lightgbm", "status": "candidate",
             "artifact_path": "artifacts/n.onnx", "config_hash": "y", "metrics": {"auc": 0.58}, "created_at_ns": 2},
        ]  # fmt: skip

    def model_card(self, model_id: str, version: str = "") -> dict[str, Any]:
        self._check()
        with self._lock:
            self.calls.append(("model_card", (model_id, version), {}))
        entry = next((m for m in self.list_models() if m["model_id"] == model_id), None)
        if entry is None:
            raise ApiError("NOT_FOUND", f"no model {model_id!r} is registered")
        return {
            "entry": entry, "family": entry["model_type"], "horizon": 50, "window": 1, "symbol": "KQ.m@SHFE.cu",
            "ticks_lake": "main_l5", "train_start_day": "2026-01-05", "train_end_day": "2026-02-27",
            "train_rows": 9000, "valid_rows": 1000, "features": ["spread", "imbalance_l1"],
            "calibration": {"method": "isotonic", "brier_after": 0.19}, "onnx_path": "artifacts/m/model.onnx",
            "onnx_bytes": 2048, "card_markdown": "# card", "meta_error": "",
            "history": [{"model_id": model_id, "version": entry["version"], "from_status": "development",
                         "to_status": "production", "reason": "gate passed", "actor": "cli", "at_ns": 1,
                         "decision": {}}],
        }  # fmt: skip

    def model_history(self, model_id: str) -> list[dict[str, Any]]:
        return []

    def list_trading_runs(self, mode: str = "") -> list[dict[str, Any]]:
        self._check()
        return [{"run_id": "paper-1", "mode": "paper", "monitor_only": False, "model_id": "cu-logistic",
                 "symbol": "KQ.m@SHFE.cu", "status": "finished", "ticks": 1000, "account_type": "sim", "executor": "direct"}]  # fmt: skip

    def trading_run_status(self, run_id: str) -> dict[str, Any]:
        self._check()
        return {"run_id": run_id, "alive": False, "status": "finished", "ticks": 1000}

    def tail_trading_events(self, run_id: str, *, limit: int | None = None, kind: str = "") -> list[dict[str, Any]]:
        return [{"kind": "trade_fill", "time_ns": 1}]

    def trading_run_equity(self, run_id: str, *, max_points: int | None = None) -> dict[str, Any]:
        self._check()
        with self._lock:
            self.calls.append(("trading_run_equity", (run_id,), {}))
        t0 = 1_765_000_000_000_000_000
        equity = [100_000.0, 100_250.0, 99_900.0, 100_400.0]
        return {"run_id": run_id, "time_ns": [t0 + i * 10**9 for i in range(4)], "equity": equity,
                "pnl": [e - equity[0] for e in equity], "balance": equity, "snapshots": 9000, "max_drawdown": 350.0}  # fmt: skip

    def contract_status(self, variety: str) -> VarietyStatusView:
        self._check()
        if not variety.startswith("SHFE.") or variety.count(".") != 1:
            raise ApiError("INVALID_ARGUMENT", f"invalid symbol {variety!r}: expected a variety key like 'SHFE.cu'")
        contracts = tuple(
            ContractStatusView(
                f"{variety}26{i:02d}", "complete" if i % 2 else "missing", 20, 18, 1, 1, "2026-01-05", "2026-02-02"
            )
            for i in range(1, self.contracts + 1)
        )
        counts: dict[str, int] = {}
        for c in contracts:
            counts[c.status] = counts.get(c.status, 0) + 1
        return VarietyStatusView(variety, contracts, counts)

    def run_query(self, sql: str, *, max_rows: int | None = None, timeout_s: float | None = None) -> dict[str, Any]:
        self._check()
        with self._lock:
            self.calls.append(("run_query", (sql,), {}))
        if ";" in sql.strip().rstrip(";") or not sql.lstrip().lower().startswith(("select", "with")):
            raise ApiError("INVALID_ARGUMENT", "only one read-only statement (SELECT / WITH / EXPLAIN) is allowed")
        if "rows_total" in sql:  # the /data heatmap's read of the day index
            return {"columns": [{"name": "symbol", "type": "text"}, {"name": "day", "type": "text"},
                                {"name": "rows_total", "type": "int8"}],
                    "rows": [["SHFE.cu2601", "2026-01-05", 5000], ["SHFE.cu2602", "2026-01-06", 7000]],
                    "row_count": 2, "truncated": False, "truncated_by": "", "elapsed_ms": 1.0, "statement": sql,
                    "store": "postgres", "max_rows": max_rows or 1000, "timeout_s": 10.0}  # fmt: skip
        return {"columns": [{"name": "symbol", "type": "text"}, {"name": "days", "type": "int8"}],
                "rows": [["SHFE.cu2612", 20]], "row_count": 1, "truncated": False, "truncated_by": "",
                "elapsed_ms": 1.5, "statement": sql, "store": "postgres", "max_rows": max_rows or 1000, "timeout_s": 10.0}  # fmt: skip

    def build_dataset(self, symbol: str, **kwargs: Any) -> RunResultView:
        """Registers a job like the server does (source dashboard) and finishes it."""
        self.calls.append(("build_dataset", (symbol,), kwargs))
        with self._lock:
            new = job(len(self.jobs) + 1, "BuildDataset", "succeeded", source="dashboard", summary=f"built {symbol}")
            self.jobs.append(new)
        return RunResultView(True, new["summary"], "", {}, job_id=new["id"])

    def list_alerts(self, *, severity: str = "", since_ns: int | None = None, limit: int | None = None,
                    **_filters: Any) -> dict[str, Any]:  # fmt: skip
        self._check()
        order = ("", "info", "warning", "critical")
        keep = [a for a in self.alerts if order.index(a["severity"].lower()) >= order.index(severity)
                and (since_ns is None or a["datetime_ns"] >= since_ns)][: limit or 200]  # fmt: skip
        counts: dict[str, int] = {}
        for a in keep:
            counts[a["severity"]] = counts.get(a["severity"], 0) + 1
        return {"events": keep, "counts": counts}

    def __getattr__(self, name: str) -> Any:
        # Any other long-running call: record it and finish at once.
        def call(*args: Any, **kwargs: Any) -> RunResultView:
            self.calls.append((name, args, kwargs))
            return RunResultView(True, f"{name} done", "", {})

        return call
