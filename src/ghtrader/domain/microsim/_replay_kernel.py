"""The event-driven replay kernel of the micro-simulator (rules documented in simulator.py).

All replay state lives in caller-owned arrays (``ReplayState`` in ``_state.py``) whose layouts
are the ``O_*`` (orders), ``F_*`` (fills), ``P_*`` (positions, cash, mid), ``S_*`` (counters)
and ``E_*`` (equity) constants below, so one kernel serves the batch replay (one chunk holding
every snapshot and command) and the stepper (a chunk per snapshot, commands handed over in
between). Events at one timestamp run in the order: snapshot, external command, strategy
command, strategy decision. Latency draws are counter-based (a hash of a stream key and the
command's sequence number), so they do not depend on how the replay is chunked.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ghtrader.domain.microsim._queue_kernels import advance_queue
from ghtrader.domain.microsim._trade_kernels import split_vwap
from ghtrader.domain.microsim.codes import (
    AUTO,
    BUY,
    CANCEL,
    CANCELLED,
    CLOSE,
    CLOSETODAY,
    FILL_AGGRESSIVE,
    FILL_CROSS,
    FILL_QUEUE,
    FILLED,
    FOK,
    LIMIT,
    LIVE,
    OPEN,
    PENDING,
    REJECTED,
)

# Orders, int columns.
O_SIDE = 0
O_KIND = 1
O_OFFSET = 2
O_STATUS = 3
O_SEND_NS = 4
O_ARRIVE_NS = 5  # (scheduled) arrival at the exchange
O_DONE_NS = 6  # when it became FILLED / CANCELLED / REJECTED, -1 while working
O_CANCEL_SEND_NS = 7  # when a cancel for it was sent, -1 if none
O_NI = 8
# Orders, float columns.
O_PRICE = 0
O_QTY = 1
O_FILLED = 2
O_AHEAD = 3  # lots ahead in the queue (inf: price not yet visible)
O_LEVEL_PREV = 4  # displayed size at the price at the last snapshot (NaN: not visible)
O_NF = 5
# Fills, int and float columns.
F_TIME_NS = 0
F_ORDER = 1
F_SIDE = 2
F_KIND = 3
F_OFFSET = 4
F_NI = 5
F_PRICE = 0
F_QTY = 1
F_FEE = 2
F_NF = 3
# Positions and money.
P_LONG_TODAY = 0
P_LONG_YD = 1
P_SHORT_TODAY = 2
P_SHORT_YD = 3
P_FZ_LONG_TODAY = 4  # frozen by working CLOSETODAY sells
P_FZ_LONG_YD = 5
P_FZ_SHORT_TODAY = 6
P_FZ_SHORT_YD = 7
P_CASH = 8  # signed cash flow of fills, before fees
P_FEES = 9
P_MID = 10  # mid of the latest snapshot (NaN before the first)
P_N = 11
# Counters and small int state.
S_NF = 0  # fills so far (may exceed the fill table: overflow)
S_ORDERS = 1  # orders registered
S_CANCEL_REJECTS = 2
S_OVERFLOW = 3  # strategy commands dropped for want of room (rerun larger)
S_NLIVE = 4  # entries of the live list
S_NPEND = 5  # strategy commands in flight
S_SEQ = 6  # strategy commands sent so far (tie-break and draw counter)
S_WORK_BUY = 7  # the strategy's working buy order (-1: none)
S_WORK_SELL = 8
S_N = 9
# Strategy commands in flight (rows of the pending table).
PD_T = 0  # arrival time
PD_SEQ = 1
PD_K = 2  # order index
PD_CANCEL = 3  # 1: a cancel of order k, 0: order k itself
PD_N = 4
# Equity per snapshot.
E_GROSS = 0  # cash + position marked to mid, before fees
E_FEES = 1  # cumulative fees
E_POSITION = 2  # net position (lots)
E_MID = 3
E_N = 4

_INF = np.iinfo(np.int64).max
PEND_CAP = 4096
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


@njit(cache=True)
def _net(pos: np.ndarray) -> float:
    return pos[P_LONG_TODAY] + pos[P_LONG_YD] - pos[P_SHORT_TODAY] - pos[P_SHORT_YD]


@njit(cache=True)
def _level_qty(prices: np.ndarray, vols: np.ndarray, i: int, price: float, is_bid: bool, eps: float) -> float:
    """Displayed size at ``price`` on one side of snapshot ``i``: 0 inside or better than the
    visible range when absent, NaN beyond the last visible level."""
    best = prices[i, 0]
    if math.isnan(best):
        return 0.0
    if (is_bid and price > best + eps) or ((not is_bid) and price < best - eps):
        return 0.0
    last = best
    for lvl in range(prices.shape[1]):
        p = prices[i, lvl]
        if math.isnan(p):
            break
        if abs(p - price) < eps:
            return vols[i, lvl]
        last = p
    if is_bid:
        return 0.0 if price > last else math.nan
    return 0.0 if price < last else math.nan


@njit(cache=True)
def _splitmix(x: np.uint64) -> np.uint64:
    z = x + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


@njit(cache=True)
def stream_key(seed: int, stream: int) -> int:
    """A 63-bit key for latency stream ``stream`` of ``seed`` (both >= 0)."""
    return int(_splitmix(np.uint64(seed) * np.uint64(8) + np.uint64(stream)) >> np.uint64(1))


@njit(cache=True)
def draw(table: np.ndarray, key: int, counter: int) -> int:
    """One latency from ``table``: a pure function of ``(key, counter)`` (counter >= 0)."""
    if table.shape[0] == 1:
        return table[0]
    h = _splitmix(np.uint64(key) ^ _splitmix(np.uint64(counter)))
    return table[np.int64(h % np.uint64(table.shape[0]))]


@njit(cache=True)
def draw_many(table: np.ndarray, key: int, counters: np.ndarray) -> np.ndarray:
    """:func:`draw` for each counter."""
    out = np.empty(counters.shape[0], dtype=np.int64)
    for j in range(counters.shape[0]):
        out[j] = draw(table, key, counters[j])
    return out


@njit(cache=True)
def _unfreeze(side: int, offset: int, q: float, pos: np.ndarray) -> None:
    if offset == CLOSE:
        pos[P_FZ_SHORT_YD if side == BUY else P_FZ_LONG_YD] -= q
    elif offset == CLOSETODAY:
        pos[P_FZ_SHORT_TODAY if side == BUY else P_FZ_LONG_TODAY] -= q


@njit(cache=True)
def _fill(
    k: int,
    t: int,
    price: float,
    q: float,
    kind: int,
    o_i: np.ndarray,
    o_f: np.ndarray,
    f_i: np.ndarray,
    f_f: np.ndarray,
    nf: int,
    pos: np.ndarray,
    fee_lot: np.ndarray,
    fee_val: np.ndarray,
    mult: float,
) -> int:
    side = o_i[k, O_SIDE]
    off = o_i[k, O_OFFSET]
    fee = fee_lot[off] * q + fee_val[off] * price * q * mult
    if side == BUY:
        if off == OPEN:
            pos[P_LONG_TODAY] += q
        elif off == CLOSE:
            pos[P_SHORT_YD] -= q
            pos[P_FZ_SHORT_YD] -= q
        else:
            pos[P_SHORT_TODAY] -= q
            pos[P_FZ_SHORT_TODAY] -= q
    else:
        if off == OPEN:
            pos[P_SHORT_TODAY] += q
        elif off == CLOSE:
            pos[P_LONG_YD] -= q
            pos[P_FZ_LONG_YD] -= q
        else:
            pos[P_LONG_TODAY] -= q
            pos[P_FZ_LONG_TODAY] -= q
    pos[P_CASH] -= side * price * q * mult
    pos[P_FEES] += fee
    o_f[k, O_FILLED] += q
    if o_f[k, O_FILLED] >= o_f[k, O_QTY]:
        o_i[k, O_STATUS] = FILLED
        o_i[k, O_DONE_NS] = t
    if nf < f_i.shape[0]:
        f_i[nf, F_TIME_NS] = t
        f_i[nf, F_ORDER] = k
        f_i[nf, F_SIDE] = side
        f_i[nf, F_KIND] = kind
        f_i[nf, F_OFFSET] = off
        f_f[nf, F_PRICE] = price
        f_f[nf, F_QTY] = q
        f_f[nf, F_FEE] = fee
    return nf + 1


@njit(cache=True)
def _cancel(k: int, t: int, o_i: np.ndarray, o_f: np.ndarray, pos: np.ndarray) -> int:
    """Cancel live order ``k`` at ``t`` (its unfilled lots unfrozen); 1 when it was no longer
    live (the cancel is rejected), else 0."""
    if o_i[k, O_STATUS] != LIVE:
        return 1
    o_i[k, O_STATUS] = CANCELLED
    o_i[k, O_DONE_NS] = t
    _unfreeze(o_i[k, O_SIDE], o_i[k, O_OFFSET], o_f[k, O_QTY] - o_f[k, O_FILLED], pos)
    return 0


@njit(cache=True)
def _available(side: int, off: int, pos: np.ndarray) -> float:
    if side == BUY:
        if off == CLOSE:
            return pos[P_SHORT_YD] - pos[P_FZ_SHORT_YD]
        return pos[P_SHORT_TODAY] - pos[P_FZ_SHORT_TODAY]
    if off == CLOSE:
        return pos[P_LONG_YD] - pos[P_FZ_LONG_YD]
    return pos[P_LONG_TODAY] - pos[P_FZ_LONG_TODAY]


@njit(cache=True)
def _arrive_order(
    k: int,
    ta: int,
    cur: int,
    bid_p: np.ndarray,
    bid_v: np.ndarray,
    ask_p: np.ndarray,
    ask_v: np.ndarray,
    used_bid: np.ndarray,
    used_ask: np.ndarray,
    consume: bool,
    eps: float,
    o_i: np.ndarray,
    o_f: np.ndarray,
    f_i: np.ndarray,
    f_f: np.ndarray,
    nf: int,
    pos: np.ndarray,
    fee_lot: np.ndarray,
    fee_val: np.ndarray,
    mult: float,
) -> int:
    """An order reaches the book: resolve its offset, take liquidity, rest or cancel the rest."""
    side = o_i[k, O_SIDE]
    qty = o_f[k, O_QTY]
    if cur < 0:
        o_i[k, O_STATUS] = REJECTED
        o_i[k, O_DONE_NS] = ta
        return nf
    off = o_i[k, O_OFFSET]
    if off == AUTO:
        if _available(side, CLOSETODAY, pos) >= qty:
            off = CLOSETODAY
        elif _available(side, CLOSE, pos) >= qty:
            off = CLOSE
        else:
            off = OPEN
        o_i[k, O_OFFSET] = off
    if off != OPEN:
        if _available(side, off, pos) < qty:
            o_i[k, O_STATUS] = REJECTED
            o_i[k, O_DONE_NS] = ta
            return nf
        if off == CLOSE:
            pos[P_FZ_SHORT_YD if side == BUY else P_FZ_LONG_YD] += qty
        else:
            pos[P_FZ_SHORT_TODAY if side == BUY else P_FZ_LONG_TODAY] += qty
    o_i[k, O_STATUS] = LIVE
    o_i[k, O_ARRIVE_NS] = ta
    limit = o_f[k, O_PRICE]
    opp_p = ask_p if side == BUY else bid_p
    opp_v = ask_v if side == BUY else bid_v
    used = used_ask if side == BUY else used_bid
    kind = o_i[k, O_KIND]
    if kind == FOK:
        total = 0.0
        for lvl in range(opp_p.shape[1]):
            p = opp_p[cur, lvl]
            if math.isnan(p) or (side == BUY and p > limit + eps) or (side != BUY and p < limit - eps):
                break
            total += max(opp_v[cur, lvl] - (used[lvl] if consume else 0.0), 0.0)
        if total < qty:
            o_i[k, O_STATUS] = CANCELLED
            o_i[k, O_DONE_NS] = ta
            _unfreeze(side, off, qty, pos)
            return nf
    for lvl in range(opp_p.shape[1]):
        rem = qty - o_f[k, O_FILLED]
        if rem <= 0.0:
            break
        p = opp_p[cur, lvl]
        if math.isnan(p) or (side == BUY and p > limit + eps) or (side != BUY and p < limit - eps):
            break
        avail = max(opp_v[cur, lvl] - (used[lvl] if consume else 0.0), 0.0)
        take = min(rem, math.floor(avail + 1e-9))
        if take > 0.0:
            nf = _fill(k, ta, p, take, FILL_AGGRESSIVE, o_i, o_f, f_i, f_f, nf, pos, fee_lot, fee_val, mult)
            used[lvl] += take
    rem = qty - o_f[k, O_FILLED]
    if rem <= 0.0:
        return nf
    if kind != LIMIT:
        o_i[k, O_STATUS] = CANCELLED
        o_i[k, O_DONE_NS] = ta
        _unfreeze(side, off, rem, pos)
        return nf
    own_p = bid_p if side == BUY else ask_p
    own_v = bid_v if side == BUY else ask_v
    shown = _level_qty(own_p, own_v, cur, limit, side == BUY, eps)
    o_f[k, O_LEVEL_PREV] = shown
    o_f[k, O_AHEAD] = np.inf if math.isnan(shown) else shown
    return nf


@njit(cache=True)
def replay_kernel(
    t: np.ndarray,
    bid_p: np.ndarray,
    bid_v: np.ndarray,
    ask_p: np.ndarray,
    ask_v: np.ndarray,
    volume: np.ndarray,
    amount: np.ndarray,
    day_start: np.ndarray,
    start: int,
    tick: float,
    mult: float,
    fee_lot: np.ndarray,
    fee_val: np.ndarray,
    queue_model: int,
    queue_power: float,
    consume: bool,
    c_arrive: np.ndarray,
    c_kind: np.ndarray,
    c_order: np.ndarray,
    drain: bool,
    strategy: bool,
    quote_qty: float,
    max_pos: float,
    decide_ns: np.ndarray,
    entry_table: np.ndarray,
    cancel_table: np.ndarray,
    entry_key: int,
    cancel_key: int,
    o_i: np.ndarray,
    o_f: np.ndarray,
    f_i: np.ndarray,
    f_f: np.ndarray,
    pos: np.ndarray,
    st: np.ndarray,
    used: np.ndarray,
    live: np.ndarray,
    pend: np.ndarray,
    equity: np.ndarray,
) -> None:
    """Advance the replay state over one chunk: snapshots ``start..n-1`` of the given arrays and
    the external commands ``c_*`` (sorted by arrival; their orders already registered in
    ``o_i`` / ``o_f``), and/or the re-quoting strategy, which decides on snapshot ``i`` at
    ``decide_ns[i]`` (its time plus the feed latency).

    Rows before ``start`` are already replayed: row ``start - 1`` is the current book (the
    stepper passes the last snapshot it replayed as row 0). With ``drain`` false the chunk ends
    right after its last snapshot, so every command given must arrive before that snapshot;
    with ``drain`` true every remaining command is replayed and the last equity row updated.
    Equity rows ``start..n-1`` are written. ``st[S_OVERFLOW] > 0`` or ``st[S_NF] > len(f_i)``
    means a capacity was too small (rerun larger).
    """
    n = t.shape[0]
    m = c_arrive.shape[0]
    eps = tick * 1e-3
    order_cap = o_i.shape[0]
    used_bid = used[0]
    used_ask = used[1]
    p_t = pend[PD_T]
    p_seq = pend[PD_SEQ]
    p_k = pend[PD_K]
    p_cancel = pend[PD_CANCEL]
    nf = st[S_NF]
    n_orders = st[S_ORDERS]
    cancel_rejects = st[S_CANCEL_REJECTS]
    overflow = st[S_OVERFLOW]
    n_live = st[S_NLIVE]
    n_pend = st[S_NPEND]
    seq = st[S_SEQ]
    work_buy = st[S_WORK_BUY]
    work_sell = st[S_WORK_SELL]
    mid = pos[P_MID]
    i_snap = start
    i_dec = start
    i_cmd = 0
    cur = start - 1
    while True:
        ts = t[i_snap] if i_snap < n else _INF
        if ts == _INF and not drain:
            break
        tc = c_arrive[i_cmd] if i_cmd < m else _INF
        tp = _INF
        jp = -1
        for q in range(n_pend):
            if p_t[q] < tp or (p_t[q] == tp and p_seq[q] < p_seq[jp]):
                tp = p_t[q]
                jp = q
        td = decide_ns[i_dec] if (strategy and i_dec < i_snap) else _INF
        if ts == _INF and tc == _INF and tp == _INF and td == _INF:
            break
        if ts <= tc and ts <= tp and ts <= td:
            i = i_snap
            i_snap += 1
            lo = 0.0
            q_lo = 0.0
            hi = 0.0
            q_hi = 0.0
            first = cur < 0
            if cur >= 0 and day_start[i]:
                for z in range(n_live):
                    k = live[z]
                    _cancel(k, ts, o_i, o_f, pos)  # day orders expire (no reject counted)
                n_live = 0
                pos[P_LONG_YD] += pos[P_LONG_TODAY]
                pos[P_LONG_TODAY] = 0.0
                pos[P_SHORT_YD] += pos[P_SHORT_TODAY]
                pos[P_SHORT_TODAY] = 0.0
            elif cur >= 0:
                dv = volume[i] - volume[cur]
                da = amount[i] - amount[cur]
                if dv > 0.0 and da > 0.0:
                    lo, q_lo, hi, q_hi = split_vwap(dv, da / (dv * mult), tick)
            used_bid[:] = 0.0
            used_ask[:] = 0.0
            keep = 0
            for z in range(n_live):
                k = live[z]
                if o_i[k, O_STATUS] != LIVE:
                    continue
                side = o_i[k, O_SIDE]
                price = o_f[k, O_PRICE]
                rem = o_f[k, O_QTY] - o_f[k, O_FILLED]
                if side == BUY:
                    crossed = (ask_p[i, 0] <= price + eps) or (q_lo > 0.0 and lo < price - eps)
                else:
                    crossed = (
                        (bid_p[i, 0] >= price - eps)
                        or (q_hi > 0.0 and hi > price + eps)
                        or (q_lo > 0.0 and lo > price + eps)
                    )
                if crossed:
                    nf = _fill(k, ts, price, rem, FILL_CROSS, o_i, o_f, f_i, f_f, nf, pos, fee_lot, fee_val, mult)
                    continue
                at_p = 0.0
                if q_lo > 0.0 and abs(lo - price) < eps:
                    at_p += q_lo
                if q_hi > 0.0 and abs(hi - price) < eps:
                    at_p += q_hi
                if side == BUY:
                    shown = _level_qty(bid_p, bid_v, i, price, True, eps)
                else:
                    shown = _level_qty(ask_p, ask_v, i, price, False, eps)
                ahead = o_f[k, O_AHEAD]
                if ahead == np.inf:
                    if not math.isnan(shown):
                        o_f[k, O_AHEAD] = shown
                    o_f[k, O_LEVEL_PREV] = shown
                    live[keep] = k
                    keep += 1
                    continue
                a = advance_queue(queue_model, queue_power, ahead, o_f[k, O_LEVEL_PREV], shown, at_p)
                if a < 0.0:
                    take = min(rem, math.floor(-a + 1e-9))
                    if take > 0.0:
                        nf = _fill(k, ts, price, take, FILL_QUEUE, o_i, o_f, f_i, f_f, nf, pos, fee_lot, fee_val, mult)
                        a += take
                o_f[k, O_AHEAD] = a
                o_f[k, O_LEVEL_PREV] = shown
                if o_i[k, O_STATUS] == LIVE:
                    live[keep] = k
                    keep += 1
            n_live = keep
            cur = i
            b = bid_p[i, 0]
            s = ask_p[i, 0]
            if not math.isnan(b) and not math.isnan(s):
                mid = 0.5 * (b + s)
            elif not math.isnan(b):
                mid = b
            elif not math.isnan(s):
                mid = s
            net = _net(pos)
            if first and net != 0.0:
                # a carried position enters at the first mid: PnL counts from the first snapshot
                pos[P_CASH] -= net * mid * mult
            equity[i, E_GROSS] = pos[P_CASH] + (net * mid * mult if net != 0.0 else 0.0)
            equity[i, E_FEES] = pos[P_FEES]
            equity[i, E_POSITION] = net
            equity[i, E_MID] = mid
            continue
        if tc <= tp and tc <= td:
            j = i_cmd
            i_cmd += 1
            k = c_order[j]
            if c_kind[j] == CANCEL:
                cancel_rejects += _cancel(k, tc, o_i, o_f, pos)
                continue
            nf = _arrive_order(
                k, tc, cur, bid_p, bid_v, ask_p, ask_v, used_bid, used_ask, consume, eps,
                o_i, o_f, f_i, f_f, nf, pos, fee_lot, fee_val, mult,
            )  # fmt: skip
            if o_i[k, O_STATUS] == LIVE:
                live[n_live] = k
                n_live += 1
            continue
        if tp <= td:
            k = p_k[jp]
            is_cancel = p_cancel[jp] != 0
            n_pend -= 1
            p_t[jp] = p_t[n_pend]
            p_seq[jp] = p_seq[n_pend]
            p_cancel[jp] = p_cancel[n_pend]
            p_k[jp] = p_k[n_pend]
            if is_cancel:
                cancel_rejects += _cancel(k, tp, o_i, o_f, pos)
                continue
            nf = _arrive_order(
                k, tp, cur, bid_p, bid_v, ask_p, ask_v, used_bid, used_ask, consume, eps,
                o_i, o_f, f_i, f_f, nf, pos, fee_lot, fee_val, mult,
            )  # fmt: skip
            if o_i[k, O_STATUS] == LIVE:
                live[n_live] = k
                n_live += 1
            continue
        # strategy decision on snapshot i_dec, seen feed_ns after it
        i = i_dec
        i_dec += 1
        net = _net(pos)
        for w_side in range(2):
            side = BUY if w_side == 0 else -BUY
            w = work_buy if w_side == 0 else work_sell
            if w >= 0 and o_i[w, O_STATUS] >= FILLED:
                w = -1
            price = bid_p[i, 0] if side == BUY else ask_p[i, 0]
            allowed = (not math.isnan(price)) and ((net < max_pos) if side == BUY else (net > -max_pos))
            if w >= 0 and allowed and abs(price - o_f[w, O_PRICE]) < eps:
                continue
            if n_pend + 2 > p_t.shape[0] or n_orders >= order_cap:
                overflow += 1
                continue
            if w >= 0:
                arr = td + draw(cancel_table, cancel_key, seq)
                if arr < o_i[w, O_ARRIVE_NS]:
                    arr = o_i[w, O_ARRIVE_NS]
                o_i[w, O_CANCEL_SEND_NS] = td
                p_t[n_pend] = arr
                p_seq[n_pend] = seq
                p_cancel[n_pend] = 1
                p_k[n_pend] = w
                n_pend += 1
                seq += 1
                w = -1
            if allowed:
                k = n_orders
                n_orders += 1
                o_i[k, O_SIDE] = side
                o_i[k, O_KIND] = LIMIT
                o_i[k, O_OFFSET] = AUTO
                o_i[k, O_STATUS] = PENDING
                o_i[k, O_SEND_NS] = td
                o_i[k, O_ARRIVE_NS] = td + draw(entry_table, entry_key, seq)
                o_f[k, O_PRICE] = price
                o_f[k, O_QTY] = quote_qty
                o_f[k, O_AHEAD] = np.inf
                o_f[k, O_LEVEL_PREV] = np.nan
                p_t[n_pend] = o_i[k, O_ARRIVE_NS]
                p_seq[n_pend] = seq
                p_cancel[n_pend] = 0
                p_k[n_pend] = k
                n_pend += 1
                seq += 1
                w = k
            if w_side == 0:
                work_buy = w
            else:
                work_sell = w
    if n > 0 and drain:
        net = _net(pos)
        equity[n - 1, E_GROSS] = pos[P_CASH] + (net * mid * mult if net != 0.0 else 0.0)
        equity[n - 1, E_FEES] = pos[P_FEES]
        equity[n - 1, E_POSITION] = net
    pos[P_MID] = mid
    st[S_NF] = nf
    st[S_ORDERS] = n_orders
    st[S_CANCEL_REJECTS] = cancel_rejects
    st[S_OVERFLOW] = overflow
    st[S_NLIVE] = n_live
    st[S_NPEND] = n_pend
    st[S_SEQ] = seq
    st[S_WORK_BUY] = work_buy
    st[S_WORK_SELL] = work_sell
