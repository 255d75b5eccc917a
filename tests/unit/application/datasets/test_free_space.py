"""FreeSpaceGuard: large work is refused early, with a clear message, on a nearly full disk."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from ghtrader.adapters.host.resources import PsutilStorageSpace
from ghtrader.application.datasets.build import BuildDataset
from ghtrader.application.errors import FailedPrecondition
from ghtrader.application.free_space import FreeSpaceGuard
from ghtrader.application.ports.system import DiskUsage
from tests.unit.application.datasets.conftest import DatasetWorld
from tests.unit.application.datasets.test_build import ALIAS, grow, request

GIB = 2**30


class FixedSpace:
    def __init__(self, free: int) -> None:
        self.free = free

    def usage(self) -> DiskUsage:
        return DiskUsage("/data", 100 * GIB - self.free, self.free, 100 * GIB)


def test_guard_passes_with_room_and_names_disk_and_setting_without() -> None:
    FreeSpaceGuard(FixedSpace(3 * GIB), 2 * GIB).check("a build")
    FreeSpaceGuard(FixedSpace(0), 0).check("a build")  # 0 = off
    with pytest.raises(FailedPrecondition) as err:
        FreeSpaceGuard(FixedSpace(GIB // 2), 2 * GIB).check("a build of KQ.m@SHFE.cu")
    msg = str(err.value)
    assert "a build of KQ.m@SHFE.cu" in msg and "/data" in msg and "0.5 GiB" in msg and "GHTRADER_MIN_FREE_GB" in msg


def test_a_build_on_a_full_disk_fails_before_writing_anything(dworld: DatasetWorld) -> None:
    world = dworld
    grow(world, date(2024, 2, 23))
    guard = FreeSpaceGuard(FixedSpace(GIB), 2 * GIB)
    build = BuildDataset(
        ticks=world.ticks, index=world.index, datasets=world.datasets, clock=world.clock, free_space=guard
    )
    with pytest.raises(FailedPrecondition, match="free"):
        build(request())
    assert world.datasets.built_days("features", ALIAS, "main_l5") == []
    assert world.datasets.builds("features") == world.datasets.builds("labels") == []
    guard.space.free = 5 * GIB  # type: ignore[attr-defined]
    assert build(request()).kinds["features"].days_written


def test_psutil_space_reads_the_volume_of_a_path_not_yet_created(tmp_path: Path) -> None:
    usage = PsutilStorageSpace(tmp_path / "not" / "yet").usage()
    assert usage.path.endswith("yet") and 0 < usage.free_bytes <= usage.total_bytes
