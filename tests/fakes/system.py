"""In-memory fakes of the system ports."""

from __future__ import annotations

from dataclasses import dataclass, field

from ghtrader.application.ports.system import DiskUsage, HostSnapshot, StoreHealth


@dataclass
class FakeClock:
    """Clock port with a settable time."""

    now: int = 1_700_000_000_000_000_000
    mono: float = 100.0

    def now_ns(self) -> int:
        return self.now

    def monotonic_s(self) -> float:
        return self.mono


@dataclass
class InMemoryHostProbe:
    snapshot_value: HostSnapshot = field(
        default_factory=lambda: HostSnapshot(
            cpu_percent=12.5,
            cpu_count=2,
            memory_used_bytes=1 << 30,
            memory_total_bytes=4 << 30,
            disks=(DiskUsage("data", 10, 20, 30),),
            gpu="no GPU: test",
        )
    )

    def snapshot(self) -> HostSnapshot:
        return self.snapshot_value


@dataclass
class InMemoryStoreProbe:
    value: StoreHealth = field(default_factory=lambda: StoreHealth("memory", True, "in-memory 1.0"))

    def health(self) -> StoreHealth:
        return self.value
