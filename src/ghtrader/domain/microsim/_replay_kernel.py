"""The event-driven replay kernel of the micro-simulator (rules documented in simulator.py).

State lives in a few preallocated arrays whose column layouts are the ``O_*`` (orders),
``F_*`` (fills), ``P_*`` (positions and cash) and ``E_*`` (equity) constants below. Events at
one timestamp run in the order: snapshot, external command, strategy command, strategy decision.
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
P_N = 10
# Equity per snapshot.
E_GROSS = 0  # cash + position marked to mid, before fees
E_FEES = 1  # cumulative fees
E_POSITION = 2  # net position (lots)
E_MID = 3
E_N = 4

_INF = np.iinfo(np.int64).max
_PEND_CAP = 4096


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
def _draw(table: np.ndarray) -> int:
    if table.shape[0] == 1:
        return table[0]
    return table[np.random.randint(0, table.shape[0])]


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
    tick: float,
    mult: float,
    fee_lot: np.ndarray,
    fee_val: np.ndarray,
    queue_model: int,
    queue_power: float,
    consume: bool,
    c_arrive: np.ndarray,
    c_send: np.ndarray,
    c_kind: np.ndarray,
    c_side: np.ndarray,
    c_price: np.ndarray,
    c_qty: np.ndarray,
    c_order: np.ndarray,
    c_offset: np.ndarray,
    n_ext_orders: int,
    strategy: bool,
    quote_qty: float,
    max_pos: float,
    decide_ns: np.ndarray,
    entry_table: np.ndarray,
    cancel_table: np.ndarray,
    seed: int,
    order_cap: int,
    fill_cap: int,
    init_long_yd: float,
    init_short_yd: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Replay snapshots with external commands (sorted by arrival) and/or the re-quoting strategy,
    which decides on snapshot ``i`` at ``decide_ns[i]`` (its time plus the feed latency).

    Returns ``(o_i, o_f, f_i, f_f, equity, pos, counts)`` with ``counts = [orders, fills,
    rejected cancels, overflow]``; ``overflow`` > 0 means a capacity was too small (rerun larger).
    """
    np.random.seed(seed)
    n = t.shape[0]
    m = c_arrive.shape[0]
    eps = tick * 1e-3
    o_i = np.full((order_cap, O_NI), -1, dtype=np.int64)
    o_f = np.zeros((order_cap, O_NF))
    f_i = np.zeros((fill_cap, F_NI), dtype=np.int64)
    f_f = np.zeros((fill_cap, F_NF))
    equity = np.zeros((n, E_N))
    pos = np.zeros(P_N)
    pos[P_LONG_YD] = init_long_yd
    pos[P_SHORT_YD] = init_short_yd
    counts = np.zeros(4, dtype=np.int64)
    used_bid = np.zeros(bid_p.shape[1])
    used_ask = np.zeros(ask_p.shape[1])
    live = np.empty(order_cap, dtype=np.int64)
    n_live = 0
    nf = 0
    n_orders = n_ext_orders
    cancel_rejects = 0
    overflow = 0
    for j in range(m):
        k = c_order[j]
        if c_kind[j] == CANCEL:
            o_i[k, O_CANCEL_SEND_NS] = c_send[j]
            continue
        o_i[k, O_SIDE] = c_side[j]
        o_i[k, O_KIND] = c_kind[j]
        o_i[k, O_OFFSET] = c_offset[j]
        o_i[k, O_STATUS] = PENDING
        o_i[k, O_SEND_NS] = c_send[j]
        o_i[k, O_ARRIVE_NS] = c_arrive[j]
        o_f[k, O_PRICE] = c_price[j]
        o_f[k, O_QTY] = c_qty[j]
        o_f[k, O_AHEAD] = np.inf
        o_f[k, O_LEVEL_PREV] = np.nan
    # strategy-generated commands waiting for their arrival time
    p_t = np.empty(_PEND_CAP, dtype=np.int64)
    p_seq = np.empty(_PEND_CAP, dtype=np.int64)
    p_cancel = np.empty(_PEND_CAP, dtype=np.bool_)
    p_k = np.empty(_PEND_CAP, dtype=np.int64)
    n_pend = 0
    seq = 0
    work = np.full(2, -1, dtype=np.int64)  # strategy's working order: [buy, sell]
    i_snap = 0
    i_dec = 0
    i_cmd = 0
    cur = -1
    mid = math.nan
    while True:
        ts = t[i_snap] if i_snap < n else _INF
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
            if cur == i and i_snap == 1 and net != 0.0:
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
            is_cancel = p_cancel[jp]
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
            w = work[w_side]
            if w >= 0 and o_i[w, O_STATUS] >= FILLED:
                w = -1
            price = bid_p[i, 0] if side == BUY else ask_p[i, 0]
            allowed = (not math.isnan(price)) and ((net < max_pos) if side == BUY else (net > -max_pos))
            if w >= 0 and allowed and abs(price - o_f[w, O_PRICE]) < eps:
                continue
            if n_pend + 2 > _PEND_CAP or n_orders >= order_cap:
                overflow += 1
                continue
            if w >= 0:
                arr = td + _draw(cancel_table)
                if arr < o_i[w, O_ARRIVE_NS]:
                    arr = o_i[w, O_ARRIVE_NS]
                o_i[w, O_CANCEL_SEND_NS] = td
                p_t[n_pend] = arr
                p_seq[n_pend] = seq
                p_cancel[n_pend] = True
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
                o_i[k, O_ARRIVE_NS] = td + _draw(entry_table)
                o_f[k, O_PRICE] = price
                o_f[k, O_QTY] = quote_qty
                o_f[k, O_AHEAD] = np.inf
                o_f[k, O_LEVEL_PREV] = np.nan
                p_t[n_pend] = o_i[k, O_ARRIVE_NS]
                p_seq[n_pend] = seq
                p_cancel[n_pend] = False
                p_k[n_pend] = k
                n_pend += 1
                seq += 1
                w = k
            work[w_side] = w
    if n > 0:
        net = _net(pos)
        equity[n - 1, E_GROSS] = pos[P_CASH] + (net * mid * mult if net != 0.0 else 0.0)
        equity[n - 1, E_FEES] = pos[P_FEES]
        equity[n - 1, E_POSITION] = net
    counts[0] = n_orders
    counts[1] = nf
    counts[2] = cancel_rejects
    counts[3] = overflow + (1 if nf > fill_cap else 0)
    return o_i, o_f, f_i, f_f, equity, pos, counts
