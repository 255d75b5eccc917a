"""ListAccounts / VerifyAccount with hand-written fakes: what gets cached, and failures."""

from __future__ import annotations

from typing import Any

import pytest

from ghtrader.application.accounts import ListAccounts, VerifyAccount
from ghtrader.application.errors import FailedPrecondition, NotFound
from ghtrader.application.ports.accounts import BrokerProfile
from ghtrader.domain.trading.orders import AccountSnapshot, Position

PROFILES = (BrokerProfile("default", "B1", "12****78", True), BrokerProfile("alt", "B2", "99****66", False))


class Profiles:
    def list(self) -> tuple[BrokerProfile, ...]:
        return PROFILES


class Cache:
    def __init__(self) -> None:
        self.records: dict[str, dict[str, Any]] = {}

    def write(self, profile: str, record: dict[str, Any]) -> str:
        self.records[profile] = record
        return f"mem://{profile}"

    def read(self, profile: str) -> dict[str, Any] | None:
        return self.records.get(profile)


class Probe:
    def snapshot(self, profile: str, time_ns: int) -> AccountSnapshot:
        if profile == "alt":
            raise FailedPrecondition("login refused for account 99****66")
        return AccountSnapshot(time_ns, 100.0, 80.0, 20.0, 1.0, 1.0, 0.2, (Position("SHFE.cu2402", long_today=2),))


class Clock:
    def now_ns(self) -> int:
        return 42

    def monotonic_s(self) -> float:
        return 0.0


def test_verify_caches_the_snapshot_and_listing_shows_it() -> None:
    cache = Cache()
    verify = VerifyAccount(Profiles(), Probe(), cache, Clock())
    assert [x.last_check for x in ListAccounts(Profiles(), cache)()] == [None, None]
    check = verify("")  # "" is the default profile
    assert check.ok and check.checked_ns == 42 and check.cache_path == "mem://default"
    rec = cache.records["default"]
    assert rec["account"]["balance"] == 100.0 and rec["masked_account_id"] == "12****78"
    assert rec["positions"] == [{"symbol": "SHFE.cu2402", "long_today": 2, "long_yd": 0, "short_today": 0,
                                 "short_yd": 0}]  # fmt: skip
    listed = ListAccounts(Profiles(), cache)()
    assert listed[0].last_check == rec and listed[1].last_check is None


def test_a_refused_login_is_a_cached_result_not_an_error() -> None:
    cache = Cache()
    check = VerifyAccount(Profiles(), Probe(), cache, Clock())("alt")
    assert not check.ok and "FailedPrecondition" in check.error and check.snapshot is None
    assert cache.records["alt"]["ok"] is False and cache.records["alt"]["account"] is None


def test_an_unknown_profile_is_not_found() -> None:
    with pytest.raises(NotFound, match="nosuch"):
        VerifyAccount(Profiles(), Probe(), Cache(), Clock())("nosuch")
