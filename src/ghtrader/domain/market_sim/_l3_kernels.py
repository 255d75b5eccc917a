"""Numba kernels of the order-level (L3) book: FIFO queues, matching, the event loop, fill truth.

State layout (all integer prices are tick indices ``0 <= px < L`` into a fixed window):

* ``orders`` int64 ``(cap, 6)``: qty, side (0 bid, 1 ask), px, prev, next, position in ``live``;
  an order's row index is its id and its FIFO sequence number (ids grow with time).
* ``lv`` int64 ``(3, 2, L)``: per side and price, the queue's head id, tail id (-1 when empty)
  and total resting quantity.
* ``live`` int64 ``(2, cap)`` and ``cnt`` int64: dense lists of live order ids per side (uniform
  cancel draws in O(1)); ``cnt`` = [orders created, live bids, live asks, best bid (-1 none),
  best ask (L none), executions logged, quote changes logged, overflow flag, events applied].
* ``ex_t`` float64 / ``ex`` int64 ``(cap, 4)``: execution log (time; px, resting id, qty,
  aggressor side).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

QTY, SIDE, PX, PREV, NEXT, LPOS = 0, 1, 2, 3, 4, 5
HEAD, TAIL, LQTY = 0, 1, 2
N_ORD, N_LB, N_LA, BEST_B, BEST_A, N_EX, N_Q, OVERFLOW, N_EVENTS = 0, 1, 2, 3, 4, 5, 6, 7, 8
N_CNT = 9

Arr = np.ndarray

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


@njit(cache=True)
def rand_u(state: np.ndarray) -> float:
    """Uniform in (0, 1) from a splitmix64 stream held in ``state[0]``."""
    s = state[0] + _GOLDEN
    state[0] = s
    z = (s ^ (s >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    z = z ^ (z >> np.uint64(31))
    return (float(z >> np.uint64(11)) + 0.5) * (1.0 / 9007199254740992.0)


@njit(cache=True)
def rand_geom(state: np.ndarray, mean: float) -> int:
    """Geometric lot count on {1, 2, ...} with the given mean (>= 1)."""
    if mean <= 1.0:
        return 1
    return 1 + int(math.floor(math.log(rand_u(state)) / math.log(1.0 - 1.0 / mean)))


@njit(cache=True)
def new_state(cap: int, n_levels: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    orders = np.zeros((cap, 6), dtype=np.int64)
    o_t = np.zeros(cap, dtype=np.float64)
    lv = np.zeros((3, 2, n_levels), dtype=np.int64)
    lv[HEAD] = -1
    lv[TAIL] = -1
    live = np.zeros((2, cap), dtype=np.int64)
    cnt = np.zeros(N_CNT, dtype=np.int64)
    cnt[BEST_B] = -1
    cnt[BEST_A] = n_levels
    return orders, o_t, lv, live, cnt


@njit(cache=True)
def _rescan_best(side: int, lv: np.ndarray, cnt: np.ndarray) -> None:
    n_levels = lv.shape[2]
    if side == 0:
        i = cnt[BEST_B]
        while i >= 0 and lv[LQTY, 0, i] == 0:
            i -= 1
        cnt[BEST_B] = i
    else:
        i = cnt[BEST_A]
        while i < n_levels and lv[LQTY, 1, i] == 0:
            i += 1
        cnt[BEST_A] = i


@njit(cache=True)
def book_add(side: int, px: int, qty: int, t: float, orders: Arr, o_t: Arr, lv: Arr, live: Arr, cnt: Arr) -> int:
    """Rest a new order at the back of its price's queue (no crossing check); its id, -1 if full."""
    oid = cnt[N_ORD]
    if oid >= orders.shape[0]:
        cnt[OVERFLOW] = 1
        return -1
    cnt[N_ORD] = oid + 1
    tail = lv[TAIL, side, px]
    orders[oid, QTY] = qty
    orders[oid, SIDE] = side
    orders[oid, PX] = px
    orders[oid, PREV] = tail
    orders[oid, NEXT] = -1
    if tail >= 0:
        orders[tail, NEXT] = oid
    else:
        lv[HEAD, side, px] = oid
    lv[TAIL, side, px] = oid
    lv[LQTY, side, px] += qty
    k = N_LB + side
    orders[oid, LPOS] = cnt[k]
    live[side, cnt[k]] = oid
    cnt[k] += 1
    o_t[oid] = t
    if side == 0 and px > cnt[BEST_B]:
        cnt[BEST_B] = px
    if side == 1 and px < cnt[BEST_A]:
        cnt[BEST_A] = px
    return oid


