"""Order-level (L3) synthetic book of one contract: the ground truth for queue models.

Limit orders, cancellations and marketable orders arrive per price level from Poisson rates and
self-exciting (Hawkes) marketable flow that depend on the distance to the best price and on an
AR(1) order-flow state ``f``; queues are strict price-time FIFO in integer lots on a tick grid.
Sampled every 500 ms the book gives L5 snapshots of :data:`~ghtrader.domain.ticks.TICK_DTYPE`
with the vendor's cumulative ``volume`` and ``amount``. Hypothetical zero-impact orders injected
into the book get their TRUE FIFO fill time. The construction is in docs/synthetic_market.md
("The order-level book").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date

import numpy as np

from ghtrader.domain.calendar import TradingCalendar
from ghtrader.domain.instruments import ContractSpec
from ghtrader.domain.market_sim import _l3_kernels as k
from ghtrader.domain.market_sim._random import generator, stream_key
from ghtrader.domain.market_sim.config import MarketSimConfigError
from ghtrader.domain.ticks import MARKET_FIELDS, TICK_DTYPE

__all__ = [
    "ASK",
    "BID",
    "L3_PRESETS",
    "EXECUTION_DTYPE",
    "INJECTED_FILL_DTYPE",
    "L3BookConfig",
    "L3Day",
    "OrderBook",
    "RESTING_ORDER_DTYPE",
    "l3_preset",
    "session_grid_ns",
    "snapshot_truth",
    "simulate_l3_day",
]

BID = 0
ASK = 1

#: One execution of an aggressor against one resting order.
EXECUTION_DTYPE = np.dtype(
    [("t_s", "<f8"), ("price", "<f8"), ("qty", "<i8"), ("aggressor", "<i8"), ("resting_id", "<i8")]
)
#: A live resting order (``id`` is its FIFO sequence number; ``t_s`` its arrival time).
RESTING_ORDER_DTYPE = np.dtype([("id", "<i8"), ("side", "<i8"), ("price", "<f8"), ("qty", "<i8"), ("t_s", "<f8")])
#: An injected order and its true outcome. ``seq``: orders with a lower id are ahead of it at its
#: price; ``queue_ahead``: lots resting there when it joined. ``fill_kind``: 0 no fill within the horizon, 1 the
#: queue ahead was consumed and volume traded at the order's price, 2 the price traded through
#: the order or the opposite best reached it.
INJECTED_FILL_DTYPE = np.dtype(
    [
        ("t_s", "<f8"),
        ("side", "<i8"),
        ("price", "<f8"),
        ("seq", "<i8"),
        ("queue_ahead", "<i8"),
        ("distance_ticks", "<i8"),
        ("fill_t_s", "<f8"),
        ("fill_kind", "<i8"),
    ]
)


def _check(ok: bool, name: str, value: object, expected: str) -> None:
    if not ok:
        raise MarketSimConfigError(f"invalid {name}={value!r}: expected {expected}")


def _pos(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and x > 0


def _nonneg(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and x >= 0


@dataclass(frozen=True, slots=True, kw_only=True)
class L3BookConfig:
    """Parameters of the order-level book; defaults give an SHFE cu-like main contract.

    Rates are per second of trading time. Limit orders of one side arrive at ``d`` ticks behind
    the opposite best (``d = 1`` is the touch when the spread is one tick, inside the spread when
    it is wider) at rate ``limit_rate * exp(-depth_decay * (d - 1)) * (1 +- flow_gamma * f)`` for
    ``d <= depth_levels``; every live bid (ask) is cancelled at ``cancel_rate * (1 -+ cancel_beta * f)``; marketable
    buys (sells) arrive at ``market_rate * (1 +- flow_beta * f)`` plus a Hawkes excitation that
    jumps by ``hawkes_alpha`` at each marketable order of that side and decays at ``hawkes_decay``.
    ``f`` is AR(1) per slot: mean ``flow_mean``, autocorrelation ``flow_phi``, sd ``flow_sigma``.
    A flash crash adds marketable sells at ``crash_rate`` (mean size ``crash_size``, sweeping up
    to ``crash_sweep_ticks``) for ``crash_duration_s`` from ``crash_start_s``; a liquidity crisis
    multiplies cancels by ``crisis_cancel_mult`` and limit arrivals by ``crisis_limit_mult``.
    """

    tick: float = 10.0
    multiplier: float = 5.0
    open_price: float = 70_000.0
    open_interest: float = 150_000.0
    slot_ms: int = 500
    limit_rate: float = 2.4
    depth_decay: float = 0.12
    depth_levels: int = 20
    cancel_rate: float = 0.05
    cancel_beta: float = 0.0
    limit_size: float = 6.0
    market_rate: float = 0.25
    market_size: float = 10.0
    sweep_ticks: int = 2
    flow_beta: float = 0.8
    flow_gamma: float = 0.3
    flow_mean: float = 0.0
    flow_phi: float = 0.995
    flow_sigma: float = 0.4
    hawkes_alpha: float = 1.1
    hawkes_decay: float = 1.5
    window_ticks: int = 3000
    crash_start_s: float = -1.0
    crash_duration_s: float = 0.0
    crash_rate: float = 0.0
    crash_size: float = 40.0
    crash_sweep_ticks: int = 10
    crisis_start_s: float = -1.0
    crisis_duration_s: float = 0.0
    crisis_cancel_mult: float = 1.0
    crisis_limit_mult: float = 1.0

    def __post_init__(self) -> None:
        for name in ("tick", "multiplier", "open_price", "limit_rate", "cancel_rate", "hawkes_decay"):
            _check(_pos(getattr(self, name)), name, getattr(self, name), "a finite number > 0")
        for name in (
            "open_interest", "depth_decay", "market_rate", "cancel_beta", "flow_beta", "flow_gamma", "flow_sigma",
            "hawkes_alpha", "crash_duration_s", "crash_rate", "crisis_duration_s",
            "crisis_cancel_mult", "crisis_limit_mult",
        ):  # fmt: skip
            _check(_nonneg(getattr(self, name)), name, getattr(self, name), "a finite number >= 0")
        for name in ("limit_size", "market_size", "crash_size"):
            v = getattr(self, name)
            _check(_nonneg(v) and v >= 1, name, v, "a mean lot size >= 1")
        for name in ("slot_ms", "depth_levels", "sweep_ticks", "window_ticks", "crash_sweep_ticks"):
            v = getattr(self, name)
            _check(isinstance(v, int) and not isinstance(v, bool) and v >= 1, name, v, "an int >= 1")
        _check(_nonneg(abs(self.flow_mean)) and abs(self.flow_mean) < 1.5, "flow_mean", self.flow_mean, "|x| < 1.5")
        _check(_nonneg(self.flow_phi) and self.flow_phi < 1, "flow_phi", self.flow_phi, "0 <= phi < 1")
        _check(
            self.hawkes_alpha < self.hawkes_decay,
            "hawkes_alpha",
            self.hawkes_alpha,
            f"< hawkes_decay={self.hawkes_decay} (a stationary Hawkes process)",
        )
        _check(self.window_ticks > 4 * self.depth_levels, "window_ticks", self.window_ticks, "> 4 * depth_levels")
        ticks_open = self.open_price / self.tick
        _check(
            abs(ticks_open - round(ticks_open)) < 1e-6 and ticks_open > self.window_ticks,
            "open_price",
            self.open_price,
            "a multiple of tick above window_ticks ticks",
        )

    def slot_s(self) -> float:
        return self.slot_ms / 1000.0


#: Named parameter sets: the default cu-like book, three regimes and two stress scenarios
#: (a crash 600 s into the run for 20 s, a crisis from 600 s for 300 s).
L3_PRESETS: dict[str, dict[str, float]] = {
    "default": {},
    "trending": {"flow_mean": 0.6, "flow_phi": 0.999, "flow_sigma": 0.2, "flow_beta": 1.2},
    "mean_reverting": {"flow_phi": 0.9, "flow_sigma": 0.3, "limit_rate": 3.0, "market_rate": 0.2},
    "volatile": {
        "market_rate": 0.35,
        "market_size": 12.0,
        "hawkes_alpha": 1.0,
        "cancel_rate": 0.07,
        "sweep_ticks": 2,
        "flow_sigma": 0.6,
    },
    "flash_crash": {"crash_start_s": 600.0, "crash_duration_s": 20.0, "crash_rate": 3.0, "crash_size": 40.0},
    "liquidity_crisis": {
        "crisis_start_s": 600.0,
        "crisis_duration_s": 300.0,
        "crisis_cancel_mult": 4.0,
        "crisis_limit_mult": 0.5,
    },
}


def l3_preset(name: str, **overrides: object) -> L3BookConfig:
    """The named preset of :data:`L3_PRESETS`, with optional field overrides."""
    if name not in L3_PRESETS:
        raise MarketSimConfigError(f"unknown L3 preset {name!r}: expected one of {sorted(L3_PRESETS)}")
    return replace(L3BookConfig(), **{**L3_PRESETS[name], **overrides})  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class L3Day:
    """One simulated run: snapshots, the execution log and the injected orders' truth."""

    ticks: np.ndarray  # TICK_DTYPE, one row per slot
    executions: np.ndarray  # EXECUTION_DTYPE, time order
    injected: np.ndarray  # INJECTED_FILL_DTYPE, in injection-time order
    n_events: int  # order arrivals, cancels and marketable orders applied
    n_orders: int  # limit orders created (initial book included)
    final_orders: np.ndarray  # RESTING_ORDER_DTYPE: the live orders after the last slot, by id


