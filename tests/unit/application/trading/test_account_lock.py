"""trade:account=<ACCOUNT>: one order-sending run per shared account, in the control plane's lock
table (a real SQLite job store), refused at once naming the holder, reaped when its process died."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ghtrader.adapters.sqlite import SqliteJobStore
from ghtrader.application.errors import FailedPrecondition
from ghtrader.application.trading.account_lock import TRADE_COMMAND, AccountLocks, trade_lock_key
from ghtrader.application.trading.request import TradingRunRequest, account_key
from ghtrader.application.trading.service import TradingRuns


class _Clock:
    """Wall time: the lock table tells a reused pid by the process's start against the lock's time."""

    def now_ns(self) -> int:
        return time.time_ns()


def _locks(store: SqliteJobStore, pid: int | None = None) -> AccountLocks:
    return AccountLocks(store, _Clock(), lambda r: account_key(r, "shinny-user"), os.getpid() if pid is None else pid)


def test_runs_with_their_own_account_take_no_lock(tmp_path: Path) -> None:
    store = SqliteJobStore(tmp_path / "jobs.db")
    locks = _locks(store)
    for req in (
        TradingRunRequest(mode="paper", model_id="m"),
        TradingRunRequest(mode="sim", model_id="m"),  # sim-local
        TradingRunRequest(mode="sim", model_id="m", venue="tqsim"),
        TradingRunRequest(mode="live", model_id="m", monitor_only=True),  # never sends an order
    ):
        assert locks.acquire(req) is None
    assert store.list_jobs() == [] and store.holders() == []


def test_one_order_sending_run_per_account_refused_at_once_and_released(tmp_path: Path) -> None:
    store = SqliteJobStore(tmp_path / "jobs.db")
    live = TradingRunRequest(mode="live", model_id="m", account="main")
    first = _locks(store).acquire(live, "terminal")
    assert first is not None
    job = store.get(first)
    assert job is not None and job.command == TRADE_COMMAND and job.state == "running" and job.source == "terminal"
    assert [h.key for h in store.holders()] == [trade_lock_key("live:main")]
    with pytest.raises(FailedPrecondition, match=rf"trade:account=live:main is held by job {first} "):
        _locks(store).acquire(live)
    refused = store.list_jobs(states=["failed"])
    assert len(refused) == 1 and refused[0].error_kind == "FailedPrecondition"
    # another account, and TqKq (the Shinny user's one paper account), are separate locks
    other = _locks(store).acquire(TradingRunRequest(mode="live", model_id="m", account="alt"))
    tqkq = _locks(store).acquire(TradingRunRequest(mode="sim", model_id="m", venue="tqkq"))
    assert other is not None and tqkq is not None
    assert trade_lock_key("tqkq:shinny-user") in {h.key for h in store.holders()}
    _locks(store).release(first, ok=True, summary="finished")
    assert store.get(first).state == "succeeded"  # type: ignore[union-attr]
    again = _locks(store).acquire(live)
    assert again is not None and again != first


def test_a_lock_of_a_dead_server_is_reaped(tmp_path: Path) -> None:
    store = SqliteJobStore(tmp_path / "jobs.db")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    live = TradingRunRequest(mode="live", model_id="m", account="main")
    assert _locks(store, pid=dead.pid).acquire(live) is not None
    assert _locks(store).acquire(live) is not None  # the dead holder's lock was reaped


class _FailingStart:
    def shared_account(self, request: TradingRunRequest) -> str:
        return account_key(request)

    def __call__(self, request: TradingRunRequest) -> object:
        raise FailedPrecondition("no model m")


def test_a_run_that_fails_to_start_gives_its_lock_back(tmp_path: Path) -> None:
    store = SqliteJobStore(tmp_path / "jobs.db")
    locks = AccountLocks(store, _Clock(), account_key, os.getpid())
    runs = TradingRuns(_FailingStart(), None, _Clock(), locks)  # type: ignore[arg-type]
    with pytest.raises(FailedPrecondition, match="no model m"):
        runs.start(TradingRunRequest(mode="live", model_id="m", account="main"))
    assert store.holders() == []
    (job,) = store.list_jobs()
    assert job.state == "failed" and "not started: no model m" in job.error
