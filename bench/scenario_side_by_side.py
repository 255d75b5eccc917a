"""The 20-snapshot scenario (scenario_20.py) through the micro-sim and hftbacktest, fills side by side.

Run:  .venv/bin/python bench/scenario_side_by_side.py     (hftbacktest half: bench/.venv-hft, made by
      bench/hftbacktest_env.sh; skipped with a note when missing)

Prints, per queue model and order, the snapshot index at which each engine filled it (micro-sim:
with its fill kind). docs/microsim.md explains every difference.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import scenario_20 as sc  # noqa: E402

HFT_PYTHON = HERE / ".venv-hft" / "bin" / "python"
MODELS = ("risk_averse", "prob_power", "prob_log")


def snapshot_index(time_ns: int) -> int:
    return int((time_ns - sc.T0) // sc.STEP_NS)


def run_microsim(model: str) -> dict[int, tuple[int, str, float]]:
    """``{order id: (snapshot index, fill kind, price)}`` of the micro-sim's fills."""
    from ghtrader.domain.microsim import Latency, SimConfig, codes, make_commands, simulate
    from ghtrader.domain.ticks import TICK_DTYPE

    src = sc.ticks()
    ticks = np.zeros(src.shape[0], dtype=TICK_DTYPE)
    for name in src.dtype.names:
        ticks[name] = src[name]
    rows = [
        (sc.T0 + ms * 1_000_000, codes.LIMIT if kind == "limit" else codes.CANCEL, side or 1, price or 0.0, 1, oid,
         codes.AUTO)
        for ms, kind, side, price, oid in sc.ORDERS
    ]  # fmt: skip
    cfg = SimConfig.for_variety(
        "cu", queue_model=model, feed_latency=Latency(sc.FEED_NS), entry_latency=Latency(sc.ENTRY_NS),
        cancel_latency=Latency(sc.ENTRY_NS),
    )  # fmt: skip
    r = simulate(ticks, cfg, commands=make_commands(rows))
    return {
        int(f["order_id"]): (
            snapshot_index(int(f["datetime_ns"])),
            codes.FILL_KIND_NAMES[int(f["fill_kind"])],
            float(f["price"]),
        )
        for f in r.fills
    }


def run_hftbacktest(model: str) -> dict[int, tuple[int, float]] | None:
    """``{order id: (snapshot index, price)}`` of hftbacktest's fills; None without bench/.venv-hft."""
    if not HFT_PYTHON.exists():
        return None
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    res = subprocess.run(
        [str(HFT_PYTHON), "-W", "ignore", str(HERE / "scenario_hftbacktest.py"), "--model", model],
        capture_output=True, text=True, check=True, cwd="/", env=env,
    )  # fmt: skip
    out = json.loads(res.stdout.strip().splitlines()[-1])
    return {int(oid): (snapshot_index(t), px) for oid, t, px in out["fills"]}


def main() -> None:
    names = {1: "A", 2: "B", 3: "C", 4: "D", 5: "E"}
    print("| queue model | order | micro-sim fill (snapshot, kind) | hftbacktest fill (snapshot) |")
    print("|---|---|---|---|")
    for model in MODELS:
        ms = run_microsim(model)
        hf = run_hftbacktest(model)
        for oid, name in names.items():
            m = f"s{ms[oid][0]} {ms[oid][1]} @ {ms[oid][2]:.0f}" if oid in ms else "not filled"
            if hf is None:
                h = "(no bench/.venv-hft: run bench/hftbacktest_env.sh)"
            else:
                h = f"s{hf[oid][0]} @ {hf[oid][1]:.0f}" if oid in hf else "not filled"
            print(f"| {model} | {name} | {m} | {h} |")


if __name__ == "__main__":
    main()
