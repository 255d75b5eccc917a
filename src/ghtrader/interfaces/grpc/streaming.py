"""Run a use case in a worker thread and stream its progress, then its result, as RunEvents.

If the client goes away (cancel, Ctrl-C, deadline) the next progress report inside the use case
raises :class:`RunCancelled`, so the work stops at a safe point between steps.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, cast

import grpc

from ghtrader.application.reporting import to_jsonable
from ghtrader.interfaces.grpc.typed_results import typed_fields
from ghtrader.v1 import runs_pb2


class RunCancelled(Exception):
    """The caller is gone; stop working."""


@dataclass(frozen=True)
class RunOutcome:
    ok: bool
    summary: str
    result: Any
    report_path: str | None = None


Work = Callable[[Callable[[int, int, str], None]], RunOutcome]
_DONE = object()


def stream_run(
    work: Work, context: grpc.ServicerContext, *, min_interval_s: float = 0.2, command: str = ""
) -> Iterator[runs_pb2.RunEvent]:
    """Yield progress events while ``work(progress)`` runs, then its result; re-raise its error.

    ``command`` (a JobSpec command) picks the typed result set beside ``result_json``."""
    events: queue.Queue[object] = queue.Queue(maxsize=1000)
    outcome: list[RunOutcome] = []
    failure: list[BaseException] = []
    cancelled = threading.Event()
    context.add_callback(cancelled.set)

    def progress(done: int, total: int, message: str) -> None:
        if cancelled.is_set():
            raise RunCancelled("client cancelled the call")
        pct = 100.0 * done / total if total else 0.0
        event = runs_pb2.RunEvent(progress=runs_pb2.Progress(done=done, total=total, message=message, percent=pct))
        try:
            events.put_nowait(event)
        except queue.Full:  # a slow reader only misses intermediate progress
            pass

    def runner() -> None:
        try:
            outcome.append(work(progress))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the servicer thread
            failure.append(exc)
        finally:
            events.put(_DONE)

    thread = threading.Thread(target=runner, name="grpc-run", daemon=True)
    thread.start()
    while True:
        item = events.get()
        if item is _DONE:
            break
        yield cast(runs_pb2.RunEvent, item)  # only progress events and _DONE are queued
    thread.join()
    if failure:
        raise failure[0]
    result = outcome[0]
    result_json = json.dumps(to_jsonable(result.result), sort_keys=True)
    yield runs_pb2.RunEvent(
        result=runs_pb2.RunResult(
            ok=result.ok,
            summary=result.summary,
            report_path=result.report_path or "",
            result_json=result_json,
            **typed_fields(command, json.loads(result_json)),
        )
    )
