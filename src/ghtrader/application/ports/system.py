"""Ports describing the host the server runs on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class DiskUsage:
    path: str
    used_bytes: int
    free_bytes: int
    total_bytes: int


@dataclass(frozen=True)
class HostSnapshot:
    cpu_percent: float
    cpu_count: int
    memory_used_bytes: int
    memory_total_bytes: int
    disks: tuple[DiskUsage, ...]
    gpu: str  # nvidia-smi summary, or a diagnostic saying why there is none


@dataclass(frozen=True)
class DirectorySize:
    """Bytes and regular files under a folder; ``partial`` when the walk hit its time budget."""

    path: str
    bytes: int
    files: int
    partial: bool
    walk_seconds: float
    measured_ns: int
    error: str = ""  # why it could not be measured; "" when it was


@dataclass(frozen=True)
class StoreHealth:
    backend: str
    reachable: bool
    detail: str  # server version when reachable, the reason when not


class HostProbe(Protocol):
    def snapshot(self) -> HostSnapshot: ...


class StoreProbe(Protocol):
    def health(self) -> StoreHealth: ...


class StorageSpace(Protocol):
    """Disk usage of the volume the stores write to (the embedded database's data dir)."""

    def usage(self) -> DiskUsage: ...


class DirectorySizer(Protocol):
    """Walks a folder within a time budget (never follows symlinks)."""

    def measure(self, path: str, budget_s: float) -> DirectorySize: ...
