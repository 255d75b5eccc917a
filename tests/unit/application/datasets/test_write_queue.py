"""WriteQueue: ordered background writes, bounded depth, failures surface to the caller."""

from __future__ import annotations

import threading
import time

import pytest

from ghtrader.application.datasets.write_queue import WriteQueue


def test_writes_run_in_order_and_done_runs_on_the_callers_thread() -> None:
    ran: list[int] = []
    done: list[tuple[int, bool]] = []
    me = threading.get_ident()
    with WriteQueue(depth=2) as q:
        for i in range(10):

            def write(i: int = i) -> int:
                time.sleep(0.001 * (10 - i))  # later writes are quicker: order must still hold
                ran.append(i)
                return i * 10

            q.submit(write, lambda r: done.append((r, threading.get_ident() == me)))
    assert ran == list(range(10))
    assert done == [(i * 10, True) for i in range(10)]


def test_at_most_depth_writes_are_in_flight() -> None:
    gate = threading.Event()
    started: list[int] = []
    q = WriteQueue(depth=2)
    try:

        def submit_three() -> None:
            for i in range(3):
                q.submit(lambda i=i: (started.append(i), gate.wait(5)), lambda _r: None)

        t = threading.Thread(target=submit_three)
        t.start()
        time.sleep(0.2)
        assert t.is_alive()  # the third submit waits for the first write
        gate.set()
        t.join(5)
        q.drain()
        assert started == [0, 1, 2]
    finally:
        q.close()


def test_a_failed_write_is_raised_and_the_writes_behind_it_are_cancelled() -> None:
    ran: list[int] = []
    done: list[object] = []
    gate = threading.Event()

    def fail() -> None:
        gate.wait(5)
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"), WriteQueue(depth=3) as q:
        q.submit(fail, done.append)
        q.submit(lambda: ran.append(1), done.append)
        q.submit(lambda: ran.append(2), done.append)
        gate.set()
        q.drain()
    assert done == []  # nothing behind the failure is reported as stored
    assert ran in ([], [1], [1, 2])  # a write already running when it failed may finish
    with pytest.raises(ValueError):
        WriteQueue(depth=0)
