"""Broker accounts: list the configured profiles, verify one with a read-only login.

``VerifyAccount`` logs in through the AccountProbe (never an order), takes one snapshot and
caches the outcome (masked id, no password) so the dashboard and ``accounts list`` can show
when each profile last answered. A failed login is cached too and reported, not raised.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ghtrader.application.errors import ApplicationError, NotFound
from ghtrader.application.ports.accounts import AccountCache, AccountProbe, BrokerProfile, BrokerProfiles
from ghtrader.application.ports.clock import Clock
from ghtrader.domain.trading.orders import AccountSnapshot

__all__ = ["AccountCheck", "AccountListing", "ListAccounts", "VerifyAccount"]


@dataclass(frozen=True)
class AccountCheck:
    """The outcome of one verification."""

    profile: BrokerProfile
    ok: bool
    checked_ns: int
    snapshot: AccountSnapshot | None = None
    error: str = ""  # why it failed (no secrets)
    cache_path: str = ""

    def to_record(self) -> dict[str, Any]:
        """The cached form: masked id, no password."""
        snap = self.snapshot
        return {
            "profile": self.profile.profile,
            "broker_id": self.profile.broker_id,
            "masked_account_id": self.profile.masked_account_id,
            "ok": self.ok,
            "error": self.error,
            "checked_ns": self.checked_ns,
            "account": None if snap is None else {k: v for k, v in asdict(snap).items() if k != "positions"},
            "positions": [] if snap is None else [asdict(p) for p in snap.positions],
        }


@dataclass(frozen=True)
class AccountListing:
    """A profile with its last cached verification (``None`` when never verified)."""

    profile: BrokerProfile
    last_check: dict[str, Any] | None = field(default=None)


def _find(profiles: BrokerProfiles, name: str) -> BrokerProfile:
    wanted = name or "default"
    for p in profiles.list():
        if p.profile == wanted:
            return p
    known = ", ".join(p.profile for p in profiles.list()) or "none configured"
    raise NotFound(f"no broker profile {wanted!r} (profiles: {known}); see TQ_ACCOUNT_PROFILES in env.example")


class ListAccounts:
    """The configured profiles and their last verification."""

    def __init__(self, profiles: BrokerProfiles, cache: AccountCache) -> None:
        self._profiles = profiles
        self._cache = cache

    def __call__(self) -> Sequence[AccountListing]:
        return [AccountListing(p, self._cache.read(p.profile)) for p in self._profiles.list()]


class VerifyAccount:
    """Read-only login to one profile and one snapshot, cached."""

    def __init__(self, profiles: BrokerProfiles, probe: AccountProbe, cache: AccountCache, clock: Clock) -> None:
        self._profiles = profiles
        self._probe = probe
        self._cache = cache
        self._clock = clock

    def __call__(self, profile: str) -> AccountCheck:
        p = _find(self._profiles, profile)
        now = self._clock.now_ns()
        try:
            check = AccountCheck(p, True, now, snapshot=self._probe.snapshot(p.profile, now))
        except ApplicationError as exc:
            check = AccountCheck(p, False, now, error=f"{type(exc).__name__}: {exc}")
        path = self._cache.write(p.profile, check.to_record())
        return AccountCheck(check.profile, check.ok, check.checked_ns, check.snapshot, check.error, path)