@njit(cache=True)
def book_remove(oid: int, orders: Arr, lv: Arr, live: Arr, cnt: Arr) -> None:
    """Take a live order out of its queue (cancel, or after it is fully filled)."""
    side = orders[oid, SIDE]
    px = orders[oid, PX]
    prev = orders[oid, PREV]
    nxt = orders[oid, NEXT]
    if prev >= 0:
        orders[prev, NEXT] = nxt
    else:
        lv[HEAD, side, px] = nxt
    if nxt >= 0:
        orders[nxt, PREV] = prev
    else:
        lv[TAIL, side, px] = prev
    lv[LQTY, side, px] -= orders[oid, QTY]
    k = N_LB + side
    pos = orders[oid, LPOS]
    last = live[side, cnt[k] - 1]
    live[side, pos] = last
    orders[last, LPOS] = pos
    cnt[k] -= 1
    orders[oid, QTY] = 0
    orders[oid, LPOS] = -1
    if lv[LQTY, side, px] == 0 and px == cnt[BEST_B + side]:
        _rescan_best(side, lv, cnt)


@njit(cache=True)
def book_match(
    aggr: int, limit_px: int, qty: int, t: float, orders: Arr, lv: Arr, live: Arr, cnt: Arr, ex_t: Arr, ex: Arr
) -> int:
    """Execute an aggressor of side ``aggr`` against the opposite queues, oldest order first,
    best price first, up to ``limit_px``; logs every execution; returns the unfilled quantity."""
    opp = 1 - aggr
    n_levels = lv.shape[2]
    while qty > 0:
        b = cnt[BEST_B + opp]
        if opp == 1:
            if b >= n_levels or b > limit_px:
                break
        elif b < 0 or b < limit_px:
            break
        oid = lv[HEAD, opp, b]
        take = min(qty, orders[oid, QTY])
        n = cnt[N_EX]
        if n < ex.shape[0]:
            ex_t[n] = t
            ex[n, 0] = b
            ex[n, 1] = oid
            ex[n, 2] = take
            ex[n, 3] = aggr
            cnt[N_EX] = n + 1
        else:
            cnt[OVERFLOW] = 1
        orders[oid, QTY] -= take
        lv[LQTY, opp, b] -= take
        qty -= take
        if orders[oid, QTY] == 0:
            book_remove(oid, orders, lv, live, cnt)
    return qty


@njit(cache=True)
def book_limit(
    side: int, px: int, qty: int, t: float, orders: Arr, o_t: Arr, lv: Arr, live: Arr, cnt: Arr, ex_t: Arr, ex: Arr
) -> int:
    """A limit order: the marketable part executes, the rest rests; the resting id or -1."""
    rest = book_match(side, px, qty, t, orders, lv, live, cnt, ex_t, ex)
    if rest > 0:
        return book_add(side, px, rest, t, orders, o_t, lv, live, cnt)
    return -1


@njit(cache=True)
def _log_quote(t: float, cnt: Arr, q_t: Arr, q: Arr) -> None:
    n = cnt[N_Q]
    if n > 0 and q[n - 1, 0] == cnt[BEST_B] and q[n - 1, 1] == cnt[BEST_A]:
        return
    if n >= q.shape[0]:
        cnt[OVERFLOW] = 1
        return
    q_t[n] = t
    q[n, 0] = cnt[BEST_B]
    q[n, 1] = cnt[BEST_A]
    cnt[N_Q] = n + 1


