"""Micro-simulator throughput before / after a change, side by side on the same snapshots.

Run:  .venv/bin/python bench/bench_microsim_before_after.py [--rev 106e5ad] [--snapshots 1000000]
      [--repeat 3] [--stepper-snapshots 20000]

Loads the replay kernel and facade (``_replay_kernel.py``, ``simulator.py``) of git revision
``--rev`` into a temporary package (every other micro-sim module is today's), then runs the
scenarios of ``bench_microsim.py`` (pure replay; the re-quoting strategy, 1 lot, max position 5,
feed 5 ms, empirical entry / cancel latency, under each queue model) through both, alternating,
best of ``--repeat`` wall times each. The two draw their empirical latencies differently
(numpy's generator vs counter-based hashes), so order and fill counts differ slightly. Last, the
stepper (sim mode) fed one snapshot per call with a command stream over the first
``--stepper-snapshots`` snapshots, against the batch replay of the same.
"""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
_MS = "src/ghtrader/domain/microsim"


def load_before(rev: str, where: Path) -> ModuleType:
    """The facade of ``rev`` as module ``microsim_before.simulator`` (its kernel beside it)."""
    pkg = where / "microsim_before"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for name in ("_replay_kernel.py", "simulator.py"):
        text = subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{rev}:{_MS}/{name}"], check=True, capture_output=True, text=True
        ).stdout
        text = text.replace(
            "from ghtrader.domain.microsim import _replay_kernel as rk",
            "from microsim_before import _replay_kernel as rk",
        )
        (pkg / name).write_text(text)
    sys.path.insert(0, str(where))
    return importlib.import_module("microsim_before.simulator")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", default="106e5ad")
    parser.add_argument("--snapshots", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--end", type=date.fromisoformat, default=date(2026, 11, 27))
    parser.add_argument("--stepper-snapshots", type=int, default=20_000)
    args = parser.parse_args()
    import numpy as np

    from ghtrader.domain.microsim import COMMAND_DTYPE, Latency, QuoteStrategy, SimConfig, codes, simulate
    from ghtrader.domain.microsim.stepper import ReplayStepper

    sys.path.insert(0, str(ROOT / "bench"))
    from make_snapshots import build_snapshots

    ticks, day_start, desc = build_snapshots(args.snapshots, args.days, args.end)
    n = ticks.shape[0]
    lat = Latency(samples_ns=np.array([2, 3, 3, 4, 5, 8, 15]) * 1_000_000)
    strategy = QuoteStrategy(qty=1, max_position=5)

    def config(model: str) -> SimConfig:
        return SimConfig.for_variety(
            "cu", queue_model=model, feed_latency=Latency(5_000_000), entry_latency=lat, cancel_latency=lat, seed=1
        )

    with tempfile.TemporaryDirectory() as tmp:
        before = load_before(args.rev, Path(tmp))
        engines = {"before": before.simulate, "after": simulate}
        for sim in engines.values():  # JIT warm-up
            sim(ticks[:5000], config("risk_averse"), strategy=strategy, day_start=day_start[:5000])
        print("command:", " ".join([sys.executable, *sys.argv]))
        print(f"{desc}; before = {args.rev}, after = working tree\n")
        print("| run | queue model | before: best wall (s) | after: best wall (s) | after / before | "
              "snapshots/s before | snapshots/s after | fills before / after |")  # fmt: skip
        print("|---|---|---|---|---|---|---|---|")
        runs = [("pure replay", "risk_averse", None)] + [
            ("re-quote", m, strategy) for m in ("risk_averse", "prob_power", "prob_log")
        ]
        for name, model, strat in runs:
            best = {k: float("inf") for k in engines}
            fills = {}
            for _ in range(args.repeat):
                for label, sim in engines.items():
                    t1 = time.perf_counter()
                    r = sim(ticks, config(model), strategy=strat, day_start=day_start)
                    best[label] = min(best[label], time.perf_counter() - t1)
                    fills[label] = r.fills.shape[0]
            b, a = best["before"], best["after"]
            print(f"| {name} | {model} | {b:.3f} | {a:.3f} | {a / b:.2f} | {n / b:,.0f} | {n / a:,.0f} | "
                  f"{fills['before']} / {fills['after']} |")  # fmt: skip

    # the stepper: one kernel call per snapshot, a command every ~10 snapshots
    m = min(args.stepper_snapshots, n)
    sub, ds = ticks[:m], day_start[:m]
    rng = np.random.default_rng(3)
    idx = np.sort(rng.choice(m, size=m // 10, replace=False))
    side = rng.choice([codes.BUY, codes.SELL], size=idx.size)
    price = np.where(side == codes.BUY, sub["bid_price1"][idx], sub["ask_price1"][idx])
    cmds = np.zeros(idx.size, dtype=COMMAND_DTYPE)
    cmds["time_ns"], cmds["kind"], cmds["side"], cmds["price"] = sub["datetime_ns"][idx], codes.LIMIT, side, price
    cmds["qty"], cmds["order_id"], cmds["offset"] = 1, np.arange(idx.size), codes.AUTO
    cfg = config("prob_log")
    t1 = time.perf_counter()
    batch = simulate(sub, cfg, cmds, day_start=ds)
    t_batch = time.perf_counter() - t1
    t1 = time.perf_counter()
    stepper = ReplayStepper(cfg)
    j = 0
    for i in range(m):
        while j < idx.size and cmds["time_ns"][j] <= sub["datetime_ns"][i]:
            stepper.submit(cmds[j])
            j += 1
        stepper.step(sub[i : i + 1], bool(ds[i]))
    stepper.finish()
    t_step = time.perf_counter() - t1
    same = np.array_equal(stepper.result().fills, batch.fills)
    print(f"\nstepper, {m:,} snapshots one per call, {idx.size:,} limit orders: {t_step:.2f} s "
          f"({m / t_step:,.0f} snapshots/s, {1e6 * t_step / m:.0f} us per step); batch {t_batch:.3f} s; "
          f"{batch.fills.shape[0]} fills, identical: {same}")  # fmt: skip


if __name__ == "__main__":
    main()
