"""ReplayClock: a market clock from a chosen start, running at the replay's pace."""

from __future__ import annotations

from ghtrader.adapters.host.clock import ReplayClock
from tests.fakes.system import FakeClock


def test_replay_clock_runs_speedup_market_seconds_per_wall_second() -> None:
    base = FakeClock(now=5, mono=100.0)
    clock = ReplayClock(base, start_ns=1_000_000_000_000, speedup=60.0)
    assert clock.now_ns() == 1_000_000_000_000
    base.mono += 2.5
    assert clock.now_ns() == 1_000_000_000_000 + 150 * 10**9  # a feed started now continues from here
    assert clock.monotonic_s() == 102.5
