"""GetDirectorySizes: answers at once from its cache, walks in the background (one walk at a
time), re-walks after the TTL, reports a folder it could not measure."""

from __future__ import annotations

from collections.abc import Callable

from ghtrader.application.directory_sizes import GetDirectorySizes
from ghtrader.application.ports.system import DirectorySize
from tests.fakes.system import FakeClock


class CountingSizer:
    def __init__(self) -> None:
        self.walks: list[str] = []

    def measure(self, path: str, budget_s: float) -> DirectorySize:
        self.walks.append(path)
        if path == "broken":
            raise PermissionError("denied")
        return DirectorySize(path, 100 * len(self.walks), len(self.walks), False, 0.1, 5)


def _use_case(paths: list[str]) -> tuple[GetDirectorySizes, CountingSizer, FakeClock, list[Callable[[], None]]]:
    sizer, clock, queued = CountingSizer(), FakeClock(), []
    use_case = GetDirectorySizes(paths=paths, sizer=sizer, clock=clock, ttl_s=60.0, budget_s=2.0, spawn=queued.append)
    return use_case, sizer, clock, queued


def test_the_first_call_returns_at_once_and_starts_one_walk() -> None:
    use_case, sizer, _clock, queued = _use_case(["data", "runs"])
    first = use_case()
    assert first.sizes == () and first.measuring and first.budget_s == 2.0
    assert use_case().measuring and len(queued) == 1  # a second call does not start a second walk
    assert sizer.walks == []  # nothing walked on the caller's thread
    queued.pop()()
    done = use_case()
    assert not done.measuring
    assert [(s.path, s.bytes, s.files) for s in done.sizes] == [("data", 100, 1), ("runs", 200, 2)]


def test_sizes_are_cached_for_the_ttl_then_re_measured_in_the_background() -> None:
    use_case, sizer, clock, queued = _use_case(["data"])
    use_case()
    queued.pop()()
    clock.mono += 59.0
    assert not use_case().measuring and queued == []
    clock.mono += 2.0
    stale = use_case()
    assert stale.measuring and stale.sizes[0].bytes == 100  # the old value is served meanwhile
    queued.pop()()
    assert use_case().sizes[0].bytes == 200 and sizer.walks == ["data", "data"]


def test_a_folder_that_cannot_be_walked_is_reported_with_the_reason() -> None:
    use_case, _sizer, _clock, queued = _use_case(["data", "broken"])
    use_case()
    queued.pop()()
    data, broken = use_case().sizes
    assert data.error == "" and data.bytes == 100
    assert broken.error == "PermissionError: denied" and broken.partial
