"""Which TqSdk account a session trades on: TqSim (local), TqKq (Shinny's paper account) or
TqAccount (a real broker account through Shinny's trading gateway)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ghtrader.adapters.tqsdk.session import SecretLike, reveal_secret
from ghtrader.application.errors import InvalidArgument

__all__ = ["ACCOUNT_KINDS", "TqAccountSpec", "mask_id"]

AccountKind = Literal["sim", "kq", "account"]
ACCOUNT_KINDS: tuple[str, ...] = ("sim", "kq", "account")


def mask_id(value: str) -> str:
    """Keep at most the first two and last two characters: ``12345678`` -> ``12****78``."""
    if len(value) <= 4:
        return "*" * len(value)
    return f"{value[:2]}{'*' * (len(value) - 4)}{value[-2:]}"


@dataclass(frozen=True)
class TqAccountSpec:
    """``kind`` sim: ``TqSim(init_balance)``; kq: ``TqKq()``; account: ``TqAccount(broker_id,
    account_id, password)``. ``td_url`` overrides the trading gateway (tests point it at a local
    fake; without it TqSdk looks the broker's gateway up on Shinny's servers). The account id and
    password are never shown by ``repr``."""

    kind: AccountKind = "sim"
    broker_id: str = ""
    account_id: SecretLike = field(default="", repr=False)
    password: SecretLike = field(default="", repr=False)
    td_url: str | None = None
    init_balance: float = 1_000_000.0

    def __post_init__(self) -> None:
        if self.kind not in ACCOUNT_KINDS:
            raise InvalidArgument(f"account kind must be one of {', '.join(ACCOUNT_KINDS)}, got {self.kind!r}")
        if self.kind == "account" and not (self.broker_id and reveal_secret(self.account_id)):
            raise InvalidArgument("a TqAccount needs a broker id and an account id")

    @property
    def is_sim(self) -> bool:
        """A local simulated account (no trading connection, nothing secret)."""
        return self.kind == "sim"

    @property
    def masked_account_id(self) -> str:
        return mask_id(reveal_secret(self.account_id))

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values to redact from any message (non-empty only)."""
        return tuple(s for s in (reveal_secret(self.password),) if s)

    def describe(self) -> str:
        """A safe one-line description, e.g. ``TqAccount(SIMNOW, 12****78)``."""
        if self.kind == "sim":
            return "TqSim"
        if self.kind == "kq":
            return "TqKq"
        return f"TqAccount({self.broker_id}, {self.masked_account_id})"

    def build(self) -> Any:
        """The tqsdk account object (tqsdk must already be imported)."""
        from tqsdk import TqAccount, TqKq, TqSim

        if self.kind == "sim":
            return TqSim(init_balance=self.init_balance)
        if self.kind == "kq":
            return TqKq(td_url=self.td_url)
        return TqAccount(
            self.broker_id, reveal_secret(self.account_id), reveal_secret(self.password), td_url=self.td_url
        )
