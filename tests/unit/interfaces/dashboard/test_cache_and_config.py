"""The dashboard's TTL cache (stale-while-revalidate, never blocking long) and its bind rules."""

from __future__ import annotations

import asyncio
import threading

import pytest

from ghtrader.interfaces.client import ApiError, ServerUnavailableError
from ghtrader.interfaces.dashboard import DashboardConfig, DashboardConfigError
from ghtrader.interfaces.dashboard.backend import classify
from ghtrader.interfaces.dashboard.cache import TtlCache


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_stale_entry_is_returned_at_once_and_refreshed_in_the_background() -> None:
    clock = Clock()
    cache = TtlCache(classify, clock)
    calls: list[int] = []
    release = threading.Event()

    def loader() -> int:
        calls.append(1)
        if len(calls) > 1:
            release.wait(5)
        return len(calls)

    async def scenario() -> None:
        first = await cache.get("k", loader, ttl=10)
        assert first is not None and first.value == 1
        clock.now += 11  # stale
        stale = await cache.get("k", loader, ttl=10)
        assert stale is not None and stale.value == 1  # not waiting for the slow refresh
        again = await cache.get("k", loader, ttl=10)
        assert again is not None and again.value == 1
        release.set()
        for _ in range(200):
            entry = cache.peek("k")
            if entry is not None and entry.value == 2:
                break
            await asyncio.sleep(0.01)
        assert cache.peek("k").value == 2  # type: ignore[union-attr]
        assert len(calls) == 2  # one refresh, not one per stale read

    asyncio.run(scenario())


def test_a_slow_first_load_returns_none_after_the_wait_and_completes_later() -> None:
    cache = TtlCache(classify, Clock())
    release = threading.Event()

    async def scenario() -> None:
        assert await cache.get("k", lambda: release.wait(5) and "v", ttl=10, wait_s=0.05) is None
        release.set()
        for _ in range(200):
            if cache.peek("k") is not None:
                break
            await asyncio.sleep(0.01)
        assert cache.peek("k").value == "v"  # type: ignore[union-attr]

    asyncio.run(scenario())


def test_errors_are_cached_as_messages_and_unreachable_is_told_apart() -> None:
    cache = TtlCache(classify, Clock())

    def down() -> None:
        raise ServerUnavailableError("127.0.0.1:1", "failed to connect")

    def refused() -> None:
        raise ApiError("INVALID_ARGUMENT", "only SELECT")

    async def scenario() -> None:
        a = await cache.get("a", down, ttl=1)
        b = await cache.get("b", refused, ttl=1)
        assert a is not None and not a.ok and a.unreachable and "no ghTrader server" in a.error
        assert b is not None and not b.ok and not b.unreachable and b.error == "only SELECT"

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("host", "token", "refused"),
    [
        ("127.0.0.1", None, False),
        ("localhost", None, False),
        ("::1", None, False),
        ("0.0.0.0", None, True),
        ("192.168.1.5", "", True),
        ("0.0.0.0", "t0ken", False),
    ],
)
def test_a_non_loopback_bind_needs_a_token(host: str, token: str | None, refused: bool) -> None:
    config = DashboardConfig(host=host, token=token)
    if refused:
        with pytest.raises(DashboardConfigError, match="without a token"):
            config.check()
    else:
        config.check()


def test_a_failed_read_is_retried_rather_than_served_stale() -> None:
    clock = Clock()
    cache = TtlCache(classify, clock)
    answers: list[object] = [ServerUnavailableError("127.0.0.1:1", "down"), "back"]

    def loader() -> object:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def scenario() -> None:
        first = await cache.get("k", loader, ttl=60)
        assert first is not None and first.unreachable
        assert await cache.get("k", loader, ttl=60) is first  # within the error TTL: no storm of retries
        clock.now += 3
        second = await cache.get("k", loader, ttl=60)
        assert second is not None and second.ok and second.value == "back"

    asyncio.run(scenario())
