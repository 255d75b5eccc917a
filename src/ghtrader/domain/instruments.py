"""Instrument identifiers and static contract specifications.

Symbols follow the TqSdk convention: ``SHFE.cu2602`` names one futures contract (exchange,
lowercase variety, two-digit year of the 2000s, two-digit month) and ``KQ.m@SHFE.cu`` names the
continuous main-contract alias of a variety. Only SHFE is accepted for now; the exchange stays a
field everywhere so another one can be added in ``SUPPORTED_EXCHANGES``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from ghtrader.domain.errors import DomainError, InvalidSymbolError

__all__ = [
    "CONTINUOUS_PREFIX",
    "CONTRACT_SPECS",
    "SUPPORTED_EXCHANGES",
    "ContinuousSymbol",
    "ContractSpec",
    "ContractSymbol",
    "SessionWindow",
    "continuous_symbol",
    "contract_spec",
    "format_contract",
    "parse_contract",
    "parse_symbol",
    "variety_key",
]

SUPPORTED_EXCHANGES: frozenset[str] = frozenset({"SHFE"})
CONTINUOUS_PREFIX = "KQ.m@"

_EXPECTED = "expected EXCHANGE.varietyYYMM like 'SHFE.cu2602' or 'KQ.m@SHFE.cu'"
_CONTRACT_RE = re.compile(r"([A-Z]+)\.([a-z]+)([0-9]{2})([0-9]{2})")
_CONTINUOUS_RE = re.compile(r"KQ\.m@([A-Z]+)\.([a-z]+)")
_VARIETY_RE = re.compile(r"([A-Z]+)\.([a-z]+)")
_MINUTES_PER_DAY = 1440


def _check_exchange(exchange: str, text: str) -> None:
    if exchange not in SUPPORTED_EXCHANGES:
        raise InvalidSymbolError(
            f"invalid symbol {text!r}: exchange {exchange!r} is not supported, "
            f"expected one of {sorted(SUPPORTED_EXCHANGES)}"
        )


def _check_variety(variety: str, text: str) -> None:
    if not (isinstance(variety, str) and variety.isascii() and variety.isalpha() and variety.islower()):
        raise InvalidSymbolError(
            f"invalid symbol {text!r}: variety {variety!r} must be lowercase ASCII letters like 'cu'"
        )


@dataclass(frozen=True, slots=True)
class ContractSymbol:
    """One dated futures contract, e.g. ``SHFE.cu2602`` (year 2026, month 2)."""

    exchange: str
    variety: str
    year: int
    month: int

    def __post_init__(self) -> None:
        text = f"{self.exchange}.{self.variety}{self.year}-{self.month}"
        _check_exchange(self.exchange, text)
        _check_variety(self.variety, text)
        if not isinstance(self.year, int) or not 2000 <= self.year <= 2099:
            raise InvalidSymbolError(
                f"invalid contract year {self.year!r} for {self.exchange}.{self.variety}: "
                "expected a four-digit year 2000..2099"
            )
        if not isinstance(self.month, int) or not 1 <= self.month <= 12:
            raise InvalidSymbolError(
                f"invalid contract month {self.month!r} for {self.exchange}.{self.variety}: expected 1..12"
            )

    @property
    def yymm(self) -> str:
        """Two-digit year and month, e.g. ``"2602"``."""
        return f"{self.year % 100:02d}{self.month:02d}"

    @property
    def symbol(self) -> str:
        """The canonical text form, e.g. ``"SHFE.cu2602"``."""
        return f"{self.exchange}.{self.variety}{self.yymm}"

    @property
    def variety_key(self) -> str:
        """``"EXCHANGE.variety"``, e.g. ``"SHFE.cu"``."""
        return f"{self.exchange}.{self.variety}"

    @property
    def expiry_month_index(self) -> int:
        """``year * 12 + month - 1``: consecutive integers in delivery-month order."""
        return self.year * 12 + self.month - 1

    def __str__(self) -> str:
        return self.symbol


@dataclass(frozen=True, slots=True)
class ContinuousSymbol:
    """The continuous main-contract alias of a variety, e.g. ``KQ.m@SHFE.cu``."""

    exchange: str
    variety: str

    def __post_init__(self) -> None:
        text = f"{CONTINUOUS_PREFIX}{self.exchange}.{self.variety}"
        _check_exchange(self.exchange, text)
        _check_variety(self.variety, text)

    @property
    def symbol(self) -> str:
        """The canonical text form, e.g. ``"KQ.m@SHFE.cu"``."""
        return f"{CONTINUOUS_PREFIX}{self.exchange}.{self.variety}"

    @property
    def variety_key(self) -> str:
        """``"EXCHANGE.variety"``, e.g. ``"SHFE.cu"``."""
        return f"{self.exchange}.{self.variety}"

    def __str__(self) -> str:
        return self.symbol


def parse_symbol(text: str) -> ContractSymbol | ContinuousSymbol:
    """Parse ``"SHFE.cu2602"`` or ``"KQ.m@SHFE.cu"`` strictly (no whitespace, exact case).

    Raises:
        InvalidSymbolError: the text follows neither form, names an unsupported exchange or
            has a month outside 01..12.
    """
    if not isinstance(text, str):
        raise InvalidSymbolError(f"invalid symbol {text!r}: {_EXPECTED}")
    m = _CONTRACT_RE.fullmatch(text)
    if m is not None:
        exchange, variety, yy, mm = m.groups()
        _check_exchange(exchange, text)
        month = int(mm)
        if not 1 <= month <= 12:
            raise InvalidSymbolError(f"invalid symbol {text!r}: month {mm!r} is not 01..12; {_EXPECTED}")
        return ContractSymbol(exchange, variety, 2000 + int(yy), month)
    m = _CONTINUOUS_RE.fullmatch(text)
    if m is not None:
        exchange, variety = m.groups()
        _check_exchange(exchange, text)
        return ContinuousSymbol(exchange, variety)
    raise InvalidSymbolError(f"invalid symbol {text!r}: {_EXPECTED}")


def parse_contract(text: str) -> ContractSymbol:
    """Parse a dated contract symbol; a continuous alias is an error here."""
    parsed = parse_symbol(text)
    if not isinstance(parsed, ContractSymbol):
        raise InvalidSymbolError(
            f"invalid contract {text!r}: a continuous alias is not a dated contract; "
            "expected EXCHANGE.varietyYYMM like 'SHFE.cu2602'"
        )
    return parsed


def format_contract(exchange: str, variety: str, year: int, month: int) -> str:
    """Build ``"SHFE.cu2602"`` from its parts; ``year`` is the four-digit year (2000..2099)."""
    return ContractSymbol(exchange, variety, year, month).symbol


def continuous_symbol(exchange: str, variety: str) -> str:
    """Build the continuous alias, e.g. ``continuous_symbol("SHFE", "cu") == "KQ.m@SHFE.cu"``."""
    return ContinuousSymbol(exchange, variety).symbol


def variety_key(text: str) -> str:
    """``"SHFE.cu"`` from ``"SHFE.cu2602"``, ``"KQ.m@SHFE.cu"`` or ``"SHFE.cu"`` itself."""
    if isinstance(text, str):
        m = _VARIETY_RE.fullmatch(text)
        if m is not None:
            exchange, variety = m.groups()
            _check_exchange(exchange, text)
            return text
    return parse_symbol(text).variety_key


@dataclass(frozen=True, slots=True)
class SessionWindow:
    """A trading window in minutes after Beijing midnight of the session's calendar date.

    Night windows that run past midnight keep counting: 21:00-01:00 is ``1260..1500``.
    The window is half-open, ``[start_min, end_min)``.
    """

    start_min: int
    end_min: int

    def __post_init__(self) -> None:
        if not (
            isinstance(self.start_min, int)
            and isinstance(self.end_min, int)
            and 0 <= self.start_min < self.end_min <= 2 * _MINUTES_PER_DAY
        ):
            raise DomainError(
                f"invalid session window {self.start_min!r}..{self.end_min!r}: "
                "expected integers 0 <= start_min < end_min <= 2880"
            )

    @property
    def crosses_midnight(self) -> bool:
        """True when the window runs past 24:00 of its start date."""
        return self.end_min > _MINUTES_PER_DAY

    def __str__(self) -> str:
        def hhmm(minutes: int) -> str:
            return f"{minutes // 60:02d}:{minutes % 60:02d}"

        return f"{hhmm(self.start_min)}-{hhmm(self.end_min)}"


@dataclass(frozen=True, slots=True)
class ContractSpec:
    """Static specification of one variety (price tick, multiplier, trading sessions)."""

    exchange: str
    variety: str
    price_tick: float
    multiplier: float
    day_sessions: tuple[SessionWindow, ...]
    night_session: SessionWindow | None
    listed_months: tuple[int, ...]
    name: str

    @property
    def key(self) -> str:
        """``"EXCHANGE.variety"``, the key of ``CONTRACT_SPECS``."""
        return f"{self.exchange}.{self.variety}"

    @property
    def continuous_symbol(self) -> str:
        """The continuous alias of this variety, e.g. ``"KQ.m@SHFE.cu"``."""
        return continuous_symbol(self.exchange, self.variety)

    def contract(self, year: int, month: int) -> str:
        """The symbol of this variety's contract for ``year``/``month``."""
        return format_contract(self.exchange, self.variety, year, month)


