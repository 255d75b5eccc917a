"""The stepper (sim mode) and the batch replay share one kernel: fed the same snapshots and
commands they give identical orders, fills, positions and equity, however the feed is chunked."""

from __future__ import annotations

import numpy as np
import pytest

from ghtrader.domain.microsim import COMMAND_DTYPE, Latency, SimConfig, codes, simulate
from ghtrader.domain.microsim.stepper import ReplayStepper
from tests.unit.domain.microsim._book import MS, TICK, random_book

_LAT = Latency(samples_ns=np.array([0, 1, 40, 300, 600, 1200, 2500]) * MS)


def _commands(ticks: np.ndarray, rng: np.random.Generator, n: int) -> np.ndarray:
    """A random stream (in send order) of limits, FAK / FOK orders at or through the touch, and
    cancels of earlier orders, with every offset, some sent exactly at a snapshot's time."""
    t = ticks["datetime_ns"]
    rows = []
    oid = 100
    live: list[int] = []
    times = np.sort(rng.integers(int(t[0]) - 200 * MS, int(t[-1]) + 800 * MS, size=n))
    snap = rng.random(n) < 0.2
    times[snap] = rng.choice(t, size=int(snap.sum()))
    times.sort()
    for send in times:
        if live and rng.random() < 0.3:
            rows.append((send, codes.CANCEL, 0, 0.0, 0, int(rng.choice(live)), 0))
            continue
        i = max(int(np.searchsorted(t, send, side="right")) - 1, 0)
        side = int(rng.choice([codes.BUY, codes.SELL]))
        best = ticks["bid_price1"][i] if side == codes.BUY else ticks["ask_price1"][i]
        price = float(best + side * TICK * int(rng.integers(-2, 3)))
        kind = int(rng.choice([codes.LIMIT, codes.LIMIT, codes.FAK, codes.FOK]))
        offset = int(rng.choice([codes.OPEN, codes.OPEN, codes.AUTO, codes.CLOSE, codes.CLOSETODAY]))
        rows.append((send, kind, side, price, int(rng.integers(1, 6)), oid, offset))
        live.append(oid)
        oid += 1
    return np.array(rows, dtype=COMMAND_DTYPE)


def _stepped(
    ticks: np.ndarray, day_start: np.ndarray, cfg: SimConfig, cmds: np.ndarray, rng: np.random.Generator, chunk: int
) -> ReplayStepper:
    """Feed the stepper ``chunk`` snapshots at a time (random sizes when ``chunk`` is 0), each
    command handed over before the first snapshot at or after its send time."""
    stepper = ReplayStepper(cfg, order_cap=4, fill_cap=4)  # small tables: growth is exercised too
    t = ticks["datetime_ns"]
    j = 0
    i = 0
    while i < t.size:
        size = chunk or int(rng.integers(1, 6))
        end = min(i + size, t.size)
        while j < cmds.size and cmds["time_ns"][j] <= t[end - 1]:
            stepper.submit(cmds[j])
            j += 1
        stepper.step(ticks[i:end], day_start[i:end])
        i = end
    for row in cmds[j:]:
        stepper.submit(row)
    stepper.finish()
    return stepper


@pytest.mark.parametrize("seed", range(24))
def test_stepper_matches_batch_on_random_command_streams(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ticks = random_book(int(rng.integers(40, 160)), seed=seed)
    day_start = np.zeros(ticks.size, dtype=np.bool_)
    day_start[rng.choice(np.arange(1, ticks.size), size=2, replace=False)] = True
    cfg = SimConfig.for_variety(
        "cu", queue_model=["risk_averse", "prob_power", "prob_log"][seed % 3], entry_latency=_LAT,
        cancel_latency=_LAT, seed=seed, consume_depth=bool(seed % 2), long_yesterday=seed % 4,
        short_yesterday=(seed // 4) % 3,
    )  # fmt: skip
    cmds = _commands(ticks, rng, int(rng.integers(20, 90)))
    batch = simulate(ticks, cfg, cmds, day_start=day_start)
    assert batch.fills.size > 0
    for chunk in (1, 0):
        got = _stepped(ticks, day_start, cfg, cmds, rng, chunk)
        res = got.result()
        np.testing.assert_array_equal(res.orders, batch.orders)
        np.testing.assert_array_equal(res.fills, batch.fills)
        np.testing.assert_array_equal(res.equity, batch.equity)
        assert res.positions == batch.positions
        assert res.summary == batch.summary


def test_latency_draws_do_not_depend_on_other_commands() -> None:
    """A command's latency is keyed by its index in the stream: the same stream prefix, the
    same arrival times, whatever follows."""
    ticks = random_book(60, seed=1)
    cfg = SimConfig.for_variety("cu", entry_latency=_LAT, cancel_latency=_LAT, seed=9)
    cmds = _commands(ticks, np.random.default_rng(4), 40)
    full = simulate(ticks, cfg, cmds).orders
    head = simulate(ticks, cfg, cmds[:20]).orders
    n = head.size
    np.testing.assert_array_equal(full["arrive_ns"][:n][head["status"] == codes.PENDING],
                                  head["arrive_ns"][head["status"] == codes.PENDING])  # fmt: skip
    sent = full["send_ns"][:n]
    assert (head["send_ns"] == sent).all()
    assert np.unique(full["arrive_ns"] - full["send_ns"]).size > 2  # the empirical table is used


def test_stepper_refuses_a_command_sent_before_the_current_snapshot() -> None:
    ticks = random_book(5, seed=2)
    stepper = ReplayStepper(SimConfig.for_variety("cu"))
    stepper.step(ticks[:3])
    late = np.array([(int(ticks["datetime_ns"][1]), codes.LIMIT, 1, 70000.0, 1, 1, codes.OPEN)], dtype=COMMAND_DTYPE)
    with pytest.raises(ValueError, match="before the current snapshot"):
        stepper.submit(late[0])
    with pytest.raises(ValueError, match="time order"):
        stepper.step(ticks[1:2])
