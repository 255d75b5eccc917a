"""Pure steps of the model-driven backtest: realized moves, the flat-at-day-end / roll mask and
target positions -> micro-sim commands (SHFE offsets). No I/O; numpy only (no per-tick loops)."""

from __future__ import annotations

import numpy as np

from ghtrader.domain.microsim import COMMAND_DTYPE
from ghtrader.domain.microsim.codes import BUY, CANCEL, CLOSETODAY, FAK, LIMIT, OPEN
from ghtrader.domain.trading.changes import change_side, order_price, split_change

__all__ = [
    "EXECUTIONS",
    "block_ends",
    "flat_before_close",
    "flat_mask",
    "hold_signals",
    "positions_to_commands",
    "realized_move",
]

EXECUTIONS = ("aggressive", "passive")


def block_ends(trading_day: np.ndarray, segment_id: np.ndarray) -> np.ndarray:
    """bool per row: the last row of its trading day / segment block (a roll or a day end follows)."""
    n = trading_day.shape[0]
    change = np.zeros(n, dtype=np.bool_)
    if n:
        change[:-1] = (trading_day[1:] != trading_day[:-1]) | (segment_id[1:] != segment_id[:-1])
        change[-1] = True
    return change


def realized_move(mid: np.ndarray, trading_day: np.ndarray, segment_id: np.ndarray, horizon: int) -> np.ndarray:
    """``mid[t + h] - mid[t]`` where row ``t + h`` is in the same trading day and segment (NaN otherwise)."""
    n = mid.shape[0]
    out = np.full(n, np.nan)
    if n > horizon:
        same = (trading_day[horizon:] == trading_day[:-horizon]) & (segment_id[horizon:] == segment_id[:-horizon])
        out[:-horizon] = np.where(same, mid[horizon:] - mid[:-horizon], np.nan)
    return out


def flat_mask(trading_day: np.ndarray, segment_id: np.ndarray, flat_rows: int) -> np.ndarray:
    """bool per row: within the last ``flat_rows`` rows of its day / segment block, where the target
    is forced flat so the closing order reaches the book before the day ends or the contract rolls."""
    ends = np.flatnonzero(block_ends(trading_day, segment_id))
    idx = np.arange(trading_day.shape[0])
    from_end = ends[np.searchsorted(ends, idx)] - idx if idx.size else idx
    return from_end < max(1, flat_rows)


def flat_before_close(datetime_ns: np.ndarray, day_end_ns: np.ndarray, flat_s: float) -> np.ndarray:
    """bool per row: within ``flat_s`` seconds before its trading day's last session close
    (``day_end_ns`` per row; 0 = unknown, never flat). The causal flat rule: a live loop knows the
    close time but not which tick is a day's last."""
    end = np.asarray(day_end_ns, dtype=np.int64)
    return (end > 0) & (np.asarray(datetime_ns, dtype=np.int64) >= end - int(flat_s * 1e9))


def hold_signals(signal: np.ndarray, trading_day: np.ndarray, segment_id: np.ndarray, hold: int) -> np.ndarray:
    """Target per row: the latest non-zero signal of the last ``hold`` rows of the same day / segment
    block (0 when there is none), so each entry is held for the horizon the policy was fitted on and
    a newer signal extends or flips it."""
    sig = np.asarray(signal, dtype=np.int64)
    n = sig.shape[0]
    idx = np.arange(n)
    last = np.maximum.accumulate(np.where(sig != 0, idx, -1)) if n else idx
    block = np.cumsum(np.r_[False, block_ends(trading_day, segment_id)[:-1]]) if n else idx
    ok = (last >= 0) & (idx - last < max(1, hold))
    ok &= block[np.maximum(last, 0)] == block
    return np.where(ok, sig[np.maximum(last, 0)], 0)


def positions_to_commands(
    target: np.ndarray,
    send_ns: np.ndarray,
    bid: np.ndarray,
    ask: np.ndarray,
    execution: str = "aggressive",
    force_aggressive: np.ndarray | None = None,
) -> np.ndarray:
    """Micro-sim commands that move the position along ``target`` (int lots per row, |target| <= 1 not
    required).

    At each row where the target changes from ``a`` to ``b``: the part of ``a`` that ``b`` does not
    keep is closed (CLOSETODAY: every position opens and closes within one trading day, as the
    target is flat at each day end), then the part of ``b`` beyond what is kept is opened (OPEN).
    ``aggressive``: FAK at the opposite best price; ``passive``: a limit at the own best price, and
    every order of the previous change is cancelled first (a cancel of a filled order is refused by
    the simulator, harmlessly). Rows flagged ``force_aggressive`` (the forced flat at a day end or
    roll) always use FAK. Commands are planned from the targets, not from fills: an order that does
    not fill leaves the simulated position behind the target, and a later close beyond the held
    position is rejected by the simulator.
    """
    if execution not in EXECUTIONS:
        raise ValueError(f"execution must be one of {EXECUTIONS}, got {execution!r}")
    tgt = np.asarray(target, dtype=np.int64)
    prev = np.r_[0, tgt[:-1]]
    rows = np.flatnonzero(tgt != prev)
    a, b = prev[rows], tgt[rows]
    # the rule of the runner's executor, with the previous target as the held position (every lot
    # is today's: the target is flat at each day end)
    side = change_side(b - a)
    close_qty, _, open_qty = split_change(b - a, np.where(side == BUY, -a, a))
    aggressive = np.full(rows.shape[0], execution == "aggressive")
    if force_aggressive is not None:
        aggressive |= np.asarray(force_aggressive, dtype=np.bool_)[rows]
    prices = order_price(side, bid[rows], ask[rows], aggressive)
    kind = np.where(aggressive, FAK, LIMIT)
    m = rows.shape[0]
    # two order slots per change (close, open); ids = 2 * change + slot
    close_id = 2 * np.arange(m)
    open_id = close_id + 1
    parts: list[tuple[np.ndarray, int]] = []
    if execution == "passive" and m > 1:
        # cancel the previous change's live limits (both slots, where they exist) before new orders
        prev_has = np.stack([close_qty[:-1] > 0, open_qty[:-1] > 0], axis=1)
        prev_kind = kind[:-1] == LIMIT
        for slot, ids in ((0, close_id[:-1]), (1, open_id[:-1])):
            sel = prev_has[:, slot] & prev_kind
            c = np.zeros(int(sel.sum()), dtype=COMMAND_DTYPE)
            c["time_ns"] = send_ns[rows[1:][sel]]
            c["kind"] = CANCEL
            c["order_id"] = ids[sel]
            parts.append((c, 0))
    for slot, qty, ids, offset in ((1, close_qty, close_id, CLOSETODAY), (2, open_qty, open_id, OPEN)):
        sel = qty > 0
        c = np.zeros(int(sel.sum()), dtype=COMMAND_DTYPE)
        c["time_ns"] = send_ns[rows[sel]]
        c["kind"] = kind[sel]
        c["side"] = side[sel]
        c["price"] = prices[sel]
        c["qty"] = qty[sel]
        c["order_id"] = ids[sel]
        c["offset"] = offset
        parts.append((c, slot))
    cmds = np.concatenate([p for p, _ in parts])
    slots = np.concatenate([np.full(p.shape[0], s) for p, s in parts])
    # same send time: cancels, then closes, then opens
    perm = np.lexsort((slots, cmds["time_ns"]))
    return cmds[perm]