def session_grid_ns(calendar: TradingCalendar, spec: ContractSpec, trading_day: date, slot_ms: int = 500) -> np.ndarray:
    """Epoch-ns snapshot times every ``slot_ms`` inside the sessions of a trading day (night first)."""
    step = int(slot_ms) * 1_000_000
    parts = [np.arange(a, b, step, dtype=np.int64) for a, b in calendar.session_windows_ns(trading_day, spec)]
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)


def _slot_inputs(cfg: L3BookConfig, seed: int, n: int) -> np.ndarray:
    rng = generator(seed, "l3", "flow")
    slots = np.empty((n, 5))
    # one AR(1) step per 500 ms slot (not per event)
    slots[:, k.S_F] = k.ar1_path(rng.standard_normal(n), cfg.flow_mean, cfg.flow_phi, cfg.flow_sigma)
    start = np.arange(n) * cfg.slot_s()
    crash = (start >= cfg.crash_start_s) & (start < cfg.crash_start_s + cfg.crash_duration_s)
    crisis = (start >= cfg.crisis_start_s) & (start < cfg.crisis_start_s + cfg.crisis_duration_s)
    slots[:, k.S_LIM] = np.where(crisis, cfg.crisis_limit_mult, 1.0)
    slots[:, k.S_CAN] = np.where(crisis, cfg.crisis_cancel_mult, 1.0)
    slots[:, k.S_SHOCK] = np.where(crash, cfg.crash_rate, 0.0)
    slots[:, k.S_SHOCK_SIZE] = cfg.crash_size
    return slots


