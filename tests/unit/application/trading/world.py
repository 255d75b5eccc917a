"""A trading world: a logistic model trained on synthetic copper around the cu2612 -> cu2701 roll
(seed 7: the main changes on 2026-11-24), the main_l5 ticks of the policy-fit day, the schedule,
a replaying live feed, and fakes of the execution venue and the risk engine."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from ghtrader.adapters.filesystem.trading_runs import FilesystemTradingRunStore
from ghtrader.adapters.memory import InMemoryTickStore
from ghtrader.adapters.memory.schedule_store import InMemoryScheduleStore
from ghtrader.application.ports.models import FeatureFrame, TrainConfig
from ghtrader.application.ports.providers import TickCallback
from ghtrader.application.ports.risk import ACTIVE, HALTED, REDUCING, RiskDecision, RiskQuote
from ghtrader.application.ports.stores import MainL5Provenance, TickBatch
from ghtrader.application.research.backtest import RunBacktest
from ghtrader.application.trading.request import TradingRunRequest
from ghtrader.application.trading.run import StartTradingRun
from ghtrader.domain.calendar import beijing_datetime_to_ns
from ghtrader.domain.factors import compute_factor_matrix
from ghtrader.domain.labels import direction_labels
from ghtrader.domain.microsim.codes import BUY, CANCELLED, CLOSE, CLOSETODAY, FAK, FILLED, LIVE, PENDING, SELL
from ghtrader.domain.schedule import MainSchedule
from ghtrader.domain.ticks import row_hash
from ghtrader.domain.trading.orders import AccountSnapshot, ExecutionEvent, OrderRequest, OrderState, Position
from tests.fakes.frames import synthetic_market
from tests.fakes.system import FakeClock

from ..research.train_world import request as train_request
from ..research.train_world import train_world

FACTORS = ("imb_l1", "spread_ticks", "ret_10", "ofi_l1_10")
MAIN = "KQ.m@SHFE.cu"
FIT_DAY, DAY1, DAY2, DAY3 = date(2026, 11, 20), date(2026, 11, 23), date(2026, 11, 24), date(2026, 11, 25)
OLD, NEW = "SHFE.cu2612", "SHFE.cu2701"
START_NS = beijing_datetime_to_ns(datetime(2026, 11, 23, 14, 50))  # 10 minutes before DAY1's close


def bj(*args: int) -> int:
    return beijing_datetime_to_ns(datetime(*args))


@dataclass
class ReplayFeed:
    """LiveFeed replaying the synthetic market from a market time: each pass delivers every
    subscribed symbol's ticks up to ``step_s`` further, then asks ``should_stop``. A new
    ``run`` (a re-subscription) continues from where the last one stopped and first delivers
    ``history`` ticks from before it, as the synthetic live feed does."""

    ticks: dict[str, np.ndarray]
    start_ns: int
    step_s: float = 30.0
    history: int = 50
    fail_after_passes: int = -1
    pause_s: float = 0.0  # wall seconds slept after each pass (a run that lasts)
    subscriptions: list[tuple[str, ...]] = field(default_factory=list)
    passes: int = 0

    def run(self, symbols: Sequence[str], on_ticks: TickCallback, should_stop: Callable[[], bool]) -> None:
        self.subscriptions.append(tuple(symbols))
        for s in symbols:
            t = self.ticks[s]
            pos = int(np.searchsorted(t["datetime_ns"], self.start_ns, side="right"))
            on_ticks(s, t[max(0, pos - self.history) : pos].copy())
        end = max(int(t["datetime_ns"][-1]) for t in self.ticks.values())
        while self.start_ns <= end:
            self.passes += 1
            if self.passes == self.fail_after_passes:
                raise ConnectionError("feed lost")
            lo, hi = self.start_ns, self.start_ns + int(self.step_s * 1e9)
            for s in symbols:
                t = self.ticks[s]
                sel = t[(t["datetime_ns"] > lo) & (t["datetime_ns"] <= hi)]
                if sel.shape[0]:
                    on_ticks(s, sel.copy())
            self.start_ns = hi
            if self.pause_s:
                time.sleep(self.pause_s)
            if should_stop():
                return


@dataclass
class FakeVenue:
    """ExecutionProvider fake: orders arrive PENDING, and on the next tick a FAK/FOK/limit fills
    in full when its price reaches the opposite best (else FAK/FOK are cancelled, limits rest).
    ``fail_on_submit``: the test fails on any order (paper and monitor-only must never send one)."""

    fail_on_submit: bool = False
    fill: bool = True
    fill_until_ns: int = 2**62  # nothing fills after this market time
    fee: float = 1.0
    submitted: list[OrderRequest] = field(default_factory=list)
    cancels: list[str] = field(default_factory=list)
    _orders: dict[str, OrderState] = field(default_factory=dict)
    _pos: dict[str, list[int]] = field(default_factory=dict)  # symbol -> [long_today, long_yd, short_today, short_yd]
    _cash: float = 1_000_000.0
    _last: dict[str, float] = field(default_factory=dict)
    marks: Callable[[int], float] | None = None  # extra equity by time (forces a loss)

    def submit(self, order: OrderRequest, time_ns: int) -> OrderState:
        if self.fail_on_submit:
            raise AssertionError(f"an order left in a mode that must not send one: {order}")
        self.submitted.append(order)
        st = OrderState(f"o{len(self.submitted)}", order, PENDING)
        self._orders[st.order_id] = st
        return st

    def cancel(self, order_id: str, time_ns: int) -> None:
        self.cancels.append(order_id)

    def _apply(self, r: OrderRequest) -> None:
        p = self._pos.setdefault(r.symbol, [0, 0, 0, 0])
        if r.offset == CLOSETODAY:
            p[2 if r.side == BUY else 0] -= r.qty
        elif r.offset == CLOSE:
            p[3 if r.side == BUY else 1] -= r.qty
        else:
            p[0 if r.side == BUY else 2] += r.qty
        self._cash -= r.side * r.qty * r.price * 5.0 + self.fee

    def on_tick(self, symbol: str, tick: np.void) -> list[ExecutionEvent]:
        ns = int(tick["datetime_ns"])
        bid, ask = float(tick["bid_price1"]), float(tick["ask_price1"])
        self._last[symbol] = (bid + ask) / 2
        events: list[ExecutionEvent] = []
        for oid, st in list(self._orders.items()):
            r = st.request
            if r.symbol != symbol or not st.alive:
                continue
            if oid in self.cancels:
                done = OrderState(oid, r, CANCELLED, reason="cancelled")
                self._orders[oid] = done
                events.append(ExecutionEvent("order_update", ns, done))
                continue
            crosses = (r.side == BUY and r.price >= ask) or (r.side == SELL and r.price <= bid)
            if self.fill and crosses and ns <= self.fill_until_ns:
                done = OrderState(oid, r, FILLED, r.qty, r.price)
                self._orders[oid] = done
                self._apply(r)
                events.append(ExecutionEvent("trade_fill", ns, done, r.qty, r.price, self.fee))
                events.append(ExecutionEvent("order_update", ns, done))
            elif r.kind == FAK or not self.fill or ns > self.fill_until_ns:
                done = OrderState(oid, r, CANCELLED, reason="FAK: nothing marketable")
                self._orders[oid] = done
                events.append(ExecutionEvent("order_update", ns, done))
            else:
                self._orders[oid] = OrderState(oid, r, LIVE)
        return events

    def orders_alive(self) -> list[OrderState]:
        return [o for o in self._orders.values() if o.alive]

    def positions(self) -> list[Position]:
        return [Position(s, p[0], p[1], p[2], p[3]) for s, p in self._pos.items()]

    def account(self, time_ns: int) -> AccountSnapshot:
        value = sum((p[0] + p[1] - p[2] - p[3]) * self._last.get(s, 0.0) * 5.0 for s, p in self._pos.items())
        equity = self._cash + value + (self.marks(time_ns) if self.marks else 0.0)
        return AccountSnapshot(time_ns, equity, equity, 0.0, 0.0, 0.0, 0.0, tuple(self.positions()))

    def net(self, symbol: str) -> int:
        p = self._pos.get(symbol, [0, 0, 0, 0])
        return p[0] + p[1] - p[2] - p[3]


@dataclass
class FakeRisk:
    """RiskEngine fake: max net position, a kill when equity falls below ``kill_below``."""

    max_position: int = 1
    kill_below: float = -1e18
    checks: list[OrderRequest] = field(default_factory=list)
    fills: int = 0
    days: list[float] = field(default_factory=list)
    _state: int = ACTIVE
    _killed: bool = False
    calls: list[str] = field(default_factory=list)

    @property
    def state(self) -> int:
        return self._state

    @property
    def kill_latched(self) -> bool:
        return self._killed

    def check(
        self, order: OrderRequest, quote: RiskQuote, position: Position, working: Sequence[OrderState]
    ) -> RiskDecision:
        self.checks.append(order)
        if self._state == HALTED:
            return RiskDecision(False, "halted")
        after = position.net + order.side * order.qty
        if abs(after) > self.max_position:
            return RiskDecision(False, f"net position {after} beyond {self.max_position}")
        if self._state == REDUCING and abs(after) > abs(position.net):
            return RiskDecision(False, "reduce only")
        return RiskDecision(True)

    def on_fill(self, event: ExecutionEvent) -> None:
        self.fills += 1

    def on_account(self, snap: AccountSnapshot) -> str | None:
        if not self._killed and snap.equity < self.kill_below:
            self._killed = True
            self._state = HALTED
            return f"equity {snap.equity:.0f} below {self.kill_below:.0f}"
        return None

    def new_trading_day(self, equity: float) -> None:
        self.days.append(equity)

    def halt(self, reason: str) -> None:
        self.calls.append(f"halt:{reason}")
        self._state = HALTED

    def resume(self) -> None:
        self.calls.append("resume")
        if not self._killed:
            self._state = ACTIVE

    def reduce_only(self) -> None:
        self.calls.append("reduce_only")
        self._state = REDUCING

    def reset_kill(self) -> None:
        self.calls.append("reset_kill")
        self._killed = False

    def flatten_orders(self, position: Position, quote: RiskQuote) -> list[OrderRequest]:
        out = []
        if position.long_today:
            out.append(OrderRequest(position.symbol, SELL, position.long_today, quote.last_price - 50, FAK, CLOSETODAY))
        if position.short_today:
            out.append(OrderRequest(position.symbol, BUY, position.short_today, quote.last_price + 50, FAK, CLOSETODAY))
        return out


@dataclass
class TradingWorld:
    start: Callable[..., StartTradingRun]
    backtest: Any
    store: FilesystemTradingRunStore
    schedules: InMemoryScheduleStore
    ticks: dict[str, np.ndarray]
    clock: FakeClock
    feeds: list[ReplayFeed]
    model_id: str = "tr-logistic"
    tick_store: Any = None
    feed_pause: dict[str, float] = field(default_factory=dict)  # {"s": wall seconds per feed pass}
    market: Any = None  # the synthetic market the ticks come from
    train: Callable[..., Any] | None = None  # (**TrainRequest overrides) -> a further model in the same registry
    registry: Any = None  # the model registry
    families: Any = None  # the model families the world trains and serves with

    def request(self, **kw: Any) -> TradingRunRequest:
        base: dict[str, Any] = dict(mode="paper", model_id=self.model_id, symbol=MAIN, replay_from_ns=START_NS,
                                    max_ticks=400, commission_bp=0.1)  # fmt: skip
        base.update(kw)
        return TradingRunRequest(**base)


def build_world(tmp: Path, tcn_window: int = 0) -> TradingWorld:
    """The trading world; ``tcn_window`` > 0 also publishes a tiny TCN ``tr-tcn`` of that window."""
    market = synthetic_market(seed=7, signal_strength=0.6, tick_interval_ms=5000)
    days = [FIT_DAY, DAY1, DAY2, DAY3]
    contracts = [market.main_contract("SHFE.cu", d) for d in days]
    assert contracts == [OLD, OLD, NEW, NEW]
    parts = [market.ticks(c, d) for c, d in zip(contracts, days, strict=True)]
    ticks = np.concatenate(parts)
    tday = np.concatenate([np.full(p.shape[0], np.datetime64(d, "D")) for p, d in zip(parts, days, strict=True)])
    under = np.concatenate([np.full(p.shape[0], c, dtype=object) for p, c in zip(parts, contracts, strict=True)])
    seg = np.array([0 if c == OLD else 1 for c in under], dtype=np.int64)
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
    families = None
    if tcn_window:
        from ghtrader.adapters.linear import LogisticFamily
        from ghtrader.adapters.torch import deep_families
        from ghtrader.application.research.families import FamilyRegistry

        families = FamilyRegistry([LogisticFamily(), deep_families()["tcn"]])
    tw = train_world(tmp, frame, families=families)
    tw.trainer(train_request(frame, symbol=MAIN, model_id="tr-logistic"))
    if tcn_window:
        config = TrainConfig(horizon=10, seed=1, max_epochs=1, patience=1, batch_size=256, window=tcn_window,
                             device="cpu", amp=False, params={"channels": 8, "levels": 2})  # fmt: skip
        tw.trainer(train_request(frame, family="tcn", symbol=MAIN, model_id="tr-tcn", config=config))
    schedules = InMemoryScheduleStore()
    schedules.save_schedule(
        MainSchedule.from_rows(
            [(d, c, 0 if c == OLD else 1) for d, c in zip(days, contracts, strict=True)], exchange="SHFE", variety="cu"
        )  # fmt: skip
    )
    feed_ticks = {c: np.concatenate([market.ticks(c, d) for d in days]) for c in (OLD, NEW)}
    feed_ticks[MAIN] = ticks
    run_store = FilesystemTradingRunStore(tmp / "runs" / "trading")
    clock = FakeClock(now=bj(2026, 12, 7, 12, 0))
    feeds: list[ReplayFeed] = []
    pause = {"s": 0.0}

    def feed_factory(replay_from_ns: int, speedup: float) -> ReplayFeed:
        feed = ReplayFeed(feed_ticks, replay_from_ns or clock.now, pause_s=pause["s"])
        feeds.append(feed)
        return feed

    def start(*, schedules_store: InMemoryScheduleStore | None = schedules, venue: Any = None,
              risk: Any = None, live_enabled: bool = False, credentials: bool = False,
              feed: Callable[[int, float], Any] | None = None, **extra: Any) -> StartTradingRun:  # fmt: skip
        return StartTradingRun(
            registry=tw.registry, artifacts=tw.store, runtime=tw.runtime, ticks=store, schedules=schedules_store,
            calendar=_CalendarOf(market), store=run_store, clock=clock, feed_factory=feed or feed_factory,
            execution_factory=(lambda req, spec: venue) if venue is not None else None,
            risk_factory=(lambda limits, spec: risk) if risk is not None else None,
            live_enabled=live_enabled, has_credentials=lambda profile: credentials,
            **{"families": tw.families, **extra},
        )  # fmt: skip

    backtest = RunBacktest(registry=tw.registry, artifacts=tw.store, runtime=tw.runtime, ticks=store,
                           calendar=_CalendarOf(market), clock=clock, families=tw.families)  # fmt: skip
    return TradingWorld(start, backtest, run_store, schedules, feed_ticks, clock, feeds, tick_store=store,
                        feed_pause=pause, market=market, registry=tw.registry, families=tw.families,
                        train=lambda **kw: tw.trainer(train_request(frame, symbol=MAIN, **kw)))  # fmt: skip


@dataclass
class _CalendarOf:
    market: Any

    def load(self):  # type: ignore[no-untyped-def]
        return self.market.calendar
