"""Where the dashboard listens, which server it talks to, and who may use it."""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass, field

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


class DashboardConfigError(ValueError):
    """The dashboard refuses to start with this configuration."""


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class DashboardConfig:
    """``token`` is the API token (GHTRADER_API_TOKEN): sent to the server on every call and,
    when set, also the password of the login page. ``storage_secret`` signs the session cookie
    (random per process unless given, so a restart logs everyone out)."""

    target: str = "127.0.0.1:50051"
    host: str = "127.0.0.1"
    port: int = 8000
    token: str | None = None
    storage_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    call_timeout_s: float = 30.0

    def check(self) -> None:
        """Refuse a bind reachable from other machines without a token."""
        if not is_loopback(self.host) and not self.token:
            raise DashboardConfigError(
                f"refusing to bind the dashboard to {self.host} without a token: set GHTRADER_API_TOKEN "
                "(or pass --token), or keep the default 127.0.0.1 and use `ssh -L 8000:127.0.0.1:8000 host`"
            )
        if not 0 < self.port < 65536:
            raise DashboardConfigError(f"dashboard port {self.port} is not in 1..65535")
