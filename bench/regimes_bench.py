"""Regime detection timings on synthetic SHFE copper days (one core).

Run:  .venv/bin/python bench/regimes_bench.py --days 1

Builds the causal observations of the main contract's ticks over ``--days`` trading days of
the synthetic market (500 ms snapshots), then times: the observation build; the Gaussian-HMM
fit (hmmlearn, 3 states, the deterministic start plus ``--seeds`` restarts); the batch forward
filter and Viterbi (numba); the online filter per tick (p50 / p99 of ``HmmFilter.update``);
BOCPD and PELT on log_rvol sampled every window (120 ticks). Prints the command and a
markdown table. Numba compile time is excluded (one warm-up call first).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np

from ghtrader.adapters.changepoints import RupturesPeltSegmenter
from ghtrader.adapters.hmm import HmmlearnRegimeFitter
from ghtrader.application.ports.regimes import HmmFitConfig
from ghtrader.domain.calendar import TradingCalendar
from ghtrader.domain.market_sim import SyntheticMarket, SyntheticMarketConfig
from ghtrader.domain.regimes import (
    OBSERVATION_NAMES,
    BocpdConfig,
    HmmFilter,
    ObservationConfig,
    bocpd,
    build_observations,
    forward_filter,
    viterbi_path,
)

CPU: dict[str, float] = {}


def _timed(fn, *args, **kw):  # type: ignore[no-untyped-def]
    """Result and wall seconds; the process CPU seconds go to CPU[fn name] (the machine may be shared)."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn(*args, **kw)
    CPU[getattr(fn, "__name__", "")] = time.process_time() - c0
    return out, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=1)
    ap.add_argument("--seeds", type=int, default=2, help="random restarts besides the deterministic start")
    ap.add_argument("--n-iter", type=int, default=50)
    ap.add_argument("--start", default="2026-10-12")
    args = ap.parse_args()

    cal = TradingCalendar(())
    market = SyntheticMarket(SyntheticMarketConfig(seed=7), cal)
    first = date.fromisoformat(args.start)
    days = cal.trading_days(first, date(first.year + 1, 1, 1))[: args.days]
    parts, codes = [], []
    for d in days:
        t = market.ticks(market.main_contract("SHFE.cu", d), d)
        parts.append(t)
        codes.append(np.full(t.shape[0], d.toordinal()))
    ticks, code = np.concatenate(parts), np.concatenate(codes)
    cfg = ObservationConfig()
    build_observations(ticks[:1000], code[:1000], cfg)  # compile
    obs, t_obs = _timed(build_observations, ticks, code, cfg)
    fitted, t_fit = _timed(
        HmmlearnRegimeFitter().fit_hmm,
        obs,
        HmmFitConfig(n_states=3, seeds=tuple(range(args.seeds)), n_iter=args.n_iter),
        OBSERVATION_NAMES,
    )
    p = fitted.params
    forward_filter(p, obs[:100])
    viterbi_path(p, obs[:100])
    (probs, _), t_filter = _timed(forward_filter, p, obs)
    path, t_vit = _timed(viterbi_path, p, obs)
    f = HmmFilter(p)
    f.update(obs[0])
    lat = np.empty(obs.shape[0])
    f = HmmFilter(p)
    for i, row in enumerate(obs):
        t0 = time.perf_counter_ns()
        f.update(row)
        lat[i] = time.perf_counter_ns() - t0
    stride = cfg.window
    sampled = obs[::stride, 1]
    sampled = sampled[np.isfinite(sampled)]
    bocpd(sampled[:20], BocpdConfig(max_run=10))
    (run, _), t_bocpd = _timed(bocpd, sampled, BocpdConfig(expected_run=200.0, mu0=float(np.median(sampled[:50])),
                                                             alpha0=2.0, beta0=float(np.var(sampled[:50])) or 1.0,
                                                             max_run=800))  # fmt: skip
    breaks, t_pelt = _timed(RupturesPeltSegmenter().segment, sampled, 3.0 * np.log(sampled.size), 5)
    n = obs.shape[0]
    agree = float((probs.argmax(axis=1) == path).mean())
    print("command: " + " ".join([".venv/bin/python", *sys.argv]))
    print(f"{n:,} ticks over {len(days)} day(s); fit on {fitted.params.n_features} features, "
          f"{int(np.isfinite(obs).all(axis=1).sum()):,} complete rows; "
          f"EM iterations {fitted.n_iter}, converged {fitted.converged}, kept seed {fitted.seed}")  # fmt: skip
    print()
    print("| step | wall | CPU | CPU per tick |")
    print("|---|---:|---:|---:|")
    for name, secs, key in (
        ("observations (numba)", t_obs, "build_observations"),
        (f"HMM fit (hmmlearn, {1 + args.seeds} restarts x <= {args.n_iter} EM)", t_fit, "fit_hmm"),
        ("forward filter, batch (numba)", t_filter, "forward_filter"),
        ("Viterbi (numba)", t_vit, "viterbi_path"),
    ):
        cpu = CPU[key]
        print(f"| {name} | {secs:.3f} s | {cpu:.3f} s | {cpu / n * 1e6:.2f} us |")
    print(f"| online filter `HmmFilter.update` | p50 {np.percentile(lat, 50) / 1e3:.1f} us, "
          f"p99 {np.percentile(lat, 99) / 1e3:.1f} us | | |")  # fmt: skip
    print(
        f"| BOCPD on {sampled.size:,} samples (every {stride} ticks) | {t_bocpd * 1e3:.1f} ms | {CPU['bocpd'] * 1e3:.1f} ms | |"
    )
    print(f"| PELT (ruptures) on the same samples | {t_pelt * 1e3:.1f} ms | {CPU['segment'] * 1e3:.1f} ms | |")
    print()
    share = np.bincount(path, minlength=p.n_states) / n
    print(f"Viterbi occupancy {np.round(share, 3).tolist()}; filter argmax agrees with Viterbi on {agree:.1%} "
          f"of ticks; BOCPD segments {int((np.diff(run) < 0).sum()) + 1}; PELT segments {len(breaks) + 1}")  # fmt: skip


if __name__ == "__main__":
    main()
