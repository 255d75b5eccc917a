"""A job process for the reproduce tests: ``python _reproduce_worker.py <job-id> <db> <manifests> <bias-file>``.

Its work is deterministic in the request except for a wall-clock field (volatile, so never
compared) and the number in ``bias-file`` added to its score, which a test changes to make a
rerun differ.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

from ghtrader.adapters.filesystem.run_manifests import JsonRunManifestStore
from ghtrader.adapters.host.clock import SystemClock
from ghtrader.adapters.sqlite import SqliteJobStore
from ghtrader.application.run_manifest import CodeVersion, RunRecorder
from ghtrader.interfaces.grpc.jobs import JobSpec
from ghtrader.interfaces.grpc.streaming import RunOutcome, Work
from ghtrader.interfaces.worker.runner import run_job
from ghtrader.v1 import data_pb2


def spec(bias_file: Path) -> JobSpec:
    def build(request: data_pb2.DownloadRequest, stop: Callable[[], bool]) -> Work:
        def work(progress: Callable[[int, int, str], None]) -> RunOutcome:
            progress(1, 1, "scoring")
            bias = float(bias_file.read_text()) if bias_file.exists() else 0.0
            score = len(request.symbol) / 10 + bias
            result = {
                "days": [request.start_day, request.end_day],
                "score": score,
                "rows": 1234,
                "duration_s": time.monotonic(),  # different on every run
            }
            return RunOutcome(True, f"scored {request.symbol}", result)

        return work

    return JobSpec("Download", data_pb2.DownloadRequest, build)


def main(argv: list[str]) -> int:
    job_id, db, manifests, bias = int(argv[0]), Path(argv[1]), Path(argv[2]), Path(argv[3])
    s = spec(bias)
    recorder = RunRecorder(JsonRunManifestStore(manifests), CodeVersion("c0ffee", False), {"provider": "synthetic"})
    return run_job(job_id, SqliteJobStore(db), {s.type_name: s}, SystemClock(), poll_s=0.01, recorder=recorder)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
