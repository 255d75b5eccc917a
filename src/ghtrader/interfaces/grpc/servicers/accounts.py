"""AccountService: broker profiles and the read-only verification, translated to messages."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc

from ghtrader.application.accounts import AccountCheck, AccountListing
from ghtrader.application.ports.accounts import BrokerProfile
from ghtrader.interfaces.grpc.server import ServiceRegistration
from ghtrader.v1 import accounts_pb2, accounts_pb2_grpc

__all__ = ["AccountUseCases", "accounts_service"]

_NAN = math.nan
_SNAP_FIELDS = ("balance", "available", "margin", "float_profit", "position_profit", "risk_ratio")


@dataclass(frozen=True)
class AccountUseCases:
    list_accounts: Callable[[], Sequence[AccountListing]]
    verify_account: Callable[[str], AccountCheck]


def _number(value: Any) -> float:
    return _NAN if value is None else float(value)


def _profile(p: BrokerProfile) -> accounts_pb2.AccountProfile:
    return accounts_pb2.AccountProfile(
        profile=p.profile, broker_id=p.broker_id, masked_account_id=p.masked_account_id, has_password=p.has_password
    )


def _check_from_record(p: BrokerProfile, record: dict[str, Any]) -> accounts_pb2.AccountCheck:
    account = record.get("account") or {}
    msg = accounts_pb2.AccountCheck(
        profile=_profile(p),
        ok=bool(record.get("ok")),
        error=str(record.get("error") or ""),
        checked_ns=int(record.get("checked_ns") or 0),
        positions=[
            accounts_pb2.AccountPosition(
                symbol=str(x.get("symbol", "")),
                long_today=int(x.get("long_today", 0)),
                long_yd=int(x.get("long_yd", 0)),
                short_today=int(x.get("short_today", 0)),
                short_yd=int(x.get("short_yd", 0)),
            )  # fmt: skip
            for x in record.get("positions") or []
        ],
    )
    for name in _SNAP_FIELDS:
        setattr(msg, name, _number(account.get(name)))
    return msg


def check_message(check: AccountCheck) -> accounts_pb2.AccountCheck:
    msg = _check_from_record(check.profile, check.to_record())
    msg.cache_path = check.cache_path
    return msg


class AccountServicer(accounts_pb2_grpc.AccountServiceServicer):
    def __init__(self, uc: AccountUseCases) -> None:
        self._uc = uc

    def ListAccounts(
        self, request: accounts_pb2.ListAccountsRequest, context: grpc.ServicerContext
    ) -> accounts_pb2.ListAccountsResponse:
        out = []
        for item in self._uc.list_accounts():
            listing = accounts_pb2.AccountListing(profile=_profile(item.profile), verified=item.last_check is not None)
            if item.last_check is not None:
                listing.last_check.CopyFrom(_check_from_record(item.profile, item.last_check))
            out.append(listing)
        return accounts_pb2.ListAccountsResponse(accounts=out)

    def VerifyAccount(
        self, request: accounts_pb2.VerifyAccountRequest, context: grpc.ServicerContext
    ) -> accounts_pb2.VerifyAccountResponse:
        return accounts_pb2.VerifyAccountResponse(check=check_message(self._uc.verify_account(request.profile)))


def accounts_service(uc: AccountUseCases) -> ServiceRegistration:
    servicer = AccountServicer(uc)
    return ServiceRegistration(
        service_name=accounts_pb2.DESCRIPTOR.services_by_name["AccountService"].full_name,
        register=lambda server: accounts_pb2_grpc.add_AccountServiceServicer_to_server(servicer, server),
    )
