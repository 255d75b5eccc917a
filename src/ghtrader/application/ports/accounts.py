"""Broker account profiles, a read-only account probe and the cache of its last answers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ghtrader.domain.trading.orders import AccountSnapshot

__all__ = ["AccountCache", "AccountProbe", "BrokerProfile", "BrokerProfiles"]


@dataclass(frozen=True)
class BrokerProfile:
    """A configured broker account as anyone may see it: the id masked, the password never."""

    profile: str  # "default" or a name from GHTRADER_TQ_ACCOUNT_PROFILES
    broker_id: str  # the futures company's id at Shinny, e.g. "SIMNOW"
    masked_account_id: str  # e.g. "12****78"
    has_password: bool


class BrokerProfiles(Protocol):
    """Where the profiles are configured (settings, ``runs/control/accounts.env``)."""

    def list(self) -> Sequence[BrokerProfile]:
        """Every configured profile (raises InvalidArgument when one is incomplete)."""
        ...


class AccountProbe(Protocol):
    """Logs in to a profile's account read-only and reads it once; never sends an order."""

    def snapshot(self, profile: str, time_ns: int) -> AccountSnapshot:
        """The account and positions now. Raises FailedPrecondition (login refused) or
        Unavailable (unreachable); messages never carry the password or the clear account id."""
        ...


class AccountCache(Protocol):
    """The last verification per profile (no password, masked ids only)."""

    def write(self, profile: str, record: dict[str, Any]) -> str:
        """Store ``record`` for ``profile``; returns where it went."""
        ...

    def read(self, profile: str) -> dict[str, Any] | None:
        """The last record of ``profile``, if any."""
        ...
