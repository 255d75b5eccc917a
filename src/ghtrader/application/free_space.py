"""FreeSpaceGuard: refuse large work (a build, a long download) early when the disk the stores
write to is nearly full, instead of failing half-way with the database out of space."""

from __future__ import annotations

from dataclasses import dataclass

from ghtrader.application.errors import FailedPrecondition
from ghtrader.application.ports.system import StorageSpace

__all__ = ["FreeSpaceGuard"]


def _gib(n: int) -> str:
    return f"{n / 2**30:.1f} GiB"


@dataclass(frozen=True)
class FreeSpaceGuard:
    """``check`` raises FailedPrecondition when fewer than ``min_free_bytes`` are free
    (``min_free_bytes`` 0 turns the check off)."""

    space: StorageSpace
    min_free_bytes: int

    def check(self, what: str) -> None:
        if self.min_free_bytes <= 0:
            return
        usage = self.space.usage()
        if usage.free_bytes < self.min_free_bytes:
            raise FailedPrecondition(
                f"{what} needs at least {_gib(self.min_free_bytes)} free on {usage.path}, but only "
                f"{_gib(usage.free_bytes)} of {_gib(usage.total_bytes)} are left: free some space (old runs/, "
                "artifacts/, a data dir no longer used) or lower GHTRADER_MIN_FREE_GB"
            )