# fp indices (float parameters)
F_LAM0, F_KAPPA, F_THETA, F_MU, F_BETA, F_GAMMA, F_ALPHA, F_DECAY = 0, 1, 2, 3, 4, 5, 6, 7
F_LIM_SIZE, F_MKT_SIZE, F_SLOT_S, F_TICK, F_MULT, F_OI, F_CAN_BETA = 8, 9, 10, 11, 12, 13, 14
# ip indices (integer parameters)
I_DEPTH, I_SWEEP, I_CENTER, I_BASE, I_INIT_LEVELS, I_SHOCK_SWEEP = 0, 1, 2, 3, 4, 5
# slot columns: imbalance f, limit-arrival multiplier, cancel multiplier, shock sell rate, shock size
S_F, S_LIM, S_CAN, S_SHOCK, S_SHOCK_SIZE = 0, 1, 2, 3, 4


@njit(cache=True)
def ar1_path(eps: Arr, mean: float, phi: float, sigma: float) -> Arr:
    """``x_0 = sigma eps_0``, ``x_i = phi x_(i-1) + sigma sqrt(1 - phi^2) eps_i``; returns ``mean + x``."""
    out = np.empty(eps.shape[0])
    sd = sigma * math.sqrt(1.0 - phi * phi)
    x = 0.0
    for i in range(eps.shape[0]):
        x = sigma * eps[i] if i == 0 else phi * x + sd * eps[i]
        out[i] = mean + x
    return out


@njit(cache=True)
def _poisson(state: np.ndarray, mean: float) -> int:
    limit = math.exp(-mean)
    k = 0
    p = rand_u(state)
    while p > limit:
        k += 1
        p *= rand_u(state)
    return k


@njit(cache=True)
def _inject(
    j: int, inj_side: Arr, inj_px: Arr, inj_seq: Arr, inj_ahead: Arr, inj_bid: Arr, inj_ask: Arr, lv: Arr, cnt: Arr
) -> None:
    inj_seq[j] = cnt[N_ORD]
    inj_ahead[j] = lv[LQTY, inj_side[j], inj_px[j]]
    inj_bid[j] = cnt[BEST_B]
    inj_ask[j] = cnt[BEST_A]


