"""TradingRuns: start runs in background threads, list and read them, send operator commands.

Runs write everything through the TradingRunStore, so a run's status, events and commands work
the same from this process, another process or after the server restarted (a run whose process
ended without finishing shows its last state).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from ghtrader.application.errors import InvalidArgument, NotFound
from ghtrader.application.ports.clock import Clock
from ghtrader.application.ports.jobs import JobSource
from ghtrader.application.ports.trading import TradingRunStore
from ghtrader.application.trading.account_lock import AccountLocks
from ghtrader.application.trading.request import TradingRunRequest
from ghtrader.application.trading.run import OPERATOR_COMMANDS, StartTradingRun, TradingRun

__all__ = ["TradingRuns"]

_log = logging.getLogger(__name__)


class TradingRuns:
    """The trading runs of one server process (see the module docstring)."""

    def __init__(
        self, start: StartTradingRun, store: TradingRunStore, clock: Clock, account_locks: AccountLocks | None = None
    ) -> None:
        self._start = start
        self._account_locks = account_locks
        self._store = store
        self._clock = clock
        self._stop = threading.Event()
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()

    def start(self, request: TradingRunRequest, source: JobSource = "api") -> dict[str, Any]:
        """Prepare the run (errors come back here) and drive it in a background thread; a run that
        sends orders to a shared account first takes its ``trade:account`` lock (account_lock.py)."""
        locks = self._account_locks
        lock_job = locks.acquire(request, source) if locks is not None else None
        try:
            run = self._start(request)
        except BaseException as exc:
            if locks is not None:
                locks.release(lock_job, ok=False, summary=f"not started: {exc}")
            raise
        if locks is not None:
            locks.attach(lock_job, run.run_id)
        thread = threading.Thread(target=self._drive, args=(run, lock_job), name=f"trading-{run.run_id}", daemon=True)
        with self._lock:
            self._threads[run.run_id] = thread
        thread.start()
        return {"run_id": run.run_id, "config": self._store.read_config(run.run_id) or {}}

    def _drive(self, run: TradingRun, lock_job: int | None = None) -> None:
        ok, summary = False, f"trading run {run.run_id} crashed"
        try:
            status = run.run(self._stop.is_set)
            ok = status.get("status") == "finished"
            summary = f"trading run {run.run_id}: {status.get('status')} ({status.get('stop_reason')})"
        except Exception:  # noqa: BLE001 - logged; the run's state says failed
            _log.exception("trading run %s crashed", run.run_id)
            run.journal.update(status="failed", error="crashed: see the server log")
            run.journal.write_state()
        finally:
            if self._account_locks is not None:
                self._account_locks.release(lock_job, ok=ok, summary=summary)

    def running(self, run_id: str) -> bool:
        with self._lock:
            t = self._threads.get(run_id)
        return t is not None and t.is_alive()

    def list_runs(self) -> list[dict[str, Any]]:
        out = []
        for run_id in self._store.list_runs():
            config = self._store.read_config(run_id) or {}
            state = self._store.read_state(run_id) or {}
            out.append({
                "run_id": run_id, "mode": config.get("mode", ""), "monitor_only": bool(config.get("monitor_only")),
                "model_id": (config.get("model") or {}).get("model_id", ""),
                "symbol": (config.get("symbols") or {}).get("requested", ""),
                "status": self._status_of(run_id, state), "ticks": int(state.get("ticks") or 0),
                "account_type": str(config.get("account_type", "")), "executor": str(config.get("executor", "")),
            })  # fmt: skip
        return out

    def _status_of(self, run_id: str, state: dict[str, Any]) -> str:
        status = str(state.get("status") or "unknown")
        if status in ("running", "preflight", "starting") and not self.running(run_id):
            return f"{status} (not in this server)"
        return status

    def status(self, run_id: str) -> dict[str, Any]:
        if not self._store.exists(run_id):
            raise NotFound(f"no trading run {run_id}")
        state = self._store.read_state(run_id) or {"run_id": run_id, "status": "starting"}
        return {**state, "config": self._store.read_config(run_id) or {}, "alive": self.running(run_id)}

    def tail(self, run_id: str, limit: int = 50) -> list[dict[str, Any]]:
        if not self._store.exists(run_id):
            raise NotFound(f"no trading run {run_id}")
        return self._store.tail_events(run_id, limit)

    def command(self, run_id: str, command: str, reason: str = "") -> dict[str, Any]:
        """Queue an operator command; the run's loop applies it at its next poll."""
        if command not in OPERATOR_COMMANDS:
            raise InvalidArgument(f"command must be one of {', '.join(OPERATOR_COMMANDS)}, got {command!r}")
        if not self._store.exists(run_id):
            raise NotFound(f"no trading run {run_id}")
        record = {"command": command, "reason": reason, "sent_ns": self._clock.now_ns()}
        self._store.append_command(run_id, record)
        return record

    def shutdown(self, timeout_s: float = 30.0) -> None:
        """Ask every run of this process to stop (``shutdown_signal``) and wait for them."""
        self._stop.set()
        with self._lock:
            threads = list(self._threads.values())
        for t in threads:
            t.join(timeout_s)
