"""The synthetic market as a LiveFeed: today's simulated ticks, released as a market clock passes them.

The market clock starts at the wall clock's "now" and runs ``speedup`` market seconds per
wall second. A run first delivers the most recent ``history`` ticks at or before its start
(as TqSdk's tick serial does), then, per symbol, every tick whose ``datetime_ns`` the market
clock has reached, in time order, moving on to the next trading day when the clock gets there.
Between deliveries it sleeps until the next tick is due (at most ``poll_s``, at least
``min_interval_s``), so it never spins, and ``should_stop`` is checked after every pass.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import date

import numpy as np

from ghtrader.adapters.synthetic.provider import (
    SyntheticMarketLike,
    check_simulated_symbol,
)
from ghtrader.application.errors import InvalidArgument
from ghtrader.application.ports.clock import Clock
from ghtrader.application.ports.providers import TickCallback
from ghtrader.domain.calendar import TradingCalendar
from ghtrader.domain.errors import DomainError
from ghtrader.domain.ticks import empty_ticks

__all__ = ["SyntheticLiveFeed"]

_HISTORY_LOOKBACK_DAYS = 5  # trading days searched backwards for the first history batch


class _Stream:
    """One symbol's ticks, one trading day in memory at a time, with a read position."""

    def __init__(
        self,
        symbol: str,
        load: Callable[[date], np.ndarray],
        calendar: TradingCalendar,
        day: date,
        last_day: date | None,
    ) -> None:
        self.symbol = symbol
        self._load = load
        self._calendar = calendar
        self._last_day = last_day  # a contract's expiry: no ticks after it
        self.day = day
        self.ticks = load(day)
        self.pos = 0

    def seek_after(self, ns: int) -> None:
        self.pos = int(np.searchsorted(self.ticks["datetime_ns"], ns, side="right"))

    def next_ns(self) -> int | None:
        """When the next tick of the day in memory is due (None: the day is used up)."""
        return int(self.ticks["datetime_ns"][self.pos]) if self.pos < self.ticks.shape[0] else None

    def take(self, market_ns: int, limit: int) -> np.ndarray:
        """Up to ``limit`` undelivered ticks at or before ``market_ns`` (empty: none due yet)."""
        cal = self._calendar
        while self.pos >= self.ticks.shape[0]:
            if cal.trading_day_of(market_ns) <= self.day or (self._last_day is not None and self.day >= self._last_day):
                return empty_ticks(0)
            self.day = cal.next_trading_day(self.day)
            self.ticks = self._load(self.day)
            self.pos = 0
        end = int(np.searchsorted(self.ticks["datetime_ns"], market_ns, side="right"))
        end = min(end, self.pos + limit)
        out = self.ticks[self.pos : end].copy()
        self.pos = max(self.pos, end)
        return out


class SyntheticLiveFeed:
    """LiveFeed over the synthetic market (see the module docstring).

    Args:
        market: the simulator (``SyntheticMarket`` or a fake with the same methods).
        calendar: the market's trading calendar.
        clock: wall clock ("now" starts the market clock; ``monotonic_s`` paces it).
        speedup: market seconds per wall second (1: real time).
        history: ticks per symbol delivered first from before the start (0: none).
        poll_s: longest sleep before ``should_stop`` is asked again.
        min_interval_s: shortest sleep; at a high speed-up ticks due meanwhile come as one batch.
        max_batch: most ticks per ``on_ticks`` call (a long catch-up comes in several).
        sleep: blocks for the given wall seconds (tests pass one that advances a fake clock).
    """

    def __init__(
        self,
        market: SyntheticMarketLike,
        calendar: TradingCalendar,
        clock: Clock,
        *,
        speedup: float = 1.0,
        history: int = 2000,
        poll_s: float = 0.5,
        min_interval_s: float = 0.01,
        max_batch: int = 5000,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not speedup > 0:
            raise InvalidArgument(f"the synthetic live speed-up must be > 0, got {speedup}")
        if history < 0 or max_batch < 1 or not 0 < min_interval_s <= poll_s:
            raise InvalidArgument("history must be >= 0, max_batch >= 1 and 0 < min_interval_s <= poll_s")
        self._market = market
        self._calendar = calendar
        self._clock = clock
        self._speedup = float(speedup)
        self._history = int(history)
        self._poll_s = float(poll_s)
        self._min_interval_s = float(min_interval_s)
        self._max_batch = int(max_batch)
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"SyntheticLiveFeed(speedup={self._speedup:g}, history={self._history})"

    def run(self, symbols: Sequence[str], on_ticks: TickCallback, should_stop: Callable[[], bool]) -> None:
        """Deliver ticks per symbol until ``should_stop()`` is true (asked at least every ``poll_s``).

        Raises:
            InvalidArgument: no symbols, or a malformed or non-simulated symbol.
        """
        if not symbols:
            raise InvalidArgument("no symbols to record: give at least one symbol")
        checked = {s: check_simulated_symbol(self._market, s) for s in dict.fromkeys(symbols)}
        origin_ns = int(self._clock.now_ns())
        started_s = self._clock.monotonic_s()
        today = self._calendar.trading_day_of(origin_ns)
        streams: list[_Stream] = []
        for s, (continuous, key) in checked.items():
            load = self._loader(key if continuous else s, continuous)
            last_day = None if continuous else self._market.contract_life(s)[1]
            stream = _Stream(s, load, self._calendar, today, last_day)
            stream.seek_after(origin_ns)
            history = self._history_before(load, stream, origin_ns)
            for lo in range(0, history.shape[0], self._max_batch):
                on_ticks(s, history[lo : lo + self._max_batch])
            streams.append(stream)
        while True:
            market_ns = origin_ns + int((self._clock.monotonic_s() - started_s) * self._speedup * 1e9)
            for stream in streams:
                while (batch := stream.take(market_ns, self._max_batch)).shape[0]:
                    on_ticks(stream.symbol, batch)
            if should_stop():
                return
            due = [ns for ns in (st.next_ns() for st in streams) if ns is not None]
            wait_s = self._poll_s
            if due:
                wait_s = (min(due) - market_ns) / 1e9 / self._speedup
            self._sleep(min(self._poll_s, max(self._min_interval_s, wait_s)))

    def _history_before(self, load: Callable[[date], np.ndarray], stream: _Stream, origin_ns: int) -> np.ndarray:
        """The last ``history`` ticks at or before ``origin_ns`` (this and earlier trading days)."""
        if self._history == 0:
            return empty_ticks(0)
        pieces = [stream.ticks[max(0, stream.pos - self._history) : stream.pos]]
        have = pieces[0].shape[0]
        day = stream.day
        for _ in range(_HISTORY_LOOKBACK_DAYS):
            if have >= self._history:
                break
            day = self._calendar.previous_trading_day(day)
            earlier = load(day)
            earlier = earlier[earlier["datetime_ns"] <= origin_ns]
            pieces.insert(0, earlier[max(0, earlier.shape[0] - (self._history - have)) :])
            have += pieces[0].shape[0]
        return np.concatenate(pieces).copy()

    def _loader(self, name: str, continuous: bool) -> Callable[[date], np.ndarray]:
        """One trading day's ticks of a contract (``name`` a symbol) or of the ``KQ.m@`` series
        (``name`` a variety key); empty before the market's first day."""
        generate = self._market.continuous_ticks if continuous else self._market.ticks

        def load(day: date) -> np.ndarray:
            try:
                return generate(name, day)
            except DomainError:
                return empty_ticks(0)

        return load
