"""RunBacktest over in-memory stores and a trained logistic model, and its pure planning steps."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from ghtrader.adapters.memory import InMemoryTickStore
from ghtrader.application.errors import InvalidArgument, NotFound
from ghtrader.application.ports.models import FeatureFrame
from ghtrader.application.ports.stores import MainL5Provenance, TickBatch
from ghtrader.application.research.backtest import BacktestRequest, RunBacktest
from ghtrader.application.research.backtest_plan import flat_mask, hold_signals, positions_to_commands, realized_move
from ghtrader.domain.evaluation import CostModel
from ghtrader.domain.factors import compute_factor_matrix
from ghtrader.domain.labels import direction_labels
from ghtrader.domain.microsim.codes import BUY, CANCEL, CLOSETODAY, FAK, LIMIT, OPEN, SELL
from ghtrader.domain.ticks import row_hash
from tests.fakes.frames import synthetic_market
from tests.fakes.system import FakeClock

from .train_world import request as train_request
from .train_world import train_world

FACTORS = ("imb_l1", "spread_ticks", "ret_10", "ofi_l1_10")
DAYS = [date(2026, 11, 23), date(2026, 11, 24), date(2026, 11, 25)]  # cu2612 -> cu2701 roll (seed 7)
MAIN = "KQ.m@SHFE.cu"


# --- pure steps ------------------------------------------------------------------------------------
def test_positions_become_orders_with_offsets() -> None:
    target = np.array([0, 1, 1, -1, 0, 0, 1, 0])
    t = np.arange(8) * 1000
    bid, ask = np.full(8, 100.0), np.full(8, 110.0)
    c = positions_to_commands(target, t, bid, ask, "aggressive")
    got = [(int(r["time_ns"]), int(r["kind"]), int(r["side"]), float(r["price"]), int(r["offset"])) for r in c]
    assert got == [
        (1000, FAK, BUY, 110.0, OPEN),
        (3000, FAK, SELL, 100.0, CLOSETODAY),  # the flip closes first ...
        (3000, FAK, SELL, 100.0, OPEN),  # ... then opens the other side
        (4000, FAK, BUY, 110.0, CLOSETODAY),
        (6000, FAK, BUY, 110.0, OPEN),
        (7000, FAK, SELL, 100.0, CLOSETODAY),
    ]
    assert np.unique(c["order_id"]).size == c.size


def test_passive_orders_rest_at_own_best_and_are_cancelled_at_the_next_change() -> None:
    target = np.array([0, 1, 0, 0])
    t = np.arange(4) * 1000
    bid, ask = np.full(4, 100.0), np.full(4, 110.0)
    force = np.array([False, False, False, False])
    c = positions_to_commands(target, t, bid, ask, "passive", force_aggressive=force)
    assert [(int(r["kind"]), float(r["price"])) for r in c] == [(LIMIT, 100.0), (CANCEL, 0.0), (LIMIT, 110.0)]
    assert c[1]["order_id"] == c[0]["order_id"]
    force[2] = True  # the forced flat at a day end crosses the spread
    c = positions_to_commands(target, t, bid, ask, "passive", force_aggressive=force)
    assert [(int(r["kind"]), float(r["price"])) for r in c][-1] == (FAK, 100.0)


def test_flat_before_every_day_end_and_roll() -> None:
    day = np.array(["2026-11-23"] * 5 + ["2026-11-24"] * 5, dtype="datetime64[D]")
    seg = np.array([0] * 5 + [0, 0, 1, 1, 1])
    flat = flat_mask(day, seg, 2)
    assert np.flatnonzero(flat).tolist() == [3, 4, 5, 6, 8, 9]
    move = realized_move(np.arange(10.0), day, seg, 2)
    assert np.isnan(move[[3, 4, 5, 6, 8, 9]]).all() and move[0] == 2.0 and move[7] == 2.0


def test_no_change_no_command() -> None:
    c = positions_to_commands(np.zeros(5, dtype=np.int64), np.arange(5), np.ones(5), np.ones(5) * 2)
    assert c.size == 0


# --- the use case ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("bt")
    market = synthetic_market(seed=7, signal_strength=0.6, tick_interval_ms=5000)
    contracts = [market.main_contract("SHFE.cu", d) for d in DAYS]
    parts = [market.ticks(c, d) for c, d in zip(contracts, DAYS, strict=True)]
    ticks = np.concatenate(parts)
    tday = np.concatenate([np.full(p.shape[0], np.datetime64(d, "D")) for p, d in zip(parts, DAYS, strict=True)])
    under = np.concatenate([np.full(p.shape[0], c, dtype=object) for p, c in zip(parts, contracts, strict=True)])
    order = sorted(set(contracts))
    seg = np.concatenate(
        [np.full(p.shape[0], order.index(c), dtype=np.int64) for p, c in zip(parts, contracts, strict=True)]
    )
    store = InMemoryTickStore()
    store.write_ticks(TickBatch(MAIN, "main_l5", ticks, tday, row_hash(ticks), MainL5Provenance(under, seg, "h")))
    feats, names = compute_factor_matrix(ticks, tday, seg, FACTORS, price_tick=10.0, multiplier=5.0)
    labels = direction_labels(ticks["bid_price1"], ticks["ask_price1"], seg, (10,), 10.0, 1.0)
    mid = (ticks["bid_price1"] + ticks["ask_price1"]) / 2
    frame = FeatureFrame(
        features=feats.astype(np.float32), feature_names=tuple(names), labels=labels["dir_h10"],
        segment_id=seg, datetime_ns=ticks["datetime_ns"], trading_day=tday, mid=mid,
        spread=ticks["ask_price1"] - ticks["bid_price1"], symbol=MAIN, horizon=10, price_tick=10.0,
    )  # fmt: skip
    tw = train_world(tmp, frame)
    trained = tw.trainer(train_request(frame, symbol=MAIN, model_id="bt-logistic"))
    backtest = RunBacktest(registry=tw.registry, artifacts=tw.store, runtime=tw.runtime, ticks=store,
                           families=tw.families, clock=FakeClock())  # fmt: skip
    return backtest, trained, tday


def _req(**kw):  # type: ignore[no-untyped-def]
    base = BacktestRequest(
        model_id="bt-logistic", start_day=DAYS[1], end_day=DAYS[2], costs=CostModel(commission_bp=0.1)
    )
    return replace(base, **kw)


def test_backtest_trades_flat_at_day_ends_and_reports(world) -> None:  # type: ignore[no-untyped-def]
    backtest, trained, tday = world
    events: list[tuple[int, int, str]] = []
    r = backtest(_req(), lambda d, t, m: events.append((d, t, m)))
    assert r.version == trained.entry.version and r.symbol == MAIN and r.fit_days == [DAYS[0]]
    assert r.rows == int((tday >= np.datetime64(DAYS[1])).sum())
    assert r.policy["trades"], r.policy
    s = r.summary
    assert s["fills"] > 0 and s["fills"] == s["fills_aggressive"]
    assert s["pnl_net"] == pytest.approx(s["pnl_gross"] - s["fees"])
    assert s["fees"] > 0 and s["days"] == 2
    eq = r.result.equity
    last_of_day = np.flatnonzero(
        np.r_[tday[tday >= np.datetime64(DAYS[1])][1:] != tday[tday >= np.datetime64(DAYS[1])][:-1], True]
    )
    assert (eq["position"][last_of_day] == 0).all()  # flat at each day end (and so at the roll)
    assert sum(g["pnl_net"] for g in r.by_session.values()) == pytest.approx(s["pnl_net"])
    assert set(r.by_regime) == {"low_vol", "mid_vol", "high_vol"}
    assert events[-1][0] == events[-1][1]
    assert set(r.result.orders["offset"].tolist()) <= {OPEN, CLOSETODAY}


def test_policy_is_fitted_on_the_days_before_start_only(world) -> None:  # type: ignore[no-untyped-def]
    backtest, _, tday = world
    one = backtest(_req(end_day=DAYS[1]))
    two = backtest(_req(end_day=DAYS[2]))
    assert one.policy == two.policy  # the backtest days do not move the policy
    assert one.policy["fit_rows"] == int((tday == np.datetime64(DAYS[0])).sum())
    later = backtest(_req(start_day=DAYS[2], end_day=DAYS[2]))
    assert later.fit_days == [DAYS[1]] and later.policy != two.policy


def test_no_trade_when_the_policy_does_not_trade(world) -> None:  # type: ignore[no-untyped-def]
    backtest, _, _ = world
    r = backtest(_req(costs=CostModel(commission_bp=500.0)))
    assert not r.policy["trades"] and r.notes
    assert r.orders == 0 and r.summary["fills"] == 0 and r.summary["pnl_net"] == 0


def test_passive_execution_fills_passively(world) -> None:  # type: ignore[no-untyped-def]
    backtest, _, _ = world
    r = backtest(_req(execution="passive", queue_model="risk_averse", entry_latency_ms=5))
    s = r.summary
    assert s["fills_passive_queue"] + s["fills_passive_cross"] > 0


def test_counterfactual_replays_the_same_targets_under_policy_b(world) -> None:  # type: ignore[no-untyped-def]
    backtest, _, _ = world
    own = _req(execution="passive", queue_model="risk_averse")
    assert backtest(replace(own, versus_queue_model="risk_averse")).counterfactual is None  # B == A: no replay
    r = backtest(replace(own, versus_queue_model="prob_log"))
    cf = r.counterfactual
    assert cf is not None and cf["A"] == "passive/risk_averse" and cf["B"] == "passive/prob_log"
    t = cf["table"]
    assert t["pnl_net"]["A"] == pytest.approx(r.summary["pnl_net"])
    # changing only the queue model leaves the policy and targets alone: B is that backtest's own result
    b = backtest(replace(own, queue_model="prob_log"))
    assert t["pnl_net"]["B"] == pytest.approx(b.summary["pnl_net"])
    assert t["lots_filled"]["B"] == pytest.approx(b.result.fills["qty"].sum())
    assert t["lots_filled"]["B-A"] == pytest.approx(t["lots_filled"]["B"] - t["lots_filled"]["A"])
    # passive vs aggressive on the same targets: FAK at the opposite best fills at least as often
    x = backtest(replace(own, versus_execution="aggressive"))
    tx = x.counterfactual["table"]  # type: ignore[index]
    assert x.counterfactual["B"] == "aggressive/risk_averse"  # type: ignore[index]
    assert tx["lots_ordered"]["A"] > 0 and tx["fill_rate"]["B"] >= tx["fill_rate"]["A"]
    assert tx["cost_per_lot"]["B"] > tx["cost_per_lot"]["A"]  # crossing the spread costs more per lot


def test_bad_requests(world) -> None:  # type: ignore[no-untyped-def]
    backtest, _, _ = world
    with pytest.raises(NotFound):
        backtest(_req(model_id="nope"))
    with pytest.raises(InvalidArgument, match="execution"):
        backtest(_req(execution="market"))
    with pytest.raises(InvalidArgument, match="end_day"):
        backtest(_req(start_day=DAYS[2], end_day=DAYS[1]))
    with pytest.raises(InvalidArgument, match="queue_model"):
        backtest(_req(queue_model="fifo"))
    with pytest.raises(InvalidArgument, match="versus_execution"):
        backtest(_req(versus_execution="market"))
    with pytest.raises(InvalidArgument, match="versus_queue_model"):
        backtest(_req(versus_queue_model="fifo"))


def test_report_files(world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from ghtrader.adapters.reports import MatplotlibBenchmarkReportWriter

    backtest, _, _ = world
    bt = RunBacktest(registry=backtest._registry, artifacts=backtest._artifacts, runtime=backtest._runtime,
                     ticks=backtest._ticks, writer=MatplotlibBenchmarkReportWriter(tmp_path), clock=FakeClock())  # fmt: skip
    r = bt(_req())
    paths = r.report_paths
    assert Path(paths["json_path"]).exists() and Path(paths["html_path"]).exists()
    assert set(paths["figure_paths"]) == {"equity", "drawdown", "fills_on_price"}


def test_signals_are_held_for_the_horizon_within_a_block() -> None:
    day = np.array(["2026-11-23"] * 6 + ["2026-11-24"] * 4, dtype="datetime64[D]")
    seg = np.zeros(10, dtype=np.int64)
    sig = np.array([0, 1, 0, 0, 0, -1, 0, 0, 1, 0])
    held = hold_signals(sig, day, seg, 3)
    # row 1 held 3 rows; row 5 does not carry into the next day; row 8 held to the end
    assert held.tolist() == [0, 1, 1, 1, 0, -1, 0, 0, 1, 1]