@njit(cache=True)
def simulate_kernel(
    fp: Arr, ip: Arr, slots: Arr, seed: np.uint64, inj_t: Arr, inj_side: Arr, inj_px: Arr,
    orders: Arr, o_t: Arr, lv: Arr, live: Arr, cnt: Arr, ex_t: Arr, ex: Arr, q_t: Arr, q: Arr,
    snap: Arr, inj_seq: Arr, inj_ahead: Arr, inj_bid: Arr, inj_ask: Arr,
) -> None:  # fmt: skip
    """Run the event loop over ``len(slots)`` slots of ``fp[F_SLOT_S]`` seconds.

    Ogata thinning: between events only the Hawkes excitations change and they only decay, so the
    total rate at the last event bounds the rate until the next one; slot-level inputs (order-flow
    state, stress multipliers) are constant inside a slot. ``snap`` (n_slots, 27) receives the
    market fields of TICK_DTYPE at each slot's end. Injected orders (sorted by time) get their
    FIFO sequence number, the quantity ahead and the best prices at their time.
    """
    rng = np.empty(1, dtype=np.uint64)
    rng[0] = np.uint64(seed)
    n_levels = lv.shape[2]
    depth = ip[I_DEPTH]
    weights = np.empty(depth)
    for d in range(depth):
        weights[d] = math.exp(-fp[F_KAPPA] * d)
    w_sum = weights.sum()
    cum_w = np.cumsum(weights) / w_sum
    lam0, theta, mu = fp[F_LAM0], fp[F_THETA], fp[F_MU]
    tick, mult = fp[F_TICK], fp[F_MULT]
    base = ip[I_BASE]
    center = ip[I_CENTER]
    # initial book: expected queue sizes lam0 * w_d / theta orders, bid1 = center, ask1 = center + 1
    for d in range(ip[I_INIT_LEVELS]):
        w = weights[d] if d < depth else 0.0
        for side in range(2):
            px = center - d if side == 0 else center + 1 + d
            n = _poisson(rng, lam0 * w / theta)
            for _ in range(n):
                book_add(side, px, rand_geom(rng, fp[F_LIM_SIZE]), 0.0, orders, o_t, lv, live, cnt)
    _log_quote(0.0, cnt, q_t, q)
    open_px = (center + base + 0.5) * tick
    last_px = open_px
    hi = -np.inf
    lo = np.inf
    vol = 0.0
    amt = 0.0
    exc = np.zeros(2)
    t = 0.0
    j = 0
    n_inj = inj_t.shape[0]
    slot_s = fp[F_SLOT_S]
    for k in range(slots.shape[0]):
        t_end = (k + 1) * slot_s
        f = slots[k, S_F]
        lim_b = lam0 * w_sum * max(1.0 + fp[F_GAMMA] * f, 0.0) * slots[k, S_LIM]
        lim_a = lam0 * w_sum * max(1.0 - fp[F_GAMMA] * f, 0.0) * slots[k, S_LIM]
        mkt_b = mu * max(1.0 + fp[F_BETA] * f, 0.0)
        mkt_s = mu * max(1.0 - fp[F_BETA] * f, 0.0)
        shock = slots[k, S_SHOCK]
        # pressure toward one side thins the queues it is about to hit
        can_b = theta * slots[k, S_CAN] * max(1.0 - fp[F_CAN_BETA] * f, 0.0)
        can_a = theta * slots[k, S_CAN] * max(1.0 + fp[F_CAN_BETA] * f, 0.0)
        n_ex0 = cnt[N_EX]
        while True:
            lam_bar = lim_b + lim_a + can_b * cnt[N_LB] + can_a * cnt[N_LA] + mkt_b + mkt_s + exc[0] + exc[1] + shock
            dt = -math.log(rand_u(rng)) / lam_bar if lam_bar > 0 else np.inf
            if t + dt >= t_end:
                exc *= math.exp(-fp[F_DECAY] * (t_end - t))
                t = t_end
                while j < n_inj and inj_t[j] < t:
                    _inject(j, inj_side, inj_px, inj_seq, inj_ahead, inj_bid, inj_ask, lv, cnt)
                    j += 1
                break
            exc *= math.exp(-fp[F_DECAY] * dt)
            t += dt
            while j < n_inj and inj_t[j] < t:
                _inject(j, inj_side, inj_px, inj_seq, inj_ahead, inj_bid, inj_ask, lv, cnt)
                j += 1
            cb = can_b * cnt[N_LB]
            ca = can_a * cnt[N_LA]
            u = rand_u(rng) * lam_bar
            if u < lim_b + lim_a:
                side = 0 if u < lim_b else 1
                ud = rand_u(rng)
                d = 0
                while d < depth - 1 and cum_w[d] < ud:
                    d += 1
                bb, ba = cnt[BEST_B], cnt[BEST_A]
                if side == 0:
                    ref = ba if ba < n_levels else (bb + 1 if bb >= 0 else center + 1)
                    px = ref - 1 - d
                else:
                    ref = bb if bb >= 0 else (ba - 1 if ba < n_levels else center)
                    px = ref + 1 + d
                if 0 <= px < n_levels:
                    book_limit(side, px, rand_geom(rng, fp[F_LIM_SIZE]), t, orders, o_t, lv, live, cnt, ex_t, ex)
            elif u < lim_b + lim_a + cb + ca:
                side = 0 if u < lim_b + lim_a + cb else 1
                nl = cnt[N_LB + side]
                if nl > 0:
                    pick = min(int(rand_u(rng) * nl), nl - 1)
                    book_remove(live[side, pick], orders, lv, live, cnt)
            else:
                u -= lim_b + lim_a + cb + ca
                r_b = mkt_b + exc[0]
                r_s = mkt_s + exc[1]
                if u < r_b:
                    side, size, sweep = 0, rand_geom(rng, fp[F_MKT_SIZE]), ip[I_SWEEP]
                elif u < r_b + r_s:
                    side, size, sweep = 1, rand_geom(rng, fp[F_MKT_SIZE]), ip[I_SWEEP]
                elif u < r_b + r_s + shock:
                    side, size, sweep = 1, rand_geom(rng, slots[k, S_SHOCK_SIZE]), ip[I_SHOCK_SWEEP]
                else:
                    continue  # thinning: rejected candidate
                exc[side] += fp[F_ALPHA]
                opp_best = cnt[BEST_B + 1 - side]
                if (side == 0 and opp_best < n_levels) or (side == 1 and opp_best >= 0):
                    lim = opp_best + sweep if side == 0 else opp_best - sweep
                    book_match(side, lim, size, t, orders, lv, live, cnt, ex_t, ex)
            cnt[N_EVENTS] += 1
            _log_quote(t, cnt, q_t, q)
            if cnt[OVERFLOW]:
                return
        for e in range(n_ex0, cnt[N_EX]):
            p = (ex[e, 0] + base) * tick
            vol += ex[e, 2]
            amt += p * ex[e, 2] * mult
            last_px = p
            hi = max(hi, p)
            lo = min(lo, p)
        row = snap[k]
        row[0] = last_px
        row[1] = amt / (vol * mult) if vol > 0 else open_px
        row[2] = hi if vol > 0 else open_px
        row[3] = lo if vol > 0 else open_px
        row[4] = vol
        row[5] = amt
        row[6] = fp[F_OI]
        row[7:] = np.nan
        _snapshot_levels(row, lv, cnt, base, tick)
    while j < n_inj:
        _inject(j, inj_side, inj_px, inj_seq, inj_ahead, inj_bid, inj_ask, lv, cnt)
        j += 1