def simulate_l3_day(
    config: L3BookConfig,
    seed: int,
    datetime_ns: np.ndarray,
    *,
    inject_t_s: np.ndarray | None = None,
    inject_side: np.ndarray | None = None,
    inject_price: np.ndarray | None = None,
    horizon_s: float = 60.0,
) -> L3Day:
    """Simulate one snapshot per entry of ``datetime_ns`` (sorted epoch ns; e.g. a day's session grid).

    Trading time runs ``slot_ms`` per snapshot whatever the wall-clock gaps; snapshot ``i`` shows
    the book at trading time ``(i + 1) * slot_ms``. Injected orders (trading-time seconds, side
    BID/ASK, price on the tick grid) join the back of their price's queue with zero impact; their
    true fill time is the first execution against a younger order at their price or through it,
    or the opposite best reaching it, within ``horizon_s`` (NaN otherwise). Pure in
    ``(config, seed, datetime_ns, injections)``.
    """
    times = np.asarray(datetime_ns, dtype=np.int64)
    n = int(times.shape[0])
    it = np.asarray([] if inject_t_s is None else inject_t_s, dtype=np.float64)
    iside = np.asarray([] if inject_side is None else inject_side, dtype=np.int64)
    iprice = np.asarray([] if inject_price is None else inject_price, dtype=np.float64)
    if not (it.shape == iside.shape == iprice.shape) or it.ndim != 1:
        raise MarketSimConfigError("injected orders: t_s, side and price must be 1-D arrays of one length")
    if it.size and (np.any(np.diff(it) < 0) or not np.all(np.isin(iside, (BID, ASK)))):
        raise MarketSimConfigError("injected orders: times must be sorted and sides BID (0) or ASK (1)")
    _check(_nonneg(horizon_s), "horizon_s", horizon_s, "a finite number >= 0")
    n_levels = 2 * config.window_ticks + 2
    center = config.window_ticks
    base = int(round(config.open_price / config.tick)) - center
    ipx = np.rint(iprice / config.tick).astype(np.int64) - base
    if ipx.size and (np.any(ipx < 0) or np.any(ipx >= n_levels)):
        raise MarketSimConfigError("injected orders: a price lies outside the book's window")
    slots = _slot_inputs(config, seed, n)
    fp = np.zeros(15)
    fp[[k.F_LAM0, k.F_KAPPA, k.F_THETA, k.F_MU, k.F_BETA, k.F_GAMMA, k.F_ALPHA, k.F_DECAY]] = [
        config.limit_rate, config.depth_decay, config.cancel_rate, config.market_rate,
        config.flow_beta, config.flow_gamma, config.hawkes_alpha, config.hawkes_decay,
    ]  # fmt: skip
    fp[k.F_CAN_BETA] = config.cancel_beta
    fp[[k.F_LIM_SIZE, k.F_MKT_SIZE, k.F_SLOT_S, k.F_TICK, k.F_MULT, k.F_OI]] = [
        config.limit_size, config.market_size, config.slot_s(), config.tick, config.multiplier, config.open_interest,
    ]  # fmt: skip
    ip = np.zeros(6, dtype=np.int64)
    ip[[k.I_DEPTH, k.I_SWEEP, k.I_CENTER, k.I_BASE, k.I_INIT_LEVELS, k.I_SHOCK_SWEEP]] = [
        config.depth_levels, config.sweep_ticks, center, base, config.depth_levels, config.crash_sweep_ticks,
    ]  # fmt: skip
    kseed = stream_key(seed, "l3", "events")
    secs = n * config.slot_s()
    rate = 2 * config.limit_rate * config.depth_levels + 2 * config.market_rate + config.crash_rate
    cap = int(1.3 * rate * secs) + 4 * config.depth_levels * int(config.limit_rate / config.cancel_rate + 10) + 1024
    while True:
        orders, o_t, lv, live, cnt = k.new_state(cap, n_levels)
        ex_t = np.empty(cap)
        ex = np.empty((cap, 4), dtype=np.int64)
        q_t = np.empty(cap)
        q = np.empty((cap, 2), dtype=np.int64)
        snap = np.empty((n, len(MARKET_FIELDS)))
        seq = np.zeros(it.size, dtype=np.int64)
        ahead = np.zeros(it.size, dtype=np.int64)
        bb = np.zeros(it.size, dtype=np.int64)
        ba = np.zeros(it.size, dtype=np.int64)
        k.simulate_kernel(
            fp, ip, slots, np.uint64(kseed), it, iside, ipx,
            orders, o_t, lv, live, cnt, ex_t, ex, q_t, q, snap, seq, ahead, bb, ba,
        )  # fmt: skip
        if not cnt[k.OVERFLOW]:
            break
        cap *= 2  # rerun from scratch: the same seed gives the same events
    n_ex, n_q = int(cnt[k.N_EX]), int(cnt[k.N_Q])
    fill_t = np.empty(it.size)
    fill_kind = np.empty(it.size, dtype=np.int64)
    k.fill_times_kernel(
        it, iside, ipx, seq, float(horizon_s), ex_t[:n_ex], ex[:n_ex], q_t[:n_q], q[:n_q], fill_t, fill_kind
    )
    ticks = np.empty(n, dtype=TICK_DTYPE)
    ticks["datetime_ns"] = times
    for col, name in enumerate(MARKET_FIELDS):
        ticks[name] = snap[:, col]
    execs = np.empty(n_ex, dtype=EXECUTION_DTYPE)
    execs["t_s"] = ex_t[:n_ex]
    execs["price"] = (ex[:n_ex, 0] + base) * config.tick
    execs["qty"] = ex[:n_ex, 2]
    execs["aggressor"] = ex[:n_ex, 3]
    execs["resting_id"] = ex[:n_ex, 1]
    inj = np.empty(it.size, dtype=INJECTED_FILL_DTYPE)
    inj["t_s"] = it
    inj["side"] = iside
    inj["price"] = iprice
    inj["seq"] = seq
    inj["queue_ahead"] = ahead
    # ticks behind the own-side best (negative: inside the spread or through it)
    inj["distance_ticks"] = np.where(iside == BID, bb - ipx, ipx - ba)
    inj["fill_t_s"] = fill_t
    inj["fill_kind"] = fill_kind
    ids = np.sort(np.concatenate([live[0, : cnt[k.N_LB]], live[1, : cnt[k.N_LA]]]))
    final = np.empty(ids.size, dtype=RESTING_ORDER_DTYPE)
    final["id"] = ids
    final["side"] = orders[ids, k.SIDE]
    final["price"] = (orders[ids, k.PX] + base) * config.tick
    final["qty"] = orders[ids, k.QTY]
    final["t_s"] = o_t[ids]
    return L3Day(ticks, execs, inj, int(cnt[k.N_EVENTS]), int(cnt[k.N_ORD]), final)


