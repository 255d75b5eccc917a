"""VaR / CVaR of a trading run's equity: the tracker on known series and in a run's status."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pytest

from ghtrader.application.trading.risk_measures import EquityRisk
from ghtrader.domain.risk.measures import var_cvar_historical, var_cvar_normal

from .world import FakeRisk, FakeVenue, TradingWorld


def _tracker(equity: np.ndarray, days: list[date]) -> EquityRisk:
    r = EquityRisk(seed=3)
    for d, e in zip(days, equity, strict=True):
        r.add(d, float(e))
    return r


def test_intraday_and_daily_measures_of_the_equity_changes() -> None:
    rng = np.random.default_rng(5)
    changes = rng.standard_t(4, size=400) * 100.0
    equity = 1_000_000.0 + np.r_[0.0, np.cumsum(changes)]
    days = [date(2026, 11, 2 + i // 100) for i in range(equity.size)]  # 100 snapshots a day, 5 days
    s = _tracker(equity, days).summary()
    assert s["unit"] == "CNY" and s["intraday"]["n"] == 400
    for alpha, key in ((0.95, "95"), (0.99, "99")):
        hist = var_cvar_historical(changes, alpha)
        got = s["intraday"][key]
        assert got["historical"] == {"var": round(hist.var, 2), "cvar": round(hist.cvar, 2)}
        assert got["normal"]["var"] == round(var_cvar_normal(changes, alpha).var, 2)
        assert got["student_t"]["cvar"] >= got["student_t"]["var"] > 0
        assert "monte_carlo" not in got  # only at the run's end
    assert s["intraday"]["99"]["historical"]["var"] > s["intraday"]["95"]["historical"]["var"]
    # daily: the changes summed per trading day (the first snapshot has no change)
    assert s["daily"]["n"] == 5
    daily = [changes[0:99].sum(), *(changes[99 + 100 * k : 199 + 100 * k].sum() for k in range(4))]
    assert s["daily"]["95"]["historical"]["var"] == round(var_cvar_historical(np.array(daily), 0.95).var, 2)
    full = _tracker(equity, days).summary(monte_carlo=True)
    mc = full["intraday"]["95"]["monte_carlo"]
    assert mc["var"] == pytest.approx(full["intraday"]["95"]["student_t"]["var"], rel=0.1)


def test_too_few_or_flat_series_report_counts_only() -> None:
    d = date(2026, 11, 2)
    assert _tracker(np.array([1e6]), [d]).summary()["intraday"] == {"n": 0}
    flat = _tracker(np.full(50, 1e6), [d] * 50).summary()
    assert flat["intraday"] == {"n": 49} and flat["daily"] == {"n": 1}
    r = EquityRisk()
    r.add(d, float("nan"))
    assert r.summary()["intraday"] == {"n": 0}


def test_a_sim_run_reports_risk_measures_in_its_state(world: TradingWorld) -> None:
    run = world.start(venue=FakeVenue(), risk=FakeRisk(max_position=1))(
        world.request(mode="sim", max_ticks=3000, snapshot_every_s=2.0)
    )
    status = run.run()
    rm = status["risk_measures"]
    snaps = [json.loads(x) for x in (world.store.root / run.run_id / "snapshots.jsonl").read_text().splitlines()]
    assert rm["intraday"]["n"] == len(snaps) - 1
    # the fake venue fills, so the equity moves: every method at the end, Monte Carlo included
    assert set(rm["intraday"]["95"]) >= {"historical", "normal", "monte_carlo"}
    assert rm["intraday"]["99"]["historical"]["var"] >= rm["intraday"]["95"]["historical"]["var"]
    state = json.loads((world.store.root / run.run_id / "state.json").read_text())
    assert state["risk_measures"] == rm