_SHFE_DAY = (
    SessionWindow(9 * 60, 10 * 60 + 15),
    SessionWindow(10 * 60 + 30, 11 * 60 + 30),
    SessionWindow(13 * 60 + 30, 15 * 60),
)
_ALL_MONTHS = tuple(range(1, 13))

CONTRACT_SPECS: Mapping[str, ContractSpec] = MappingProxyType(
    {
        "SHFE.cu": ContractSpec(
            exchange="SHFE",
            variety="cu",
            price_tick=10.0,
            multiplier=5.0,
            day_sessions=_SHFE_DAY,
            night_session=SessionWindow(21 * 60, 25 * 60),
            listed_months=_ALL_MONTHS,
            name="copper",
        ),
        # 0.02 CNY/g is today's tick; the 2020-06-16 catalog snapshot still had 0.05. The live
        # catalog from the data provider is the source of truth at run time.
        "SHFE.au": ContractSpec(
            exchange="SHFE",
            variety="au",
            price_tick=0.02,
            multiplier=1000.0,
            day_sessions=_SHFE_DAY,
            night_session=SessionWindow(21 * 60, 26 * 60 + 30),
            listed_months=_ALL_MONTHS,
            name="gold",
        ),
        "SHFE.ag": ContractSpec(
            exchange="SHFE",
            variety="ag",
            price_tick=1.0,
            multiplier=15.0,
            day_sessions=_SHFE_DAY,
            night_session=SessionWindow(21 * 60, 26 * 60 + 30),
            listed_months=_ALL_MONTHS,
            name="silver",
        ),
    }
)


def contract_spec(symbol_or_variety: str) -> ContractSpec:
    """The spec for ``"SHFE.cu"``, ``"SHFE.cu2602"`` or ``"KQ.m@SHFE.cu"``.

    Raises:
        InvalidSymbolError: malformed text, or a variety with no known spec.
    """
    key = variety_key(symbol_or_variety)
    spec = CONTRACT_SPECS.get(key)
    if spec is None:
        raise InvalidSymbolError(
            f"no contract spec for {symbol_or_variety!r} (variety {key!r}): expected one of {sorted(CONTRACT_SPECS)}"
        )
    return spec