def snapshot_truth(
    config: L3BookConfig,
    seed: int,
    datetime_ns: np.ndarray,
    *,
    every_slots: int = 4,
    distances: tuple[int, ...] = (0, 1, 2),
    horizon_s: float = 60.0,
) -> tuple[L3Day, np.ndarray]:
    """Injected orders placed as a snapshot-based simulator would see them, with their true fills.

    Every ``every_slots`` snapshots, one bid ``d`` ticks below that snapshot's bid1 and one ask
    ``d`` above its ask1 for each ``d`` in ``distances`` join the book at the snapshot's time
    (where the snapshot's own side is non-empty), so each order's ``queue_ahead`` is the volume the
    snapshot displays at its price. Returns the run (its market is the same as without the
    orders) and, per injected order, the index of the snapshot it was placed on.
    """
    if isinstance(every_slots, bool) or not isinstance(every_slots, int) or every_slots < 1:
        raise MarketSimConfigError(f"invalid every_slots={every_slots!r}: expected an int >= 1")
    if not distances or any(isinstance(d, bool) or not isinstance(d, int) or d < 0 for d in distances):
        raise MarketSimConfigError(f"invalid distances={distances!r}: expected ints >= 0")
    plain = simulate_l3_day(config, seed, datetime_ns).ticks
    idx = np.arange(every_slots - 1, plain.shape[0], every_slots)
    rows, sides, prices = [], [], []
    for d in distances:
        for side, col, sign in ((BID, "bid_price1", -1.0), (ASK, "ask_price1", 1.0)):
            ref = plain[col][idx]
            ok = np.isfinite(ref)
            rows.append(idx[ok])
            sides.append(np.full(int(ok.sum()), side, dtype=np.int64))
            prices.append(ref[ok] + sign * d * config.tick)
    snap = np.concatenate(rows)
    order = np.argsort(snap, kind="stable")
    snap = snap[order]
    run = simulate_l3_day(
        config,
        seed,
        datetime_ns,
        inject_t_s=(snap + 1) * config.slot_s(),
        inject_side=np.concatenate(sides)[order],
        inject_price=np.concatenate(prices)[order],
        horizon_s=horizon_s,
    )
    return run, snap


