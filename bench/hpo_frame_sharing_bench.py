"""HPO with the feature frame shared once per worker vs pickled into every trial task.

Run:  .venv/bin/python bench/hpo_frame_sharing_bench.py --days 6 --tick-ms 1000 --trials 12 --workers 2

A trial-heavy small study: the logistic family (``max_train_rows`` small, so a trial is short)
on a synthetic frame of ``--days`` trading days of SHFE copper's main contract, ``--trials``
trials on ``--workers`` spawned local worker processes, objective log-loss, no pruning. The
same study runs twice on fresh study storage (SQLite): ``RunHpo(share_frame=False)`` pickles the
frame into every trial task (the old way), ``share_frame=True`` puts it once per run
(``FanoutRun.share``: a file each worker unpickles once). Prints the command, the frame's
pickled size, one task's pickled size both ways, and the studies' wall times and their ratio.
``--mode transfer`` runs ``--trials`` no-op tasks that only read the frame instead of trials:
the transport cost alone, which a study's wall time on a busy machine buries in noise.
"""

from __future__ import annotations

import argparse
import os
import pickle
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

from ghtrader.adapters.linear import LogisticFamily
from ghtrader.adapters.local_fanout import LocalFanoutExecutor
from ghtrader.adapters.memory.hpo_trials import InMemoryHpoTrialStore
from ghtrader.adapters.optuna import OptunaStudies, YamlSpaceCatalog
from ghtrader.application.ports.fanout import FanoutTask, InlineShared
from ghtrader.application.ports.models import TrainConfig
from ghtrader.application.research.benchmark import BenchmarkRequest, RunBenchmark
from ghtrader.application.research.families import FamilyRegistry
from ghtrader.application.research.hpo import HpoRequest, RunHpo
from tests.fakes.frames import synthetic_frame
from tests.fakes.system import FakeClock

SPACE = """
family: logistic
params:
  l2_path: {type: float, low: 0.0001, high: 10.0, log: true}
"""


def _study(frame: object, request: HpoRequest, workers: int, share: bool, tmp: Path) -> tuple[float, int]:
    families = FamilyRegistry([LogisticFamily()])
    uc = RunHpo(
        benchmark=RunBenchmark(families=families, clock=FakeClock()),
        families=families,
        studies=OptunaStudies(f"sqlite:///{tmp / ('shared.db' if share else 'pickled.db')}"),
        spaces=YamlSpaceCatalog(),
        trials=InMemoryHpoTrialStore(),
        executor=LocalFanoutExecutor(workers=workers, share_dir=str(tmp)),
        clock=FakeClock(),
        share_frame=share,
    )
    t0 = time.perf_counter()
    report = uc(request, frame=frame)  # type: ignore[arg-type]
    wall = time.perf_counter() - t0
    completed = report.counts()["completed"]
    return wall, completed


@dataclass(frozen=True)
class FrameRows:
    """A no-op trial: reads the frame through its handle (what a trial does first)."""

    frame: Any  # Shared[FeatureFrame]

    def __call__(self) -> int:
        return len(self.frame.get())


def _transfer(frame: object, tasks: int, workers: int, share: bool, tmp: Path) -> float:
    """Wall seconds of ``tasks`` no-op tasks that only read the frame, on ``workers`` processes
    (the pool's start-up is paid before the clock starts)."""
    run = LocalFanoutExecutor(workers=workers, share_dir=str(tmp)).open()
    try:
        warm = [FanoutTask(f"w{i}", FrameRows(InlineShared(0 * i))) for i in range(workers)]
        run.submit(warm)
        for _ in warm:
            run.next_done()
        t0 = time.perf_counter()
        handle = run.share(frame) if share else InlineShared(frame)
        run.submit([FanoutTask(str(i), FrameRows(handle)) for i in range(tasks)])
        done = [run.next_done() for _ in range(tasks)]
        wall = time.perf_counter() - t0
    finally:
        run.close()
    assert all(o is not None and o.ok for o in done), [o.error for o in done if o is not None and not o.ok]
    return wall


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--days", type=int, default=6)
    ap.add_argument("--tick-ms", type=int, default=1000, help="synthetic snapshot clock (500 = SHFE's)")
    ap.add_argument("--trials", type=int, default=12)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--max-train-rows", type=int, default=2000)
    ap.add_argument("--splits", type=int, default=5, help="walk-forward folds of each trial (>= 5)")
    ap.add_argument("--repeats", type=int, default=1, help="runs of each mode (alternating); the best is kept")
    ap.add_argument(
        "--mode",
        choices=("study", "transfer"),
        default="study",
        help="study: whole HPO studies; transfer: no-op tasks that only read the frame (the transport alone)",
    )
    args = ap.parse_args()
    print("command:", " ".join([".venv/bin/python", *sys.argv]))

    frame = synthetic_frame(days=args.days, horizon=10, symbol="KQ.m@SHFE.cu", tick_interval_ms=args.tick_ms)
    frame_bytes = len(pickle.dumps(frame, protocol=pickle.HIGHEST_PROTOCOL))
    train = TrainConfig(horizon=10, max_train_rows=args.max_train_rows)
    base = BenchmarkRequest(
        horizon=10, train=train, n_splits=args.splits, latency_samples=10, throughput_batch=64, throughput_batches=1
    )
    request = HpoRequest(
        "logistic", base, study="bench", n_trials=args.trials, space_text=SPACE, objectives=("log_loss",),
        pruner="none", include_defaults=False,
    )  # fmt: skip
    print(f"frame: {len(frame)} rows x {len(frame.feature_names)} features, pickled {frame_bytes / 1e6:.1f} MB")
    print(f"one task's frame payload: pickled {frame_bytes / 1e6:.1f} MB, shared {_handle_bytes()} bytes")

    times: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(args.repeats):
        for share in (False, True):
            tmp = Path(tempfile.mkdtemp(prefix="hpo-share-bench-"))
            try:
                if args.mode == "transfer":
                    wall, what = _transfer(frame, args.trials, args.workers, share, tmp), "no-op tasks"
                else:
                    wall, completed = _study(frame, request, args.workers, share, tmp)
                    what = f"{completed}/{args.trials} trials completed"
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            times[share].append(wall)
            print(f"  {'shared ' if share else 'pickled'}: {wall:7.2f} s ({what})")
    before, after = min(times[False]), min(times[True])
    print()
    print(f"| frame to workers | {args.mode} wall time (s), best of {args.repeats} | per task (s) |")
    print("|---|---|---|")
    print(f"| pickled into every task | {before:.2f} | {before / args.trials:.3f} |")
    print(f"| shared once per worker | {after:.2f} | {after / args.trials:.3f} |")
    print("all runs: pickled " + ", ".join(f"{t:.2f}" for t in times[False]))
    print("all runs: shared  " + ", ".join(f"{t:.2f}" for t in times[True]))
    print(f"\nratio pickled / shared: {before / after:.2f}x")
    return 0


def _handle_bytes() -> int:
    """Pickled size of the local executor's shared handle (what a task carries instead)."""
    from ghtrader.adapters.local_fanout.executor import FileShared

    return len(pickle.dumps(FileShared("/tmp/ghtrader-fanout-xxxxxxxx/" + "0" * 32 + ".pkl", "0" * 32)))


if __name__ == "__main__":
    raise SystemExit(main())
