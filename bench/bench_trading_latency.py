"""Trading loop latency: tick-to-decision p50 / p99 / max and per stage, LightGBM and TCN.

Trains two small models on synthetic copper (main_l5 ticks of the synthetic market, the core L5
factors, 500 ms snapshots), publishes them through ``TrainModel`` (ONNX, meta sidecar), then drives
the runner in sim mode over the next trading day's recorded ticks: ``StartTradingRun`` ->
``TradingRun`` with the ``DecisionPipeline`` (online factors -> Predictor through onnxruntime ->
the fitted cost-aware policy), the domain ``RiskEngine`` (default limits), the ``DirectExecutor``
and the ``SimulatedExecutionProvider``, with a replaying feed that hands the runner one second of
market ticks per batch. The figures are the runner's own ``StageTimer`` summary (``status["latency"]``):
per stage, ``tick_to_decision`` (tick in -> target known; the targets apply to it) and
``tick_to_orders`` (-> the orders handed to the venue, the sim venue's order intake included).

The TCN runs through the runner's own windowed serving: ``StartTradingRun`` gets the model
families, loads the trained model and gives the pipeline an ``OnlineWindow``; each tick's factor row
is normalised with the model's ``normalize_rows`` and shifted into a preallocated (1, window, f)
input (no probabilities until the window is full, as in the backtest), then the Predictor runs the
TCN graph. The normalise + shift counts in the ``features`` stage.

Each model runs once per ``--clocks`` entry: ``wall`` times the stages with perf_counter_ns (the
runner's clock; the default), ``cpu`` with this thread's CPU time, which leaves out the time the
scheduler gave to other processes but is a system call per lap on a VM without a vDSO thread
clock (it inflates every stage; on the development VM its p99 came out above the wall one).

Run:  .venv/bin/python bench/bench_trading_latency.py [--models lightgbm,tcn] [--ticks 20000] [--clocks wall[,cpu]]
      [--tcn-window 50] [--tcn-channels 32] [--tcn-levels 4] [--seed 7] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

import ghtrader.application.trading.latency as latency_module
from ghtrader.adapters.filesystem.artifacts import FilesystemArtifactStore
from ghtrader.adapters.filesystem.calendar_cache import bundled_holidays_text
from ghtrader.adapters.filesystem.trading_runs import FilesystemTradingRunStore
from ghtrader.adapters.host.clock import SystemClock
from ghtrader.adapters.lightgbm import LightGBMFamily
from ghtrader.adapters.memory import InMemoryModelRegistry, InMemoryTickStore
from ghtrader.adapters.memory.schedule_store import InMemoryScheduleStore
from ghtrader.adapters.onnx import OnnxInferenceRuntime
from ghtrader.adapters.simulated import SimulatedExecutionProvider
from ghtrader.adapters.torch.families import deep_families
from ghtrader.application.ports.models import FeatureFrame, FrameProvenance, TrainConfig
from ghtrader.application.ports.providers import TickCallback
from ghtrader.application.ports.stores import MainL5Provenance, TickBatch
from ghtrader.application.research.families import FamilyRegistry
from ghtrader.application.research.train import TrainModel, TrainRequest
from ghtrader.application.trading.request import TradingRunRequest
from ghtrader.application.trading.risk_setup import risk_engine_factory
from ghtrader.application.trading.run import StartTradingRun
from ghtrader.domain.calendar import TradingCalendar, parse_holidays
from ghtrader.domain.factors import CORE_L5_FACTORS, compute_factor_matrix
from ghtrader.domain.labels import direction_labels
from ghtrader.domain.market_sim import SyntheticMarket, SyntheticMarketConfig
from ghtrader.domain.schedule import MainSchedule
from ghtrader.domain.ticks import row_hash

VARIETY, MAIN = "SHFE.cu", "KQ.m@SHFE.cu"
TRAIN_DAYS = (date(2026, 11, 16), date(2026, 11, 17), date(2026, 11, 18))
FIT_DAY, RUN_DAY = date(2026, 11, 19), date(2026, 11, 20)
HORIZON = 10
WARMUP_TICKS = 600  # ticks of the run day before the start: they warm the factor engine
TARGETS_US = {"lightgbm": 250.0, "tcn": 2000.0}  # tick-to-decision p99 budgets on this machine
PROVENANCE = FrameProvenance("fb-bench", "lb-bench", "sched-bench", "main_l5", "v2", "cfg-bench")


# --- data ----------------------------------------------------------------------------------------
def market(seed: int) -> SyntheticMarket:
    calendar = TradingCalendar(parse_holidays(bundled_holidays_text()))
    cfg = SyntheticMarketConfig(seed=seed, anchor_date=date(2026, 1, 5), signal_strength=0.6, tick_interval_ms=500)
    return SyntheticMarket(cfg, calendar)


@dataclass
class MainTicks:
    ticks: np.ndarray
    trading_day: np.ndarray
    segment_id: np.ndarray
    underlying: np.ndarray
    contracts: list[str]


def main_ticks(m: SyntheticMarket, days: Sequence[date]) -> MainTicks:
    contracts = [m.main_contract(VARIETY, d) for d in days]
    parts = [m.ticks(c, d) for c, d in zip(contracts, days, strict=True)]
    seg_of = {c: i for i, c in enumerate(dict.fromkeys(contracts))}
    return MainTicks(
        np.concatenate(parts),
        np.concatenate([np.full(p.shape[0], np.datetime64(d, "D")) for p, d in zip(parts, days, strict=True)]),
        np.concatenate([np.full(p.shape[0], seg_of[c], np.int64) for p, c in zip(parts, contracts, strict=True)]),
        np.concatenate([np.full(p.shape[0], c, dtype=object) for p, c in zip(parts, contracts, strict=True)]),
        contracts,
    )


def frame_of(mt: MainTicks) -> FeatureFrame:
    t = mt.ticks
    feats, names = compute_factor_matrix(t, mt.trading_day, mt.segment_id, CORE_L5_FACTORS, price_tick=10.0,
                                         multiplier=5.0)  # fmt: skip
    labels = direction_labels(t["bid_price1"], t["ask_price1"], mt.segment_id, (HORIZON,), 10.0, 1.0)
    return FeatureFrame(
        features=feats.astype(np.float32), feature_names=tuple(names), labels=labels[f"dir_h{HORIZON}"],
        segment_id=mt.segment_id, datetime_ns=t["datetime_ns"], trading_day=mt.trading_day,
        mid=(t["bid_price1"] + t["ask_price1"]) / 2, spread=t["ask_price1"] - t["bid_price1"], symbol=MAIN,
        horizon=HORIZON, price_tick=10.0,
    )  # fmt: skip


@dataclass
class StaticFrames:
    frame: FeatureFrame

    def load(self, *args: Any) -> tuple[FeatureFrame, FrameProvenance]:
        return self.frame, PROVENANCE


# --- the feed ---------------------------------------------------------------------------------------
@dataclass
class ReplayFeed:
    """LiveFeed over recorded ticks: ``history`` ticks before the start, then ``step_s`` market
    seconds per batch (no wall-clock pacing: the bench measures processing, not waiting)."""

    ticks: dict[str, np.ndarray]
    start_ns: int
    step_s: float = 1.0
    history: int = WARMUP_TICKS

    def run(self, symbols: Sequence[str], on_ticks: TickCallback, should_stop: Callable[[], bool]) -> None:
        for s in symbols:
            t = self.ticks[s]
            pos = int(np.searchsorted(t["datetime_ns"], self.start_ns, side="right"))
            on_ticks(s, t[max(0, pos - self.history) : pos].copy())
        step = int(self.step_s * 1e9)
        for s in symbols:
            t = self.ticks[s]
            ns = t["datetime_ns"]
            i = int(np.searchsorted(ns, self.start_ns, side="right"))
            while i < t.shape[0]:
                j = int(np.searchsorted(ns, int(ns[i]) + step, side="left"))
                self.start_ns = int(ns[j - 1])
                on_ticks(s, t[i:j].copy())
                i = j
                if should_stop():
                    return


# --- the bench -------------------------------------------------------------------------------------
@dataclass
class _Calendar:
    calendar: TradingCalendar

    def load(self) -> TradingCalendar:
        return self.calendar


FAMILIES = FamilyRegistry([LightGBMFamily(), deep_families()["tcn"]])


def train(tmp: Path, frame: FeatureFrame, family: str, params: dict[str, Any], window: int) -> tuple[Any, Any, str]:
    families = FAMILIES
    store = FilesystemArtifactStore(tmp / "artifacts" / "models")
    registry = InMemoryModelRegistry()
    trainer = TrainModel(families, StaticFrames(frame), store, registry, SystemClock(),
                         runtime=OnnxInferenceRuntime(), code_version="bench")  # fmt: skip
    config = TrainConfig(horizon=HORIZON, params=params, window=window, max_epochs=2, patience=1, device="cpu",
                         amp=False, max_train_rows=30_000)  # fmt: skip
    model_id = f"bench-{family}"
    trainer(TrainRequest(family=family, symbol=MAIN, start_day=TRAIN_DAYS[0], end_day=TRAIN_DAYS[-1],
                         horizon=HORIZON, feature_names=tuple(frame.feature_names), config=config,
                         model_id=model_id))  # fmt: skip
    return registry, store, model_id


def bench_model(family: str, args: argparse.Namespace, m: SyntheticMarket, tmp: Path) -> dict[str, Any]:
    train_mt = main_ticks(m, TRAIN_DAYS)
    if family == "lightgbm":
        params: dict[str, Any] = {"num_boost_round": args.trees, "early_stopping_rounds": 10, "learning_rate": 0.1,
                                  "num_threads": 1, "num_leaves": 31}  # fmt: skip
        window = 1
    else:
        params = {"channels": args.tcn_channels, "levels": args.tcn_levels}
        window = args.tcn_window
    t0 = time.perf_counter()
    registry, artifacts, model_id = train(tmp / family, frame_of(train_mt), family, params, window)
    train_s = time.perf_counter() - t0
    out: dict[str, Any] = {"family": family, "model_id": model_id, "window": window, "params": params,
                           "features": len(CORE_L5_FACTORS), "train_s": round(train_s, 1), "clocks": {}}  # fmt: skip
    for clock in args.clocks.split(","):
        with clock_of(clock):
            out["clocks"][clock] = sim_run(family, window, registry, artifacts, model_id, args, m, tmp / clock)
    return out


@contextmanager
def clock_of(name: str) -> Any:
    """The StageTimer's clock inside the block: ``wall`` (perf_counter_ns, what the runner uses) or
    ``cpu`` (this thread's CPU time: the code's own cost without the time other processes took)."""
    clocks = {"wall": time.perf_counter_ns, "cpu": time.thread_time_ns}
    if name not in clocks:
        raise SystemExit(f"unknown clock {name!r}: wall or cpu")
    saved = latency_module.perf_counter_ns
    latency_module.perf_counter_ns = clocks[name]
    try:
        yield
    finally:
        latency_module.perf_counter_ns = saved


def sim_run(family: str, window: int, registry: Any, artifacts: Any, model_id: str, args: argparse.Namespace,
            m: SyntheticMarket, tmp: Path) -> dict[str, Any]:  # fmt: skip

    days = [FIT_DAY, RUN_DAY]
    mt = main_ticks(m, days)
    tick_store = InMemoryTickStore()
    tick_store.write_ticks(TickBatch(MAIN, "main_l5", mt.ticks, mt.trading_day, row_hash(mt.ticks),
                                     MainL5Provenance(mt.underlying, mt.segment_id, "h")))  # fmt: skip
    schedules = InMemoryScheduleStore()
    schedules.save_schedule(MainSchedule.from_rows(
        [(d, c, int(mt.segment_id[mt.trading_day == np.datetime64(d, "D")][0])) for d, c in zip(days, mt.contracts, strict=True)],
        exchange="SHFE", variety="cu"))  # fmt: skip
    feed_ticks = {c: np.concatenate([m.ticks(c, d) for d in days]) for c in set(mt.contracts)}
    run_day_ticks = m.ticks(mt.contracts[-1], RUN_DAY)
    start_ns = int(run_day_ticks["datetime_ns"][WARMUP_TICKS])
    calendar = _Calendar(m.calendar)
    store = FilesystemTradingRunStore(tmp / family / "runs" / "trading")
    load = os.getloadavg()[0]
    start = StartTradingRun(
        registry=registry, artifacts=artifacts, runtime=OnnxInferenceRuntime(intra_op_threads=1), ticks=tick_store,
        schedules=schedules, calendar=calendar, store=store, clock=SystemClock(),
        feed_factory=lambda replay_from_ns, speedup: ReplayFeed(feed_ticks, replay_from_ns),
        execution_factory=lambda req, spec: SimulatedExecutionProvider(
            initial_cash=req.initial_balance, queue_model="prob_log", calendar=m.calendar),
        risk_factory=risk_engine_factory(calendar), families=FAMILIES,
    )  # fmt: skip
    request = TradingRunRequest(mode="sim", model_id=model_id, symbol=MAIN, replay_from_ns=start_ns,
                                max_ticks=args.ticks, commission_bp=args.commission_bp,
                                snapshot_every_s=60.0, aggressive=args.aggressive,
                                order_kind="fak" if args.aggressive else "limit")  # fmt: skip
    run = start(request)
    t0 = time.perf_counter()
    status = run.run()
    wall = time.perf_counter() - t0
    events = store.tail_events(run.run_id, 1_000_000)
    counts = {k: sum(e["kind"] == k for e in events) for k in ("target_change", "order_new", "trade_fill")}
    policy = run.policy
    return {"policy": {"threshold": policy.get("threshold"), "trades": policy.get("trades")},
            "load_1min": round(load, 2), "run_wall_s": round(wall, 2), "stop_reason": status.get("stop_reason"), "decisions": status.get("ticks"), "events": counts,
            "latency": status["latency"]}  # fmt: skip


def machine() -> str:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",)
    return (f"{cpu}, {os.cpu_count()} logical CPUs, load avg {', '.join(f'{x:.2f}' for x in load)}; "
            f"{platform.system()} {platform.release()}; Python {platform.python_version()}, "
            f"onnxruntime {ort.__version__}")  # fmt: skip


def report(results: list[dict[str, Any]], command: str) -> str:
    lines = [f"command: {command}", f"machine: {machine()}", ""]
    for r in results:
        target = TARGETS_US[r["family"]]
        lines.append(f"### {r['family']} (window {r['window']}, {r['features']} features, params {r['params']}; "
                     f"trained in {r['train_s']} s)")  # fmt: skip
        for clock, c in r["clocks"].items():
            lat = c["latency"]
            decision, orders = lat["stages"]["tick_to_decision"], lat["stages"]["tick_to_orders"]
            verdict = "within" if decision["p99_us"] <= target else "MISSED"
            lines += [
                "",
                f"{clock} clock: sim run of {c['decisions']} decisions in {c['run_wall_s']} s (load {c['load_1min']}), "
                f"stop {c['stop_reason']}, events {c['events']}; tick-to-decision p99 {decision['p99_us']:.1f} us: "
                f"{verdict} the {target:.0f} us target; tick-to-orders p99 {orders['p99_us']:.1f} us",
                "",
                "| stage | ticks | p50 us | p99 us | max us |",
                "|---|---:|---:|---:|---:|",
            ]  # fmt: skip
            for name, st in lat["stages"].items():
                lines.append(f"| {name} | {st['n']} | {st['p50_us']:.1f} | {st['p99_us']:.1f} | {st['max_us']:.1f} |")
        lines.append("")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default="lightgbm,tcn")
    p.add_argument("--ticks", type=int, default=20_000, help="decision ticks per run")
    p.add_argument("--trees", type=int, default=200, help="LightGBM boosting rounds (early stopping may cut)")
    p.add_argument("--tcn-window", type=int, default=50)
    p.add_argument("--tcn-channels", type=int, default=32)
    p.add_argument("--tcn-levels", type=int, default=4)
    p.add_argument("--commission-bp", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--clocks", default="wall", help="StageTimer clocks, one sim run each: wall, cpu")
    p.add_argument(
        "--aggressive", action="store_true", help="cross the spread (FAK); default: limit orders at the own best"
    )
    p.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = p.parse_args(argv)
    m = market(args.seed)
    results = []
    with tempfile.TemporaryDirectory(prefix="ghtrader-latency-") as tmp:
        for family in [s.strip() for s in args.models.split(",") if s.strip()]:
            if family not in TARGETS_US:
                p.error(f"unknown model {family!r}: lightgbm or tcn")
            results.append(bench_model(family, args, m, Path(tmp)))
    command = " ".join([".venv/bin/python", "bench/bench_trading_latency.py", *(argv or sys.argv[1:])])
    print(report(results, command))
    if args.json:
        args.json.write_text(json.dumps({"command": command, "machine": machine(), "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
