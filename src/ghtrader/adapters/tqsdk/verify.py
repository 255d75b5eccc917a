"""AccountProbe over TqSdk: log in to a broker profile's account, read it once, log out.

Read-only by construction: the session is opened, ``get_account`` / ``get_position`` are read
from the login snapshot, and the session is closed; nothing here can send an order. Error
messages have the password and the clear account id replaced (the id by its masked form).
"""

from __future__ import annotations

from collections.abc import Callable

from ghtrader.adapters.tqsdk.account import TqAccountSpec
from ghtrader.adapters.tqsdk.execution import account_snapshot, position_of
from ghtrader.adapters.tqsdk.session import TqSdkConfig, TqSdkSession, reveal_secret, translate_tqsdk_error
from ghtrader.application.errors import ApplicationError
from ghtrader.domain.trading.orders import AccountSnapshot

__all__ = ["TqSdkAccountProbe"]


def _scrub(exc: ApplicationError, spec: TqAccountSpec) -> ApplicationError:
    text = str(exc)
    for secret in spec.secrets:
        text = text.replace(secret, "***")
    account_id = reveal_secret(spec.account_id)
    if account_id:
        text = text.replace(account_id, spec.masked_account_id)
    return type(exc)(text)


class TqSdkAccountProbe:
    """``snapshot(profile)``: a read-only TqSdk login to the account ``spec_of(profile)`` names.

    Args:
        config: the Shinny (TqSdk) login every account goes through.
        spec_of: the account of a profile (raises NotFound for an unknown one).
        session_factory: override of ``TqSdkSession`` (tests).
    """

    def __init__(
        self,
        config: TqSdkConfig,
        spec_of: Callable[[str], TqAccountSpec],
        session_factory: Callable[[TqSdkConfig, TqAccountSpec], TqSdkSession] = TqSdkSession,
    ) -> None:
        self._config = config
        self._spec_of = spec_of
        self._session_factory = session_factory

    def snapshot(self, profile: str, time_ns: int) -> AccountSnapshot:
        spec = self._spec_of(profile)
        try:
            with self._session_factory(self._config, spec) as api:
                positions = []
                for symbol, pos in api.get_position().items():
                    if symbol.startswith("_"):
                        continue
                    p = position_of(symbol, pos)
                    if p.long_today or p.long_yd or p.short_today or p.short_yd:
                        positions.append(p)
                return account_snapshot(api.get_account(), positions, time_ns)
        except ApplicationError as exc:
            raise _scrub(exc, spec) from None
        except Exception as exc:  # reading the snapshot: TqSdk's own failures
            what = f"reading the account of profile {profile!r}"
            raise _scrub(translate_tqsdk_error(exc, what, self._config, spec.secrets), spec) from None
