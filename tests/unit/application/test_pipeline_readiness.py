"""GetPipelineReadiness: per variety, raw contracts indexed, a schedule stored and main_l5 days,
all from the index and schedule stores; nothing is read when the store does not answer."""

from __future__ import annotations

from datetime import date

from ghtrader.adapters.memory.index_store import InMemoryIndexStore
from ghtrader.application.pipeline_readiness import GetPipelineReadiness
from ghtrader.application.ports.stores import DayManifest
from ghtrader.application.ports.system import StoreHealth
from tests.fakes.system import InMemoryStoreProbe


class Schedules:
    """ScheduleStore reduced to what readiness reads: which varieties have a schedule."""

    def __init__(self, *stored: str, broken: str = "") -> None:
        self.stored, self.broken = set(stored), broken

    def schedule_hashes(self, exchange: str, variety: str) -> list[str]:
        if variety == self.broken:
            raise RuntimeError("schedule table unreadable")
        return ["h1"] if f"{exchange}.{variety}" in self.stored else []


def _day(symbol: str, day: date, lake: str = "raw") -> DayManifest:
    return DayManifest(symbol, day, lake, 10, 1, 2, True, 0, 0, 0, 0)


def _index() -> InMemoryIndexStore:
    index = InMemoryIndexStore()
    index.upsert_manifests(
        [
            _day("SHFE.cu2601", date(2026, 1, 5)),
            _day("SHFE.cu2602", date(2026, 1, 5)),
            _day("SHFE.au2602", date(2026, 1, 5)),
            _day("KQ.m@SHFE.cu", date(2026, 1, 5), "main_l5"),
            _day("KQ.m@SHFE.cu", date(2026, 1, 6), "main_l5"),
        ]
    )
    return index


def test_each_variety_reports_what_its_stages_need() -> None:
    readiness = GetPipelineReadiness(probe=InMemoryStoreProbe(), index=_index(), schedules=Schedules("SHFE.cu"))()
    assert readiness.store_reachable
    cu, au, ag = readiness.varieties
    assert (cu.variety, cu.raw_contracts, cu.schedule_present, cu.main_l5_days, cu.main_l5_last_day) == (
        "SHFE.cu", 2, True, 2, "2026-01-06",
    )  # fmt: skip
    assert (au.raw_contracts, au.schedule_present, au.main_l5_days, au.main_l5_last_day) == (1, False, 0, "")
    assert (ag.raw_contracts, ag.schedule_present, ag.main_l5_days) == (0, False, 0)


def test_an_unreachable_store_is_not_read() -> None:
    class Untouchable:
        def __getattr__(self, name: str) -> object:
            raise AssertionError(f"read {name} of a store that is down")

    probe = InMemoryStoreProbe(StoreHealth("postgres", False, "connection refused"))
    readiness = GetPipelineReadiness(probe=probe, index=Untouchable(), schedules=Untouchable())(["SHFE.cu"])  # type: ignore[arg-type]
    assert (readiness.store_reachable, readiness.store_detail, readiness.varieties) == (
        False, "connection refused", (),
    )  # fmt: skip


def test_a_bad_key_or_a_failing_read_is_reported_for_that_variety_only() -> None:
    use_case = GetPipelineReadiness(probe=InMemoryStoreProbe(), index=_index(), schedules=Schedules(broken="au"))
    cu, au, bad = use_case(["SHFE.cu", "SHFE.au", "cu; drop"]).varieties
    assert cu.error == "" and cu.main_l5_days == 2
    assert au.error == "RuntimeError: schedule table unreadable" and au.raw_contracts == 1
    assert "expected a variety key" in bad.error
