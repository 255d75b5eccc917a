"""Resumable replay: the batch kernel advanced one snapshot (or chunk) at a time (sim mode).

:class:`ReplayStepper` owns a :class:`ReplayState` and hands the same ``replay_kernel`` that
``simulate`` runs each new snapshot together with the commands due before it, so the fill rules
exist once. Handing a command over before the first snapshot at or after its send time and
then stepping through the snapshots gives the orders, fills, positions and equity of
``simulate`` on the same snapshots and commands (latency draws are keyed by the command's index
in the stream, not by when it was handed over).

The stepper replays external commands only: the built-in :class:`QuoteStrategy` stays a batch
mode, and the feed latency is the caller's business (it sends at the time it saw the tick).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ghtrader.domain.microsim import _replay_kernel as rk
from ghtrader.domain.microsim import codes
from ghtrader.domain.microsim._state import ReplayState
from ghtrader.domain.microsim.queue_models import queue_model_code
from ghtrader.domain.microsim.results import SimResult
from ghtrader.domain.microsim.simulator import (
    COMMAND_DTYPE,
    SimConfig,
    book_arrays,
    command_latencies,
    validate_commands,
    wrap_result,
)
from ghtrader.domain.ticks import TICK_DTYPE

__all__ = ["FillView", "ReplayStepper"]

_EMPTY_I8 = np.zeros(0, dtype=np.int64)
_LEVEL_FIELDS = tuple(
    (f"bid_price{lvl}", f"bid_volume{lvl}", f"ask_price{lvl}", f"ask_volume{lvl}") for lvl in range(1, 6)
)
# A TICK_DTYPE row is an int64 time then float64 fields: the book's fields are gathered from its
# bytes in one indexing (bid prices, bid sizes, ask prices, ask sizes, volume, amount) instead of
# 22 field reads on the single-tick path.
_BOOK_FIELDS = (
    [f"bid_price{i}" for i in range(1, 6)] + [f"bid_volume{i}" for i in range(1, 6)]
    + [f"ask_price{i}" for i in range(1, 6)] + [f"ask_volume{i}" for i in range(1, 6)] + ["volume", "amount"]
)  # fmt: skip
_BOOK_INDEX = np.array([TICK_DTYPE.fields[name][1] // 8 for name in _BOOK_FIELDS], dtype=np.intp)  # type: ignore[index]


@dataclass(frozen=True)
class FillView:
    """One fill as the stepper reports it (``index`` is the order's dense index)."""

    time_ns: int
    index: int
    side: int
    offset: int
    kind: int
    price: float
    qty: float
    fee: float


class ReplayStepper:
    """A replay fed incrementally: :meth:`submit` commands, :meth:`step` snapshots, :meth:`finish`.

    Orders get dense indices ``0, 1, ...`` in submission order (the row of the order tables);
    ``order_id`` stays the caller's id, as in ``simulate``.
    """

    def __init__(self, config: SimConfig, *, order_cap: int = 64, fill_cap: int = 256, record: bool = True) -> None:
        self.config = config
        self.state = ReplayState.new(order_cap, fill_cap, float(config.long_yesterday), float(config.short_yesterday))
        self._fee_lot, self._fee_val = config.fees.arrays()
        self._qm = queue_model_code(config.queue_model)
        self._entry_table = config.entry_latency.table()
        self._cancel_table = config.cancel_latency.table()
        self._book: tuple[np.ndarray, ...] | None = None  # row 0: the current snapshot as kernel arrays
        self._ds2 = np.zeros(2, dtype=np.bool_)
        self._n_cmds = 0
        self._dense: dict[int, int] = {}
        self._ids: list[int] = []
        # commands handed over and not yet replayed: (arrive, command index, kind, order index)
        self._due: list[tuple[int, int, int, int]] = []
        self._record = record
        self._t: list[np.ndarray] = []
        self._ds: list[np.ndarray] = []
        self._eq: list[np.ndarray] = []
        self.last_time_ns: int | None = None

    # -- commands -----------------------------------------------------------------------------
    def submit(self, command: np.void | np.ndarray) -> int:
        """Hand over one :data:`COMMAND_DTYPE` row; returns the order's dense index (for a cancel,
        the index of the order it targets). Its latency is drawn here, keyed by its position in
        the command stream. A command sent before the current snapshot is refused (it should
        have been handed over earlier)."""
        row = np.asarray(command, dtype=COMMAND_DTYPE).reshape(1)
        validate_commands(row)
        send = int(row["time_ns"][0])
        if self.last_time_ns is not None and send < self.last_time_ns:
            raise ValueError(f"command sent at {send} is before the current snapshot {self.last_time_ns}")
        oid = int(row["order_id"][0])
        kind = int(row["kind"][0])
        lat = int(command_latencies(row, self.config, self._n_cmds)[0])
        j = self._n_cmds
        if kind == codes.CANCEL:
            if oid not in self._dense:
                raise ValueError(f"cancel of unknown order id {oid}")
            k = self._dense[oid]
            arrive = max(send + lat, int(self.state.o_i[k, rk.O_ARRIVE_NS]))
            self.state.o_i[k, rk.O_CANCEL_SEND_NS] = send
        else:
            if oid in self._dense:
                raise ValueError("order ids of new orders must be unique")
            k = len(self._ids)
            arrive = send + lat
            self.state.register(
                np.array([k]), row["side"], row["kind"], row["offset"], np.array([send]), np.array([arrive]),
                row["price"], row["qty"],
            )  # fmt: skip
            self._dense[oid] = k
            self._ids.append(oid)
        self._n_cmds += 1
        self._due.append((arrive, j, kind, k))
        return k

    def index_of(self, order_id: int) -> int:
        """Dense index of the caller's ``order_id``."""
        return self._dense[order_id]

    # -- replay -------------------------------------------------------------------------------
    def step(self, ticks: np.ndarray, day_start: np.ndarray | bool = False) -> np.ndarray:
        """Replay the snapshots ``ticks`` (TICK_DTYPE rows, in time order, after the current one)
        with every handed-over command that arrives before the last of them; ``day_start`` flags
        a trading day's first snapshot (orders expire, today's position becomes yesterday's).
        Returns the equity rows (``E_*`` columns) of these snapshots."""
        if self._book is not None and isinstance(day_start, bool):  # the per-tick path of a live loop
            if isinstance(ticks, np.void):
                return self._step_one(ticks, day_start)
            if ticks.shape == (1,):
                return self._step_one(ticks[0], day_start)
        ticks = np.atleast_1d(ticks)
        m = ticks.shape[0]
        if m == 0:
            return np.zeros((0, rk.E_N))
        flags = np.broadcast_to(np.asarray(day_start, dtype=np.bool_), (m,))
        if m == 1 and self._book is not None:
            return self._step_one(ticks[0], bool(flags[0]))
        new = book_arrays(ticks)
        ds = flags.copy()
        t_new = new[0]
        if (m > 1 and (np.diff(t_new) < 0).any()) or (self.last_time_ns is not None and t_new[0] < self.last_time_ns):
            raise ValueError("snapshots must be in time order")
        if self._book is None:
            book, start = new, 0
            ds_all = ds
        else:
            book = tuple(np.concatenate((a[:1], b)) for a, b in zip(self._book, new, strict=True))
            start = 1
            ds_all = np.r_[False, ds]
        eq = self._run(book, ds_all, start, until=int(t_new[-1]))
        # a two-row buffer: row 0 the current snapshot, row 1 the next one (single steps)
        self._book = tuple(np.concatenate((a[-1:], a[-1:])) for a in book)
        return self._done(t_new, ds, eq[start:])

    def _step_one(self, tick: np.void, day_start: bool) -> np.ndarray:
        t, bp, bv, ap, av, vol, amt = self._book  # type: ignore[misc]
        ts = int(tick["datetime_ns"])
        if ts < t[0]:
            raise ValueError("snapshots must be in time order")
        t[1] = ts
        if tick.dtype == TICK_DTYPE:
            v = np.frombuffer(tick, dtype=np.float64)[_BOOK_INDEX]
            bp[1], bv[1], ap[1], av[1] = v[0:5], v[5:10], v[10:15], v[15:20]
            vol[1], amt[1] = v[20], v[21]
        else:
            for lvl, (f_bp, f_bv, f_ap, f_av) in enumerate(_LEVEL_FIELDS):
                bp[1, lvl] = tick[f_bp]
                bv[1, lvl] = tick[f_bv]
                ap[1, lvl] = tick[f_ap]
                av[1, lvl] = tick[f_av]
            vol[1] = tick["volume"]
            amt[1] = tick["amount"]
        self._ds2[1] = day_start
        eq = self._run(self._book, self._ds2, 1, until=ts)  # type: ignore[arg-type]
        for a in self._book:  # type: ignore[union-attr]
            a[0] = a[1]
        if not self._record:
            self.last_time_ns = ts
            return eq[1:]
        return self._done(t[1:].copy(), self._ds2[1:].copy(), eq[1:])

    def _done(self, t_new: np.ndarray, ds: np.ndarray, eq: np.ndarray) -> np.ndarray:
        self.last_time_ns = int(t_new[-1])
        if self._record:
            self._t.append(t_new)
            self._ds.append(ds)
            self._eq.append(eq)
        return eq

    def finish(self) -> None:
        """Replay every remaining command (after the last snapshot), as the batch replay does at
        its end, and update the last equity row."""
        if self._book is None:
            self._due.clear()
            return
        eq = self._run(tuple(a[:1] for a in self._book), np.zeros(1, dtype=np.bool_), 1, until=None)
        if self._record and self._eq:
            for col in (rk.E_GROSS, rk.E_FEES, rk.E_POSITION):  # the kernel's end-of-replay update
                self._eq[-1][-1, col] = eq[0, col]

    def _run(self, book: tuple[np.ndarray, ...], ds: np.ndarray, start: int, until: int | None) -> np.ndarray:
        due = [c for c in self._due if until is None or c[0] < until]
        if due:
            rest = [c for c in self._due if until is not None and c[0] >= until]
            due.sort()
            self._due = rest
            arrive = np.array([c[0] for c in due], dtype=np.int64)
            kind = np.array([c[2] for c in due], dtype=np.int64)
            order = np.array([c[3] for c in due], dtype=np.int64)
        else:
            arrive = kind = order = _EMPTY_I8
        st = self.state
        n_snap = book[0].shape[0] - start
        bound = st.n_fills + (int(st.st[rk.S_NLIVE]) + len(due)) * (n_snap + 5) + 8
        st.ensure(0, bound)
        eq = np.zeros((book[0].shape[0], rk.E_N))
        cfg = self.config
        rk.replay_kernel(
            *book, ds, start, float(cfg.tick), float(cfg.multiplier), self._fee_lot, self._fee_val,
            self._qm, float(cfg.queue_power), bool(cfg.consume_depth),
            arrive, kind, order, until is None,
            False, 0.0, 0.0, book[0], self._entry_table, self._cancel_table, 0, 0,
            st.o_i, st.o_f, st.f_i, st.f_f, st.pos, st.st, st.used, st.live, st.pend, eq,
        )  # fmt: skip
        if st.overflowed:  # cannot happen with the bound above; a bug if it does
            raise RuntimeError("replay tables overflowed while stepping")
        return eq

    # -- reading the state -------------------------------------------------------------------
    @property
    def n_fills(self) -> int:
        return self.state.n_fills

    def fills_since(self, first: int) -> list[FillView]:
        """Fills ``first..`` in the order they happened."""
        st = self.state
        return [
            FillView(
                int(st.f_i[z, rk.F_TIME_NS]),
                int(st.f_i[z, rk.F_ORDER]),
                int(st.f_i[z, rk.F_SIDE]),
                int(st.f_i[z, rk.F_OFFSET]),
                int(st.f_i[z, rk.F_KIND]),
                float(st.f_f[z, rk.F_PRICE]),
                float(st.f_f[z, rk.F_QTY]),
                float(st.f_f[z, rk.F_FEE]),
            )
            for z in range(first, st.n_fills)
        ]

    def status(self, k: int) -> int:
        """Order ``k``'s status code."""
        return int(self.state.o_i[k, rk.O_STATUS])

    def filled(self, k: int) -> float:
        return float(self.state.o_f[k, rk.O_FILLED])

    def done_ns(self, k: int) -> int:
        return int(self.state.o_i[k, rk.O_DONE_NS])

    def arrive_ns(self, k: int) -> int:
        """When order ``k`` reached (or is due at) the exchange."""
        return int(self.state.o_i[k, rk.O_ARRIVE_NS])

    def cancel_send_ns(self, k: int) -> int:
        """When a cancel of order ``k`` was sent (-1: none)."""
        return int(self.state.o_i[k, rk.O_CANCEL_SEND_NS])

    def offset(self, k: int) -> int:
        """Order ``k``'s offset (AUTO resolved once it arrived)."""
        return int(self.state.o_i[k, rk.O_OFFSET])

    def positions(self) -> dict[str, float]:
        """Lots by SHFE bucket: ``long_today``, ``long_yesterday``, ``short_today``, ``short_yesterday``."""
        p = self.state.pos
        return {
            "long_today": float(p[rk.P_LONG_TODAY]),
            "long_yesterday": float(p[rk.P_LONG_YD]),
            "short_today": float(p[rk.P_SHORT_TODAY]),
            "short_yesterday": float(p[rk.P_SHORT_YD]),
        }

    def money(self) -> tuple[float, float, float]:
        """``(cash flow of fills incl. a carried position's entry at the first mid, fees, mid)``."""
        p = self.state.pos
        return float(p[rk.P_CASH]), float(p[rk.P_FEES]), float(p[rk.P_MID])

    def result(self) -> SimResult:
        """Orders, fills, equity and summary so far, as ``simulate`` reports them (needs ``record``)."""
        if not self._record:
            raise ValueError("this stepper does not record its equity rows")
        t = np.concatenate(self._t) if self._t else _EMPTY_I8
        ds = np.concatenate(self._ds) if self._ds else np.zeros(0, dtype=np.bool_)
        if ds.size:
            ds[0] = True
        eq = np.concatenate(self._eq) if self._eq else np.zeros((0, rk.E_N))
        return wrap_result(t, ds, self.config, np.array(self._ids, dtype=np.int64), self.state, eq)
