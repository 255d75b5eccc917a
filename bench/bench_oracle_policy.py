"""Does the Bayes oracle make money after costs?  The cost-aware policy across signal strengths.

Run:  .venv/bin/python bench/bench_oracle_policy.py [--strengths 0.1,0.2,0.3,0.5] [--horizons 10,50]

For each signal strength ``kappa`` of the synthetic market (default config otherwise, seed 7), the
copper main contract over ``--days`` consecutive trading days: the Bayes oracle's class
probabilities on a random sample of ``--rows`` ticks per day, realized labels and moves from the
generated ticks (k = 1 tick), and the cost-aware expected-move policy of the benchmark
(``domain.evaluation.ceiling``): class moves and threshold fitted on the first days, evaluated on
the last ``--test-days`` days as independent one-lot trades with the default costs (1 bp
commission + half the spread at entry and exit). Prints a markdown table: per strength and
horizon, the fitted threshold in ticks, test trades, net PnL per trade (CNY) and its standard
error, and the oracle's information (prior log-loss minus Bayes log-loss).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import replace
from datetime import date


def _floats(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strengths", type=_floats, default=[0.1, 0.2, 0.3, 0.5])
    parser.add_argument("--horizons", type=lambda s: [int(x) for x in s.split(",")], default=[10, 50])
    parser.add_argument("--days", type=int, default=6)
    parser.add_argument("--test-days", type=int, default=2)
    parser.add_argument("--rows", type=int, default=6000)
    parser.add_argument("--end", type=date.fromisoformat, default=date(2026, 11, 27))
    args = parser.parse_args()
    import numpy as np

    from ghtrader.adapters.filesystem.calendar_cache import bundled_holidays_text
    from ghtrader.domain.calendar import TradingCalendar, parse_holidays
    from ghtrader.domain.evaluation import CostModel, log_loss
    from ghtrader.domain.evaluation.ceiling import (
        fit_expected_move_policy,
        independent_trade_net,
        prior_log_loss,
        round_trip_cost,
    )
    from ghtrader.domain.instruments import contract_spec
    from ghtrader.domain.labels import direction_labels, mid_price
    from ghtrader.domain.market_sim import SyntheticMarket, SyntheticMarketConfig

    calendar = TradingCalendar(parse_holidays(bundled_holidays_text()))
    days = calendar.trading_days(date(2026, 1, 5), args.end)[-args.days :]
    spec = contract_spec("SHFE.cu")
    costs = CostModel()
    print("command:", " ".join([sys.executable, *sys.argv]))
    print(
        f"SHFE.cu main, {days[0]}..{days[-1]}: fit on {len(days) - args.test_days} days, "
        f"test on {args.test_days}; {args.rows} sampled ticks a day; costs: {costs.commission_bp} bp + half-spread x2\n"
    )
    print("| signal strength | H | threshold (ticks) | test trades | net PnL / trade (CNY) | ± SE | LL prior - LL Bayes |")
    print("|---|---|---|---|---|---|---|")
    base = SyntheticMarketConfig(seed=7, anchor_date=date(2026, 1, 5))
    t0 = time.perf_counter()
    for strength in args.strengths:
        market = SyntheticMarket(replace(base, signal_strength=strength), calendar)
        for horizon in args.horizons:
            parts: dict[str, list[np.ndarray]] = {"p": [], "y": [], "d": [], "c": [], "test": []}
            for i, day in enumerate(days):
                symbol = market.main_contract("SHFE.cu", day)
                ticks = market.ticks(symbol, day)
                n = ticks.shape[0]
                rows = np.sort(np.random.default_rng(i).choice(n, size=min(args.rows, n), replace=False))
                probs, _ = market.class_probabilities(symbol, day, horizon, 1.0, rows.astype(np.int64))
                lab = direction_labels(
                    ticks["bid_price1"], ticks["ask_price1"], np.zeros(n, np.int64), [horizon], spec.price_tick
                )
                mid = mid_price(ticks["bid_price1"], ticks["ask_price1"])
                spread = ticks["ask_price1"] - ticks["bid_price1"]
                parts["p"].append(probs)
                parts["y"].append(lab[f"dir_h{horizon}"][rows])
                parts["d"].append(lab[f"dmid_h{horizon}"][rows])
                parts["c"].append(round_trip_cost(costs, mid[rows], spread[rows], spec.price_tick))
                parts["test"].append(np.full(rows.shape[0], i >= len(days) - args.test_days))
            p, y, d, c, test = (np.concatenate(parts[k]) for k in ("p", "y", "d", "c", "test"))
            ok = np.isfinite(p).all(axis=1) & np.isfinite(y) & np.isfinite(d)
            fit, ev = ok & ~test, ok & test
            policy = fit_expected_move_policy(p[fit], d[fit], c[fit], spec.multiplier)
            net = independent_trade_net(policy.positions(p[ev]), d[ev], c[ev], spec.multiplier)
            info = prior_log_loss(y[fit], y[ev]) - log_loss(y[ev], p[ev])
            thr = policy.threshold / spec.price_tick if policy.trades else math.inf
            per_trade = float(net.mean()) if net.size else math.nan
            se = float(net.std(ddof=1) / math.sqrt(net.size)) if net.size > 1 else math.nan
            print(f"| {strength:g} | {horizon} | {thr:.2f} | {net.size} | {per_trade:.1f} | {se:.1f} | {info:.3f} |")
    print(f"\n{time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
