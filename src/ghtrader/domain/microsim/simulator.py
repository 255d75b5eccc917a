"""Event-driven replay of L5 snapshots with order injection: the micro-simulator's facade.

Rules (the kernel in ``_replay_kernel.py`` implements them):

* Time. Snapshot ``i`` is the exchange's book at ``t_i``. The strategy sees it at
  ``t_i + feed latency``; an order reaches the book ``entry latency`` after it is sent, a cancel
  takes effect ``cancel latency`` after it is sent but never before its order arrived (one
  connection, first in first out). Latencies are constants or draws from empirical
  samples, each a hash of (seed, stream, command index) so a replay fed in chunks draws the
  same latencies as one fed at once. Events at one instant run as: snapshot, then commands, then strategy decisions; so a
  fill found at snapshot ``t`` beats a cancel arriving at ``t``, and a fill can arrive while a
  cancel is in flight.
* Aggressive orders (a limit at or through the opposite best) walk the visible levels of the
  latest snapshot up to their limit, each level giving at most its displayed size (optionally
  consuming it, so later orders before the next snapshot see less). FAK cancels the rest, FOK
  fills all or nothing, a LIMIT rests with its remainder. SHFE has no market orders.
* A resting order joins the back of the displayed queue at its price (0 ahead when it improves
  the best price; unknown until visible when beyond level 5). At each snapshot it fills:
  - in full at its price when the opposite best reaches or crosses it, or when inferred trades
    went through its price (``FILL_CROSS``);
  - else by the queue model (queue_models.py): trades inferred at its price (trades.py) advance
    the queue and, once the queue ahead is exhausted, the excess fills it (``FILL_QUEUE``).
  Trades between two snapshots are applied at the later one, to every order then resting.
  Simulated orders are not in the displayed sizes and do not queue behind one another; a
  trade-through is judged on the two-tick split of the interval's VWAP (trades.py), so a wide
  sweep inside one interval can be misread.
* Orders expire at a trading day's first snapshot (``day_start``), when today's positions
  become yesterday's. Offsets: OPEN; CLOSE closes yesterday's position; CLOSETODAY today's;
  a close beyond the position not frozen by other working closes is rejected.
* Money: fills move cash at their price times the multiplier; fees per fill from the
  :class:`FeeTable` by offset; equity is marked to the mid after every snapshot.
* Deterministic: the same inputs and seed give the same orders and fills.

Modes: a command stream (:data:`COMMAND_DTYPE` rows) or the built-in re-quoting strategy
(:class:`QuoteStrategy`), run entirely inside the kernel.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ghtrader.domain.instruments import contract_spec
from ghtrader.domain.microsim import _replay_kernel as rk
from ghtrader.domain.microsim import codes
from ghtrader.domain.microsim._state import (
    STREAM_CANCEL,
    STREAM_ENTRY,
    STREAM_FEED,
    STREAM_QUOTE_CANCEL,
    STREAM_QUOTE_ENTRY,
    ReplayState,
    key,
)
from ghtrader.domain.microsim.fees import FeeTable, fee_table
from ghtrader.domain.microsim.latency import Latency
from ghtrader.domain.microsim.queue_models import queue_model_code
from ghtrader.domain.microsim.results import (
    EQUITY_DTYPE,
    FILL_DTYPE,
    ORDER_DTYPE,
    SimResult,
    round_trips,
    summarize,
)

__all__ = ["COMMAND_DTYPE", "QuoteStrategy", "SimConfig", "make_commands", "simulate"]

#: One strategy command.
COMMAND_DTYPE = np.dtype(
    [
        ("time_ns", "i8"),  # when the strategy sends it
        ("kind", "i1"),  # codes.LIMIT / FAK / FOK / CANCEL
        ("side", "i1"),  # +1 buy, -1 sell (ignored for CANCEL)
        ("price", "f8"),  # limit price (ignored for CANCEL)
        ("qty", "i8"),  # lots (ignored for CANCEL)
        ("order_id", "i8"),  # new order's id, or the id a CANCEL targets
        ("offset", "i1"),  # codes.OPEN / CLOSE / CLOSETODAY / AUTO (ignored for CANCEL)
    ]
)


@dataclass(frozen=True)
class SimConfig:
    """Contract, costs, queue model, latencies and seed of one replay."""

    tick: float
    multiplier: float
    fees: FeeTable
    queue_model: str = "prob_log"  # the model the L3-truth study supports (README, queue_study.py)
    queue_power: float = 2.0  # n of the power model
    consume_depth: bool = True
    feed_latency: Latency = field(default_factory=Latency)
    entry_latency: Latency = field(default_factory=Latency)
    cancel_latency: Latency = field(default_factory=Latency)
    seed: int = 0
    long_yesterday: int = 0  # position carried from before the first snapshot
    short_yesterday: int = 0

    def __post_init__(self) -> None:
        queue_model_code(self.queue_model)
        if not (self.tick > 0 and self.multiplier > 0 and self.queue_power > 0):
            raise ValueError("tick, multiplier and queue_power must be > 0")
        if self.long_yesterday < 0 or self.short_yesterday < 0:
            raise ValueError("yesterday positions are lot counts >= 0")

    @classmethod
    def for_variety(cls, variety: str, **kwargs: object) -> SimConfig:
        """Config with the price tick, multiplier and default fees of ``"cu"``, ``"au"`` or ``"ag"``."""
        spec = contract_spec(f"SHFE.{variety}")
        return cls(tick=spec.price_tick, multiplier=spec.multiplier, fees=fee_table(variety), **kwargs)  # type: ignore[arg-type]


@dataclass(frozen=True)
class QuoteStrategy:
    """Quote ``qty`` lots at the best bid and the best ask; when a best price moves, cancel the
    old quote and send a new one. No buy quote at ``position >= max_position`` (no sell quote at
    ``<= -max_position``). Offsets resolve automatically (close today, then yesterday, else open).
    The strategy knows its fills and order states the moment they happen (no report latency)."""

    qty: int = 1
    max_position: int = 1


def make_commands(rows: list[tuple[int, int, int, float, int, int, int]]) -> np.ndarray:
    """A :data:`COMMAND_DTYPE` array from ``(time_ns, kind, side, price, qty, order_id, offset)`` rows."""
    return np.array(rows, dtype=COMMAND_DTYPE) if rows else np.zeros(0, dtype=COMMAND_DTYPE)


def _levels(ticks: np.ndarray, name: str) -> np.ndarray:
    return np.ascontiguousarray(np.stack([ticks[f"{name}{lvl}"] for lvl in range(1, 6)], axis=1), dtype=np.float64)


def _one_of(values: np.ndarray, allowed: tuple[int, ...]) -> bool:
    """Every value is in ``allowed`` (a few codes: equality tests beat ``np.isin``'s sort, which
    matters for the one-command submits of a live loop)."""
    ok = values == allowed[0]
    for a in allowed[1:]:
        ok |= values == a
    return bool(ok.all())


def validate_commands(cmds: np.ndarray) -> None:
    """Raise ValueError unless every row is a well-formed order or cancel."""
    kind = cmds["kind"]
    if not _one_of(kind, (codes.LIMIT, codes.FAK, codes.FOK, codes.CANCEL)):
        raise ValueError("command kind must be LIMIT, FAK, FOK or CANCEL")
    new = kind != codes.CANCEL
    if not _one_of(cmds["side"][new], (codes.BUY, codes.SELL)):
        raise ValueError("order side must be +1 (buy) or -1 (sell)")
    if not (cmds["qty"][new] > 0).all() or not np.isfinite(cmds["price"][new]).all():
        raise ValueError("orders need qty > 0 and a finite limit price")
    if not _one_of(cmds["offset"][new], (codes.OPEN, codes.CLOSE, codes.CLOSETODAY, codes.AUTO)):
        raise ValueError("offset must be OPEN, CLOSE, CLOSETODAY or AUTO")


def command_latencies(cmds: np.ndarray, config: SimConfig, first: int = 0) -> np.ndarray:
    """Entry or cancel latency of each command, keyed by its index ``first + j`` in the stream."""
    counters = np.arange(first, first + cmds.shape[0], dtype=np.int64)
    entry = rk.draw_many(config.entry_latency.table(), key(config.seed, STREAM_ENTRY), counters)
    cancel = rk.draw_many(config.cancel_latency.table(), key(config.seed, STREAM_CANCEL), counters)
    return np.where(cmds["kind"] == codes.CANCEL, cancel, entry)


def _prepare_commands(
    cmds: np.ndarray, config: SimConfig, state: ReplayState
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Register the commands' orders in ``state``; return the commands sorted by arrival
    (arrive, kind, order index) and the new orders' ids."""
    m = cmds.shape[0]
    validate_commands(cmds)
    is_cancel = cmds["kind"] == codes.CANCEL
    new = ~is_cancel
    ids = cmds["order_id"][new]
    if np.unique(ids).size != ids.size:
        raise ValueError("order ids of new orders must be unique")
    dense = {int(o): k for k, o in enumerate(ids)}
    order = np.empty(m, dtype=np.int64)
    for j in range(m):  # command count, not snapshots: off the hot path
        oid = int(cmds["order_id"][j])
        if oid not in dense:
            raise ValueError(f"cancel of unknown order id {oid}")
        order[j] = dense[oid]
    send = cmds["time_ns"].astype(np.int64)
    arrive = send + command_latencies(cmds, config)
    order_arrive = np.zeros(ids.size, dtype=np.int64)
    order_arrive[order[new]] = arrive[new]
    arrive = np.where(is_cancel, np.maximum(arrive, order_arrive[order]), arrive)
    k = order[new]
    state.register(
        k, cmds["side"][new], cmds["kind"][new], cmds["offset"][new], send[new], arrive[new],
        cmds["price"][new], cmds["qty"][new],
    )  # fmt: skip
    state.o_i[order[is_cancel], rk.O_CANCEL_SEND_NS] = send[is_cancel]  # the last cancel sent wins
    perm = np.lexsort((np.arange(m), arrive))
    return (
        np.ascontiguousarray(arrive[perm]),
        cmds["kind"][perm].astype(np.int64),
        np.ascontiguousarray(order[perm]),
        ids,
    )