class OrderBook:
    """A hand-driven FIFO book on the same kernels (for tests and worked examples).

    Prices are integer tick indices in ``[0, n_levels)``; ``limit`` executes the marketable part
    and rests the rest; ``market`` is an aggressor with an optional limit (default: the whole book).
    """

    def __init__(self, n_levels: int = 64, capacity: int = 4096) -> None:
        self._n = n_levels
        self._orders, self._o_t, self._lv, self._live, self._cnt = k.new_state(capacity, n_levels)
        self._ex_t = np.empty(capacity)
        self._ex = np.empty((capacity, 4), dtype=np.int64)

    def _guard(self) -> None:
        if self._cnt[k.OVERFLOW]:
            raise MarketSimConfigError("OrderBook capacity exceeded")

    def limit(self, side: int, px: int, qty: int, t: float = 0.0) -> int:
        """Submit a limit order; returns the resting order id, or -1 if it filled entirely."""
        if side not in (BID, ASK) or not 0 <= px < self._n or qty < 1:
            raise MarketSimConfigError(f"invalid limit order side={side} px={px} qty={qty}")
        oid = k.book_limit(
            side, px, qty, t, self._orders, self._o_t, self._lv, self._live, self._cnt, self._ex_t, self._ex
        )
        self._guard()
        return int(oid)

    def market(self, side: int, qty: int, t: float = 0.0, limit_px: int | None = None) -> int:
        """An aggressor of ``qty`` lots; returns the unfilled quantity (dropped, like FAK)."""
        lim = (self._n if side == BID else -1) if limit_px is None else limit_px
        rest = k.book_match(side, lim, qty, t, self._orders, self._lv, self._live, self._cnt, self._ex_t, self._ex)
        self._guard()
        return int(rest)

    def cancel(self, oid: int) -> None:
        """Cancel a live order (the whole remaining quantity)."""
        if not 0 <= oid < self._cnt[k.N_ORD] or self._orders[oid, k.QTY] == 0:
            raise MarketSimConfigError(f"order {oid} is not live")
        k.book_remove(oid, self._orders, self._lv, self._live, self._cnt)

    @property
    def best_bid(self) -> int:
        return int(self._cnt[k.BEST_B])

    @property
    def best_ask(self) -> int:
        return int(self._cnt[k.BEST_A])

    def depth(self, side: int, px: int) -> int:
        return int(self._lv[k.LQTY, side, px])

    def queue(self, side: int, px: int) -> list[tuple[int, int]]:
        """``(order id, remaining qty)`` at a price, front of the queue first."""
        out = []
        oid = int(self._lv[k.HEAD, side, px])
        while oid >= 0:
            out.append((oid, int(self._orders[oid, k.QTY])))
            oid = int(self._orders[oid, k.NEXT])
        return out

    def live_orders(self, side: int) -> list[int]:
        return sorted(int(x) for x in self._live[side, : self._cnt[k.N_LB + side]])

    def executions(self) -> list[tuple[int, int, int, int]]:
        """``(price, resting id, qty, aggressor side)`` of every execution so far."""
        n = int(self._cnt[k.N_EX])
        return [tuple(int(v) for v in row) for row in self._ex[:n]]  # type: ignore[misc]
