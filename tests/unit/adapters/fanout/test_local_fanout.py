"""LocalFanoutExecutor: outcomes as tasks finish, per-task failures, dead workers, cancel, and a
shared value that crosses to each worker once."""

from __future__ import annotations

import pickle
import time
from pathlib import Path

import numpy as np
import pytest

from ghtrader.adapters.local_fanout import LocalFanoutExecutor
from ghtrader.application.ports.fanout import FanoutTask, TaskResources, run_all
from tests.unit.adapters.fanout._tasks import Boom, Die, ReadShared, Sleep, Square


def test_results_failures_and_where_they_ran() -> None:
    ex = LocalFanoutExecutor(workers=2)
    tasks = [FanoutTask(f"sq{i}", Square(i)) for i in range(4)] + [FanoutTask("boom", Boom("bad input 7"))]
    outcomes = {o.key: o for o in run_all(ex, tasks)}
    assert set(outcomes) == {"sq0", "sq1", "sq2", "sq3", "boom"}
    for i in range(4):
        o = outcomes[f"sq{i}"]
        assert o.ok and o.value[0] == i * i
        assert o.node.endswith(f":{o.value[1]}")  # host:pid of the worker that ran it
        assert o.duration_s >= 0
    boom = outcomes["boom"]
    assert not boom.ok and "ValueError: bad input 7" in boom.error and "Traceback" in boom.error
    assert len({o.node for o in outcomes.values()}) <= 2  # two worker processes at most


def test_a_dead_worker_fails_its_task_and_the_run_goes_on() -> None:
    ex = LocalFanoutExecutor(workers=1)
    run = ex.open()
    try:
        run.submit([FanoutTask("die", Die())])
        first = run.next_done(timeout_s=60)
        assert first is not None and first.key == "die" and not first.ok and "died" in first.error
        run.submit([FanoutTask("after", Square(3))])  # a fresh pool takes new work
        after = run.next_done(timeout_s=60)
        assert after is not None and after.ok and after.value[0] == 9
    finally:
        run.close()


def test_cancel_stops_running_and_queued_tasks() -> None:
    ex = LocalFanoutExecutor(workers=1)
    run = ex.open()
    run.submit([FanoutTask("long", Sleep(60)), FanoutTask("queued", Sleep(60))])
    assert run.next_done(timeout_s=0.5) is None
    t0 = time.monotonic()
    run.cancel()
    run.close()
    assert run.pending() == 0
    assert time.monotonic() - t0 < 10


def test_slots_and_validation() -> None:
    ex = LocalFanoutExecutor(workers=4)
    assert ex.slots() == 4
    assert ex.slots(TaskResources(cpus=2)) == 2
    assert ex.slots(TaskResources(cpus=8)) == 1
    with pytest.raises(ValueError):
        LocalFanoutExecutor(workers=0)
    with pytest.raises(ValueError):
        TaskResources(cpus=-1)
    with pytest.raises(ValueError, match="unique"):
        list(run_all(ex, [FanoutTask("a", Square(1)), FanoutTask("a", Square(2))]))


def test_a_shared_value_is_read_once_per_worker_and_removed_on_close(tmp_path: Path) -> None:
    value = np.arange(1_000_000, dtype=np.float64)  # 8 MB
    run = LocalFanoutExecutor(workers=1, share_dir=str(tmp_path)).open()
    try:
        handle = run.share(value)
        task = ReadShared(handle)
        assert len(pickle.dumps(task)) < 1000  # the task carries the handle, not the 8 MB
        run.submit([FanoutTask(f"r{i}", task) for i in range(3)])
        outcomes = [run.next_done(timeout_s=60) for _ in range(3)]
    finally:
        run.close()
    results = [o.value for o in outcomes if o is not None and o.ok]
    assert len(results) == 3 and {r[0] for r in results} == {float(value.sum())}
    assert len({r[1] for r in results}) == 1  # one worker ran them all ...
    assert sorted(r[2] for r in results) == [False, True, True]  # ... and unpickled the value once
    assert list(tmp_path.iterdir()) == []  # the run's share directory is gone
