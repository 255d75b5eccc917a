"""Plain, typed views of API answers (what callers get instead of raw protobuf)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class DiskView:
    path: str
    used_bytes: int
    free_bytes: int
    total_bytes: int


@dataclass(frozen=True)
class StatusView:
    version: str
    git_commit: str
    uptime_seconds: float
    server_time_ns: int
    store_backend: str
    store_reachable: bool
    store_detail: str
    cpu_percent: float
    cpu_count: int
    memory_used_bytes: int
    memory_total_bytes: int
    disks: tuple[DiskView, ...]
    gpu: str
    provider: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
