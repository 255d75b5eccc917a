"""``trade:account=<ACCOUNT>``: one order-sending run per shared account, across every process.

A run that sends orders to an account other runs could also reach (a live broker profile, the
Shinny user's TqKq paper account) takes this lock in the control plane's lock table before it
starts, as a job of its own (command ``Trade``) held by the server process that drives it: it is
listed by ``ghtrader jobs`` and ``ghtrader locks``, a second such run is refused at once naming the
holder (a trading run never waits queued: it would trade late), and a holder whose process died
is reaped. The run's end finishes the job and releases the lock. Paper, sim-local and TqSim runs
have accounts of their own and take no lock.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Protocol

from ghtrader.application.errors import FailedPrecondition
from ghtrader.application.ports.clock import Clock
from ghtrader.application.ports.jobs import JobOutcome, JobRegistry, JobSource, LockTable, NewJob
from ghtrader.application.trading.request import TradingRunRequest

__all__ = ["AccountLocks", "TRADE_COMMAND", "trade_lock_key"]

TRADE_COMMAND = "Trade"


class _JobStore(JobRegistry, LockTable, Protocol):
    """The registry and the lock table in one store."""


def trade_lock_key(account: str) -> str:
    """The lock key of a shared account (``live:main``, ``tqkq:<user>``)."""
    return f"trade:account={account}"


class AccountLocks:
    """Takes and gives back the ``trade:account`` lock of order-sending runs (module docstring).

    ``account_of(request)`` is the shared account a request trades ("" when it has its own).
    """

    def __init__(self, jobs: _JobStore, clock: Clock, account_of: Callable[[TradingRunRequest], str], pid: int) -> None:
        self._jobs = jobs
        self._clock = clock
        self._account_of = account_of
        self._pid = int(pid)

    def acquire(self, request: TradingRunRequest, source: JobSource = "api") -> int | None:
        """The lock's job id, or None when the run needs no lock; FailedPrecondition naming the
        holder when another run holds the account."""
        account = self._account_of(request) if request.order_enabled else ""
        if not account:
            return None
        key = trade_lock_key(account)
        args = {"mode": request.mode, "model_id": request.model_id, "symbol": request.symbol,
                "account": request.account, "venue": request.venue, "executor": request.executor}  # fmt: skip
        now = self._clock.now_ns()
        job = self._jobs.create(
            NewJob(TRADE_COMMAND, json.dumps(args, sort_keys=True), "ghtrader.v1.StartRunRequest", "", source, (key,)),
            now,
        )
        self._jobs.set_process(job.id, self._pid, self._pid)
        holders = self._jobs.try_acquire(job.id, self._pid, (key,), now)
        if holders:
            who = ", ".join(f"job {h.job_id} (pid {h.pid})" for h in holders)
            reason = f"{key} is held by {who}: one order-sending run per account"
            self._jobs.finish(job.id, "failed", self._clock.now_ns(), exit_code=3, error_kind="FailedPrecondition",
                              error=reason)  # fmt: skip
            raise FailedPrecondition(reason)
        self._jobs.mark_running(job.id, (key,), now)
        return job.id

    def attach(self, job_id: int | None, run_id: str) -> None:
        """Name the run the lock's job drives (shown by ``jobs show``)."""
        if job_id is not None:
            self._jobs.set_progress(job_id, 0, 0, f"trading run {run_id}")

    def release(self, job_id: int | None, *, ok: bool, summary: str) -> None:
        """The run ended (or never started): finish the job and drop the lock."""
        if job_id is None:
            return
        self._jobs.release(job_id)
        self._jobs.finish(job_id, "succeeded" if ok else "failed", self._clock.now_ns(), exit_code=0 if ok else 1,
                          error="" if ok else summary, outcome=JobOutcome(ok=ok, summary=summary))  # fmt: skip