def book_arrays(ticks: np.ndarray) -> tuple[np.ndarray, ...]:
    """The kernel's view of snapshots: times, bid / ask prices and sizes (n x 5), volume, amount."""
    return (
        np.ascontiguousarray(ticks["datetime_ns"], dtype=np.int64),
        _levels(ticks, "bid_price"),
        _levels(ticks, "bid_volume"),
        _levels(ticks, "ask_price"),
        _levels(ticks, "ask_volume"),
        np.ascontiguousarray(ticks["volume"], dtype=np.float64),
        np.ascontiguousarray(ticks["amount"], dtype=np.float64),
    )


def simulate(
    ticks: np.ndarray,
    config: SimConfig,
    commands: np.ndarray | None = None,
    strategy: QuoteStrategy | None = None,
    day_start: np.ndarray | None = None,
) -> SimResult:
    """Replay ``ticks`` (an L5 structured array, ``ghtrader.domain.ticks.TICK_DTYPE`` fields, in
    time order) with a command stream and/or the re-quoting strategy; see the module docstring.

    ``day_start`` marks each trading day's first snapshot (orders expire, positions roll, the
    cumulative counters restart); by default the data is one trading day. The whole replay is
    one chunk of the kernel :class:`~ghtrader.domain.microsim.stepper.ReplayStepper` advances
    snapshot by snapshot.
    """
    n = ticks.shape[0]
    book = book_arrays(ticks)
    t = book[0]
    if n > 1 and (np.diff(t) < 0).any():
        raise ValueError("snapshots must be in time order")
    ds = np.zeros(n, dtype=np.bool_) if day_start is None else np.array(day_start, dtype=np.bool_)
    if ds.shape != (n,):
        raise ValueError(f"day_start must have one flag per snapshot ({n}), got {ds.shape}")
    if n:
        ds[0] = True
    cmds = make_commands([]) if commands is None else np.asarray(commands, dtype=COMMAND_DTYPE)
    fee_lot, fee_val = config.fees.arrays()
    n_ext = int((cmds["kind"] != codes.CANCEL).sum())
    quote = strategy or QuoteStrategy(qty=0, max_position=0)
    if strategy is not None:
        feed = rk.draw_many(config.feed_latency.table(), key(config.seed, STREAM_FEED), np.arange(n, dtype=np.int64))
        decide = np.maximum.accumulate(t + feed) if n else t
    else:
        decide = t
    order_cap = n_ext + (min(2 * n, n // 2 + 1024) + 8 if strategy is not None else 0)
    fill_cap = int(cmds["qty"][cmds["kind"] != codes.CANCEL].sum()) + (order_cap - n_ext) * quote.qty + 8
    fill_cap = min(fill_cap, n_ext * 5 + n + 1024)
    while True:
        state = ReplayState.new(order_cap, fill_cap, float(config.long_yesterday), float(config.short_yesterday))
        arrive, kind, order, ids = _prepare_commands(cmds, config, state)
        equity = np.zeros((n, rk.E_N))
        rk.replay_kernel(
            *book, ds, 0, float(config.tick), float(config.multiplier), fee_lot, fee_val,
            queue_model_code(config.queue_model), float(config.queue_power), bool(config.consume_depth),
            arrive, kind, order, True,
            strategy is not None, float(quote.qty), float(quote.max_position), decide,
            config.entry_latency.table(), config.cancel_latency.table(),
            key(config.seed, STREAM_QUOTE_ENTRY), key(config.seed, STREAM_QUOTE_CANCEL),
            state.o_i, state.o_f, state.f_i, state.f_f, state.pos, state.st, state.used, state.live, state.pend,
            equity,
        )  # fmt: skip
        if not state.overflowed:
            break
        order_cap = n_ext + 2 * (order_cap - n_ext) + 8
        fill_cap = max(2 * fill_cap, state.n_fills + 8)
    return wrap_result(t, ds, config, ids, state, equity)


def wrap_result(
    t: np.ndarray, ds: np.ndarray, config: SimConfig, ids: np.ndarray, state: ReplayState, eq: np.ndarray
) -> SimResult:
    """Records and summary of a replay: orders ``ids`` then the strategy's, fills, equity rows ``eq``."""
    o_i, o_f, f_i, f_f, pos = state.o_i, state.o_f, state.f_i, state.f_f, state.pos
    no, nf = state.n_orders, state.n_fills
    orders = np.zeros(no, dtype=ORDER_DTYPE)
    order_ids = np.r_[ids, np.arange(ids.size, no)].astype(np.int64)
    orders["order_id"] = order_ids
    for name, col in (("side", rk.O_SIDE), ("kind", rk.O_KIND), ("offset", rk.O_OFFSET), ("status", rk.O_STATUS)):
        orders[name] = o_i[:no, col]
    for name, col in (("send_ns", rk.O_SEND_NS), ("arrive_ns", rk.O_ARRIVE_NS)):
        orders[name] = o_i[:no, col]
    orders["cancel_send_ns"] = o_i[:no, rk.O_CANCEL_SEND_NS]
    orders["done_ns"] = o_i[:no, rk.O_DONE_NS]
    for name, col in (("price", rk.O_PRICE), ("qty", rk.O_QTY), ("filled", rk.O_FILLED)):
        orders[name] = o_f[:no, col]
    fills = np.zeros(nf, dtype=FILL_DTYPE)
    fills["datetime_ns"] = f_i[:nf, rk.F_TIME_NS]
    fills["order_id"] = order_ids[f_i[:nf, rk.F_ORDER]]
    fills["side"] = f_i[:nf, rk.F_SIDE]
    fills["offset"] = f_i[:nf, rk.F_OFFSET]
    fills["fill_kind"] = f_i[:nf, rk.F_KIND]
    fills["passive"] = fills["fill_kind"] != codes.FILL_AGGRESSIVE
    fills["price"] = f_f[:nf, rk.F_PRICE]
    fills["qty"] = f_f[:nf, rk.F_QTY]
    fills["fee"] = f_f[:nf, rk.F_FEE]
    equity = np.zeros(t.size, dtype=EQUITY_DTYPE)
    equity["datetime_ns"] = t
    equity["mid"] = eq[:, rk.E_MID]
    equity["position"] = eq[:, rk.E_POSITION]
    equity["pnl_gross"] = eq[:, rk.E_GROSS]
    equity["fees"] = eq[:, rk.E_FEES]
    equity["pnl_net"] = equity["pnl_gross"] - equity["fees"]
    trips = round_trips(fills, config.multiplier)
    positions = {
        "long_today": float(pos[rk.P_LONG_TODAY]),
        "long_yesterday": float(pos[rk.P_LONG_YD]),
        "short_today": float(pos[rk.P_SHORT_TODAY]),
        "short_yesterday": float(pos[rk.P_SHORT_YD]),
    }
    summary = summarize(fills, equity, trips, config.multiplier, ds)
    summary["orders"] = float(no)
    summary["cancel_rejects"] = float(state.st[rk.S_CANCEL_REJECTS])
    return SimResult(orders, fills, equity, trips, positions, summary)
