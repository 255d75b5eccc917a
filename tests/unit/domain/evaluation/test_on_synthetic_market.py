"""The evaluation pieces together on two days of the synthetic copper market, whose generator
plants a known order-flow signal (its oracle is the expected forward mid move)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from ghtrader.domain.calendar import TradingCalendar
from ghtrader.domain.evaluation import (
    SESSION_NAMES,
    alpha_decay,
    evaluate_positions,
    session_codes,
    walk_forward_splits,
)
from ghtrader.domain.instruments import contract_spec
from ghtrader.domain.labels import direction_labels, mid_price
from ghtrader.domain.market_sim import SyntheticMarket, SyntheticMarketConfig

HORIZONS = (10, 50, 100, 200)


@pytest.fixture(scope="module")
def market_days() -> dict[str, object]:
    cal = TradingCalendar(set())
    market = SyntheticMarket(SyntheticMarketConfig(seed=3, signal_strength=0.1), cal)
    spec = contract_spec("SHFE.cu")
    ticks, days, oracle = [], [], {h: [] for h in HORIZONS}
    for d in (date(2024, 3, 5), date(2024, 3, 6), date(2024, 3, 7)):
        symbol = market.main_contract("SHFE.cu", d)
        t = market.ticks(symbol, d)
        ticks.append(t)
        days.append(np.full(t.shape[0], np.datetime64(d, "D")))
        for h in HORIZONS:
            oracle[h].append(market.oracle(symbol, d, h))
    t = np.concatenate(ticks)
    seg = np.zeros(t.shape[0], dtype=np.int64)
    labels = direction_labels(t["bid_price1"], t["ask_price1"], seg, HORIZONS, spec.price_tick)
    return {
        "ticks": t,
        "day": np.concatenate(days),
        "seg": seg,
        "labels": labels,
        "oracle": {h: np.concatenate(v) for h, v in oracle.items()},
        "calendar": cal,
        "spec": spec,
    }


def _trade(m: dict, positions: np.ndarray, h: int, **kw: object):  # type: ignore[no-untyped-def]
    t = m["ticks"]
    return evaluate_positions(
        positions,
        m["labels"][f"dmid_h{h}"],
        h,
        mid=mid_price(t["bid_price1"], t["ask_price1"]),
        spread=t["ask_price1"] - t["bid_price1"],
        segment_id=m["seg"],
        trading_day=m["day"],
        multiplier=m["spec"].multiplier,
        price_tick=m["spec"].price_tick,
        **kw,
    )


def test_the_oracle_has_an_edge_that_decays(market_days: dict) -> None:
    m = market_days
    rep = alpha_decay(m["oracle"][50], {h: m["labels"][f"dmid_h{h}"] for h in HORIZONS})
    assert rep.ic[0] > 0.1 and rep.accuracy[0] > 0.55
    assert rep.ic[1] > rep.ic[2] > rep.ic[3] > 0
    assert rep.half_life is not None and 50 < rep.half_life < 400


def test_the_oracle_makes_money_before_costs_but_not_after_a_spread(market_days: dict) -> None:
    m = market_days
    rng = np.random.default_rng(0)
    n = m["ticks"].shape[0]
    for h in (10, 50):
        oracle = _trade(m, m["oracle"][h], h)
        coin = _trade(m, rng.choice([-1, 1], n), h)
        assert oracle.n_trades > 1000 // (h // 10)
        assert oracle.gross.total > 0 and oracle.hit_rate > coin.hit_rate
        assert oracle.gross.total > coin.gross.total
        # crossing a one-tick spread (50 CNY a lot for copper) is more than the edge per trade
        assert oracle.profitable_gross_not_net and oracle.hit_rate < oracle.break_even_accuracy
        by_session = oracle.by_group(session_codes(m["ticks"]["datetime_ns"], m["calendar"], m["spec"]), SESSION_NAMES)
        assert by_session["day"].n_trades > 0 and by_session["night"].n_trades > 0
        assert by_session["day"].n_trades + by_session["night"].n_trades == oracle.n_trades


def test_walk_forward_over_the_market_days(market_days: dict) -> None:
    m = market_days
    plan = walk_forward_splits(m["day"], max_label_horizon=max(HORIZONS))
    assert len(plan) == 1 and plan.note is not None  # three days: one fold, and the note says why
    s = plan.splits[0]
    assert s.test_index.min() - s.valid_index.max() - 1 >= 200
