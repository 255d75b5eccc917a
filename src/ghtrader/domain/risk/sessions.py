"""When an instrument may be traded: the session-time guard of the risk engine."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

from ghtrader.domain.calendar import TradingCalendar
from ghtrader.domain.instruments import ContractSpec, contract_spec

__all__ = ["CalendarSessions", "FunctionSessions", "SessionClock"]


class SessionClock(Protocol):
    """Anything that says whether ``symbol`` trades at the epoch-ns instant ``time_ns``."""

    def is_open(self, symbol: str, time_ns: int) -> bool: ...


class CalendarSessions:
    """Sessions of each instrument from the SHFE trading calendar and its :class:`ContractSpec`.

    Args:
        calendar: trading days and night-session rules.
        specs: ``symbol -> spec`` overrides; any other symbol uses :func:`contract_spec` of its
            variety (``SHFE.cu2602`` -> ``SHFE.cu``).
        end_grace_ns: widens every window end (0: orders at or after the bell are refused).
    """

    def __init__(
        self,
        calendar: TradingCalendar,
        specs: Mapping[str, ContractSpec] | None = None,
        *,
        end_grace_ns: int = 0,
    ) -> None:
        if end_grace_ns < 0:
            raise ValueError(f"end_grace_ns must be >= 0, got {end_grace_ns}")
        self._calendar = calendar
        self._specs: dict[str, ContractSpec] = dict(specs or {})
        self._grace = int(end_grace_ns)

    def spec(self, symbol: str) -> ContractSpec:
        """The spec used for ``symbol`` (cached after the first look-up)."""
        spec = self._specs.get(symbol)
        if spec is None:
            spec = contract_spec(symbol)
            self._specs[symbol] = spec
        return spec

    def is_open(self, symbol: str, time_ns: int) -> bool:
        """Whether ``time_ns`` falls inside a day or night session of ``symbol``'s trading day."""
        return self._calendar.session_of(time_ns, self.spec(symbol), end_grace_ns=self._grace) is not None


class FunctionSessions:
    """Adapts a plain ``fn(symbol, time_ns) -> bool`` to :class:`SessionClock`."""

    def __init__(self, fn: Callable[[str, int], bool]) -> None:
        self._fn = fn

    def is_open(self, symbol: str, time_ns: int) -> bool:
        return bool(self._fn(symbol, time_ns))
