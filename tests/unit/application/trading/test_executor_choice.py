"""Executor choice (direct | target), venues and account types, the executor claims, sizing
beyond one lot and the pre-trade stress check in the runner."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from ghtrader.application.errors import FailedPrecondition, InvalidArgument
from ghtrader.application.trading.claims import ExecutorClaims
from ghtrader.application.trading.request import CONFIRM_LIVE, TradingRunRequest, account_key, account_type
from ghtrader.application.trading.risk_setup import risk_engine_factory, risk_limits, stress_config
from ghtrader.application.trading.sizing import PriceVolatility, TargetSizer
from ghtrader.application.trading.target import TargetPosExecutor
from ghtrader.domain.instruments import contract_spec
from ghtrader.domain.microsim.codes import BUY, CLOSETODAY, LIMIT, OPEN, SELL
from ghtrader.domain.ticks import TICK_DTYPE
from ghtrader.domain.trading.orders import OrderRequest

from .world import MAIN, NEW, OLD, FakeRisk, FakeVenue, TradingWorld, _CalendarOf

SYM = "SHFE.cu2701"
# loss limits out of the way (the fake venue's fills are not the point here)
_LOOSE = {"max_daily_loss": 1e9, "max_drawdown": 1e9, "per_symbol_loss_limit": 1e9, "max_consecutive_losses": 1000}


def _req(**kw: object) -> TradingRunRequest:
    return TradingRunRequest(**{"mode": "sim", "model_id": "m", **kw})  # type: ignore[arg-type]


def _tick(ns: int, bid: float, ask: float) -> np.void:
    t = np.zeros(1, dtype=TICK_DTYPE)
    t["datetime_ns"], t["bid_price1"], t["ask_price1"] = ns, bid, ask
    t["bid_volume1"] = t["ask_volume1"] = 10
    t["last_price"] = (bid + ask) / 2
    return t[0]


# --- request, account type, claims -----------------------------------------------------------------
def test_account_type_says_what_the_account_is() -> None:
    assert account_type(_req(mode="paper")) == "paper"
    assert account_type(_req()) == "sim-local"
    assert account_type(_req(venue="tqsim")) == "tqsim"
    assert account_type(_req(venue="tqkq")) == "tqkq"
    assert account_type(_req(mode="live", confirm_live=CONFIRM_LIVE)) == "live"
    assert account_type(_req(mode="live", monitor_only=True)) == "live"
    # only accounts shared between runs are claimed
    assert account_key(_req()) == "" and account_key(_req(venue="tqsim")) == ""
    assert account_key(_req(venue="tqkq"), "u") == "tqkq:u"
    assert account_key(_req(mode="live", account="p1")) == "live:p1"


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"executor": "twap"}, "executor"),
        ({"venue": "ctp"}, "venue"),
        ({"mode": "paper", "venue": "tqsim"}, "sim mode only"),
        ({"sizing": "kelly"}, "sizing"),
        ({"max_lots": 0}, "max_lots"),
        ({"sizing": "vol-target"}, "target_vol"),
        ({"risk_horizon_s": 0.0}, "risk_horizon_s"),
    ],
)
def test_request_refuses_bad_execution_settings(kw: dict, match: str) -> None:
    with pytest.raises(InvalidArgument, match=match):
        _req(**kw).validate()


def test_claims_refuse_the_other_executor_kind_on_a_shared_account_and_symbol() -> None:
    claims = ExecutorClaims()
    claims.claim("tqkq:u", SYM, "direct", "r1")
    claims.claim("tqkq:u", SYM, "direct", "r2")  # same kind: fine
    claims.claim("tqkq:u", "SHFE.au2702", "target", "r3")  # another symbol: fine
    claims.claim("live:default", SYM, "target", "r4")  # another account: fine
    with pytest.raises(FailedPrecondition, match="direct executor of run"):
        claims.claim("tqkq:u", SYM, "target", "r5")
    claims.release("r1")
    with pytest.raises(FailedPrecondition):
        claims.claim("tqkq:u", SYM, "target", "r5")  # r2 still holds it
    claims.release("r2")
    claims.claim("tqkq:u", SYM, "target", "r5")
    assert claims.holder("tqkq:u", SYM) == "target"
    claims.claim("", SYM, "direct", "r6")  # an account of the run's own never conflicts
    claims.claim("", SYM, "target", "r7")


def test_a_run_is_refused_when_another_executor_kind_drives_its_shared_account(world: TradingWorld) -> None:
    claims = ExecutorClaims()
    claims.claim("tqkq:", MAIN, "direct", "someone-else")
    before = set(world.store.list_runs())
    target = world.start(venue=TargetPosExecutor(FakeVenue()), risk=FakeRisk(), claims=claims)
    with pytest.raises(FailedPrecondition, match="direct executor"):
        target(world.request(mode="sim", venue="tqkq", executor="target"))
    assert set(world.store.list_runs()) == before  # refused before any record
    # the same kind shares the pair, and a run's claim is released when it ends
    direct = world.start(venue=FakeVenue(), risk=FakeRisk(), claims=claims)
    run = direct(world.request(mode="sim", venue="tqkq", executor="direct", max_ticks=50))
    config = world.store.read_config(run.run_id)
    assert config is not None and config["account_type"] == "tqkq" and config["venue"] == "tqkq"
    claims.release("someone-else")
    with pytest.raises(FailedPrecondition, match="direct executor of run"):
        target(world.request(mode="sim", venue="tqkq", executor="target"))  # the running one holds it
    run.run()
    assert claims.holder("tqkq:", MAIN) is None


def test_monitor_only_claims_nothing(world: TradingWorld) -> None:
    claims = ExecutorClaims()
    claims.claim("live:default", MAIN, "direct", "a-live-run")
    start = world.start(venue=FakeVenue(fail_on_submit=True), credentials=True, claims=claims)
    run = start(world.request(mode="live", monitor_only=True, executor="target", max_ticks=20))
    run.run()
    assert claims.holder("live:default", MAIN) == "direct"


# --- the target executor over a venue ---------------------------------------------------------------
def test_target_executor_pursues_its_target_with_shfe_offsets_and_reprices() -> None:
    venue = FakeVenue(fill=True)
    ex = TargetPosExecutor(venue, price="ACTIVE")
    with pytest.raises(FailedPrecondition):
        ex.submit(OrderRequest(SYM, BUY, 1, 70000.0), 0)
    with pytest.raises(FailedPrecondition):
        ex.cancel("x", 0)
    ex.set_target(SYM, 2)
    ev = ex.on_tick(SYM, _tick(1, 70000.0, 70010.0))
    assert [(o.side, o.qty, o.price, o.kind, o.offset) for o in venue.submitted] == [(BUY, 2, 70010.0, LIMIT, OPEN)]
    assert [e.kind for e in ev] == ["order_update"]
    ex.on_tick(SYM, _tick(2, 70000.0, 70010.0))  # fills at the ask
    assert venue.net(SYM) == 2 and ex.orders_alive() == []
    ex.on_tick(SYM, _tick(3, 70000.0, 70010.0))
    assert len(venue.submitted) == 1  # at the target: nothing more
    ex.set_target(SYM, -1)
    ex.on_tick(SYM, _tick(4, 70000.0, 70010.0))
    assert [(o.side, o.qty, o.offset) for o in venue.submitted[1:]] == [(SELL, 2, CLOSETODAY), (SELL, 1, OPEN)]
    ex.on_tick(SYM, _tick(5, 70000.0, 70010.0))
    assert venue.net(SYM) == -1

    # orders cut to max_order lots
    capped = FakeVenue()
    ex3 = TargetPosExecutor(capped, max_order=2)
    ex3.set_target(SYM, 5)
    ex3.on_tick(SYM, _tick(1, 70000.0, 70010.0))
    assert [o.qty for o in capped.submitted] == [2, 2, 1]

    # a resting order whose price the book left behind is cancelled, then re-priced
    resting = FakeVenue(fill=False)
    venue2 = _RestingVenue(resting)
    ex2 = TargetPosExecutor(venue2, price="PASSIVE")
    ex2.set_target(SYM, 1)
    ex2.on_tick(SYM, _tick(1, 70000.0, 70010.0))
    assert [o.price for o in resting.submitted] == [70000.0]  # PASSIVE: the own best
    ex2.on_tick(SYM, _tick(2, 70000.0, 70010.0))
    assert resting.cancels == []  # still at the best: kept
    ex2.on_tick(SYM, _tick(3, 70020.0, 70030.0))
    assert resting.cancels == ["o1"]
    ex2.on_tick(SYM, _tick(4, 70020.0, 70030.0))  # the cancel lands; then a new order at the new best
    assert [o.price for o in resting.submitted] == [70000.0, 70020.0]


@dataclass
class _RestingVenue:
    """FakeVenue whose limits rest until cancelled (FakeVenue(fill=False) cancels everything)."""

    inner: FakeVenue

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self.inner, name)

    def on_tick(self, symbol: str, tick: np.void) -> list:
        from ghtrader.domain.microsim.codes import CANCELLED, LIVE
        from ghtrader.domain.trading.orders import ExecutionEvent, OrderState

        out = []
        for oid, st in list(self.inner._orders.items()):
            if not st.alive:
                continue
            status = CANCELLED if oid in self.inner.cancels else LIVE
            if status != st.status:
                self.inner._orders[oid] = OrderState(oid, st.request, status)
                out.append(ExecutionEvent("order_update", int(tick["datetime_ns"]), self.inner._orders[oid]))
        return out


def test_a_sim_run_with_the_target_executor(world: TradingWorld) -> None:
    venue, risk = FakeVenue(), FakeRisk(max_position=1)
    run = world.start(venue=TargetPosExecutor(venue), risk=risk)(
        world.request(mode="sim", executor="target", max_ticks=1500)
    )
    status = run.run()
    assert status["status"] == "finished", status.get("error")
    events = world.store.tail_events(run.run_id, 0)
    kinds = [e["kind"] for e in events]
    assert "executor_target" in kinds and "trade_fill" in kinds and "roll" in kinds
    assert venue.submitted and all(o.client_id == "target" for o in venue.submitted)
    assert {o.symbol for o in venue.submitted} <= {OLD, NEW} and max(abs(venue.net(OLD)), abs(venue.net(NEW))) <= 1
    # each target it was handed was checked first (the orders reaching it)
    assert risk.checks
    config = world.store.read_config(run.run_id)
    assert config is not None and config["executor"] == "target/ACTIVE" and config["account_type"] == "sim-local"


def test_the_target_executor_needs_a_venue_that_takes_targets(world: TradingWorld) -> None:
    with pytest.raises(FailedPrecondition, match="takes no targets"):
        world.start(venue=FakeVenue(), risk=FakeRisk())(world.request(mode="sim", executor="target"))


# --- sizing -----------------------------------------------------------------------------------------
def test_price_volatility_per_tick_and_per_second() -> None:
    vol = PriceVolatility(span=10, min_changes=5)
    assert math.isnan(vol.sigma_ticks(1))
    for i in range(40):  # +-10 every half second: variance 100 per tick, 200 per second
        vol.update(i * 500_000_000, 70000.0 + (10.0 if i % 2 else 0.0))
    assert vol.sigma_ticks(4) == pytest.approx(20.0)
    assert vol.sigma_seconds(2) == pytest.approx(20.0)
    vol.update(40 * 500_000_000 + 3600 * 10**9, 80000.0)  # across a break: left out
    assert vol.sigma_ticks(1) == pytest.approx(10.0)
    vol.reset()
    assert math.isnan(vol.sigma_seconds(1))


def _vol(sigma_per_tick: float) -> PriceVolatility:
    vol = PriceVolatility(span=10, min_changes=5)
    for i in range(40):
        vol.update(i * 10**9, 70000.0 + (sigma_per_tick if i % 2 else 0.0))
    return vol


def test_fixed_and_vol_target_sizes_are_kept_while_the_direction_holds() -> None:
    probs = np.array([0.2, 0.3, 0.5])
    fixed = TargetSizer("fixed", 3, 5.0)
    assert (fixed.lots(1, probs, 70000.0, 1e6, _vol(10)), fixed.lots(-1, probs, 70000.0, 1e6, _vol(10))) == (3, -3)
    # sigma over 100 s: 10 * sqrt(100) = 100 price units, 500 CNY a lot -> 2000 CNY target = 4 lots
    vt = TargetSizer("vol-target", 10, 5.0, target_vol=2000.0, horizon_s=100.0)
    assert vt.lots(1, probs, 70000.0, 1e6, _vol(10)) == 4
    assert vt.lots(1, probs, 70000.0, 1e6, _vol(40)) == 4  # kept while long
    assert vt.lots(0, probs, 70000.0, 1e6, _vol(40)) == 0
    assert vt.lots(-1, probs, 70000.0, 1e6, _vol(40)) == -1  # re-sized on the new direction
    capped = TargetSizer("vol-target", 2, 5.0, target_vol=2000.0, horizon_s=100.0)
    assert capped.lots(1, probs, 70000.0, 1e6, _vol(10)) == 2
    assert TargetSizer("vol-target", 2, 5.0, target_vol=1.0).lots(1, probs, 7e4, 1e6, PriceVolatility()) == 0


@dataclass
class _Policy:
    move: float
    mean_cost: float = 10.0
    n_fit: int = 10_000

    def expected_move(self, probs: np.ndarray) -> np.ndarray:
        return np.full(probs.shape[0], self.move)


def test_half_kelly_sizes_the_net_edge_against_the_risk() -> None:
    probs = np.array([0.1, 0.2, 0.7])
    # edge 30 - 10 = 20 over sigma 10 * sqrt(4) = 20 (hold 4 ticks): f = 0.5 * (20/p - 20/p / 100) / (20/p)^2
    sizer = TargetSizer("half-kelly", 50, 5.0, _Policy(30.0), hold_rows=4)  # type: ignore[arg-type]
    mid, equity = 70000.0, 1_000_000.0
    f = 0.5 * (20.0 / mid - (20.0 / mid) / 100.0) / (20.0 / mid) ** 2
    assert sizer.lots(1, probs, mid, equity, _vol(10)) == min(50, int(f * equity / (mid * 5.0)))
    no_edge = TargetSizer("half-kelly", 50, 5.0, _Policy(8.0), hold_rows=4)  # type: ignore[arg-type]
    assert no_edge.lots(-1, probs, mid, equity, _vol(10)) == 0


def test_a_sized_sim_run_keeps_the_risk_limits_binding(world: TradingWorld) -> None:
    venue = FakeVenue()
    limits = {**_LOOSE, "max_net_position": 2}
    risk = risk_engine_factory(_CalendarOf(world.market))(limits, contract_spec(OLD))
    run = world.start(venue=venue, risk=risk)(world.request(mode="sim", max_lots=3, max_ticks=1500, risk_limits=limits))
    run.run()
    events = world.store.tail_events(run.run_id, 0)
    targets = {e["target"] for e in events if e["kind"] == "target_change"}
    assert targets & {3, -3}, targets  # sized to three lots ...
    net: dict[str, int] = {}
    peak = 0
    for e in events:
        if e["kind"] == "trade_fill":
            sym = e["order"]["symbol"]
            net[sym] = net.get(sym, 0) + int(e["order"]["side"]) * int(e["fill_qty"])
            peak = max(peak, abs(net[sym]))
    assert peak == 2  # ... held to the risk engine's two
    assert any(e["kind"] == "risk_refused" for e in events)
    assert all(o.qty <= risk_limits({}).max_order_size for o in venue.submitted)  # cut to the max order size


# --- the stress check -------------------------------------------------------------------------------
def test_stress_settings_ride_with_the_limits() -> None:
    assert stress_config({"max_net_position": 3}) is None
    cfg = stress_config({"stress_loss_limit": 5000, "stress_n_sigma": 4})
    assert cfg is not None and (cfg.loss_limit, cfg.n_sigma, cfg.freeze_ticks) == (5000, 4, 1.0)
    assert risk_limits({"stress_loss_limit": 5000}).max_net_position == 5  # not a hard limit
    with pytest.raises(InvalidArgument, match="stress_loss_limit"):
        stress_config({"stress_n_sigma": 2})
    with pytest.raises(InvalidArgument, match="max_fun"):
        risk_limits({"max_fun": 1})


def _stress_run(world: TradingWorld, loss_limit: float) -> tuple[FakeVenue, list[dict[str, Any]]]:
    venue = FakeVenue()
    limits = {**_LOOSE, "stress_loss_limit": loss_limit}
    risk = risk_engine_factory(_CalendarOf(world.market))(limits, contract_spec(OLD))
    run = world.start(venue=venue, risk=risk)(
        world.request(mode="sim", max_ticks=1500, risk_limits=limits, risk_horizon_s=600.0)
    )
    run.run()
    return venue, world.store.tail_events(run.run_id, 0)


def test_the_stress_check_refuses_orders_whose_position_fails_it(world: TradingWorld) -> None:
    venue, events = _stress_run(world, 1.0)  # one lot's 3-sigma move is far above 1 CNY
    refusals = [e for e in events if e["kind"] == "risk_refused"]
    assert refusals and all(e["reason"].startswith("stress:") for e in refusals)
    assert not any(o.offset == OPEN for o in venue.submitted)
    assert any("liquidity_freeze" in e["reason"] for e in refusals)  # one lot: the freeze is the worst
    loose, loose_events = _stress_run(world, 1e9)
    assert any(o.offset == OPEN for o in loose.submitted)
    # only while the volatility is unknown (the new contract's first ticks after the roll)
    stressed = [e["reason"] for e in loose_events if e["kind"] == "risk_refused" and "stress" in e["reason"]]
    assert all("no volatility estimate" in r for r in stressed), stressed