@njit(cache=True)
def _snapshot_levels(row: Arr, lv: Arr, cnt: Arr, base: int, tick: float) -> None:
    """Fill L5 (bid_price_i, bid_volume_i, ask_price_i, ask_volume_i at columns 7 + 4(i-1))."""
    n_levels = lv.shape[2]
    i = cnt[BEST_B]
    lvl = 0
    while lvl < 5 and i >= 0:
        if lv[LQTY, 0, i] > 0:
            row[7 + 4 * lvl] = (i + base) * tick
            row[8 + 4 * lvl] = lv[LQTY, 0, i]
            lvl += 1
        i -= 1
    i = cnt[BEST_A]
    lvl = 0
    while lvl < 5 and i < n_levels:
        if lv[LQTY, 1, i] > 0:
            row[9 + 4 * lvl] = (i + base) * tick
            row[10 + 4 * lvl] = lv[LQTY, 1, i]
            lvl += 1
        i += 1


@njit(cache=True)
def fill_times_kernel(
    inj_t: Arr, inj_side: Arr, inj_px: Arr, inj_seq: Arr, horizon: float,
    ex_t: Arr, ex: Arr, q_t: Arr, q: Arr, fill_t: Arr, fill_kind: Arr,
) -> None:  # fmt: skip
    """True fill time of each zero-impact injected order (NaN: no fill within ``horizon`` s).

    A bid at ``p`` behind sequence ``s`` fills at the first of: a sell aggressor executing at
    ``p`` against a resting order younger than it (kind 1, the queue ahead was consumed), a sell
    aggressor executing below ``p`` or the best ask reaching ``p`` (kind 2, through / touched).
    Asks mirror. Marketable at injection: filled at its time, kind 2.
    """
    n_ex = ex_t.shape[0]
    n_q = q_t.shape[0]
    for j in range(inj_t.shape[0]):
        t0 = inj_t[j]
        end = t0 + horizon
        side = inj_side[j]
        p = inj_px[j]
        best_t = np.inf
        kind = 0
        # quotes: the state at t0 is the last quote at or before t0
        a = np.searchsorted(q_t, t0, side="right") - 1
        if a < 0:
            a = 0
        for i in range(a, n_q):
            ti = max(q_t[i], t0)
            if ti > end:
                break
            opp = q[i, 1 - side]
            # an empty opposite side is -1 / L, which never reaches p
            if (side == 0 and opp <= p) or (side == 1 and opp >= p):
                best_t = ti
                kind = 2
                break
        b = np.searchsorted(ex_t, t0, side="left")
        for i in range(b, n_ex):
            if ex_t[i] > end or ex_t[i] >= best_t:
                break
            if ex[i, 3] == side:
                continue  # aggressor on our side does not trade against us
            px = ex[i, 0]
            if side == 0:
                hit = px < p or (px == p and ex[i, 1] >= inj_seq[j])
                through = px < p
            else:
                hit = px > p or (px == p and ex[i, 1] >= inj_seq[j])
                through = px > p
            if hit:
                best_t = ex_t[i]
                kind = 2 if through else 1
                break
        if best_t <= end:
            fill_t[j] = best_t
            fill_kind[j] = kind
        else:
            fill_t[j] = np.nan
            fill_kind[j] = 0
