"""Use case: report the server's own status (version, uptime, store, host resources)."""

from __future__ import annotations

from dataclasses import dataclass

from ghtrader.application.ports.clock import Clock
from ghtrader.application.ports.system import HostProbe, HostSnapshot, StoreHealth, StoreProbe


@dataclass(frozen=True)
class SystemStatus:
    version: str
    git_commit: str
    uptime_seconds: float
    server_time_ns: int
    store: StoreHealth
    host: HostSnapshot
    provider: str


class GetSystemStatus:
    """Collects status from the probes; never raises because one probe is down."""

    def __init__(
        self,
        *,
        clock: Clock,
        host_probe: HostProbe,
        store_probe: StoreProbe,
        version: str,
        git_commit: str,
        provider: str,
    ) -> None:
        self._clock = clock
        self._host = host_probe
        self._store = store_probe
        self._version = version
        self._git_commit = git_commit
        self._provider = provider
        self._started = clock.monotonic_s()

    def __call__(self) -> SystemStatus:
        return SystemStatus(
            version=self._version,
            git_commit=self._git_commit,
            uptime_seconds=self._clock.monotonic_s() - self._started,
            server_time_ns=self._clock.now_ns(),
            store=self._store.health(),
            host=self._host.snapshot(),
            provider=self._provider,
        )
