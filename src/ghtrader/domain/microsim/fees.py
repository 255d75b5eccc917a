"""Commissions per contract: per-lot and per-value rates for OPEN, CLOSE and CLOSETODAY.

``fee = lots * per_lot + price * lots * multiplier * per_value`` with the rates of the fill's
offset. :data:`DEFAULT_FEES` holds plausible SHFE rates for cu / au / ag; they are configurable
defaults chosen to resemble recent exchange schedules plus a broker margin, NOT exchange-published
truth (the exchange changes them, brokers add their own); pass your own :class:`FeeTable`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

__all__ = ["DEFAULT_FEES", "FeeRate", "FeeTable", "fee_table"]


@dataclass(frozen=True, slots=True)
class FeeRate:
    """One offset's rates: currency per lot plus a fraction of the traded value."""

    per_lot: float = 0.0
    per_value: float = 0.0

    def __post_init__(self) -> None:
        if not (self.per_lot >= 0.0 and self.per_value >= 0.0):
            raise ValueError(f"fee rates must be >= 0, got per_lot={self.per_lot}, per_value={self.per_value}")


@dataclass(frozen=True, slots=True)
class FeeTable:
    """Fee rates of one variety by offset (CLOSE = yesterday's position, CLOSETODAY = today's)."""

    variety: str
    open: FeeRate
    close: FeeRate
    close_today: FeeRate

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """``(per_lot, per_value)`` float arrays indexed by the offset codes OPEN, CLOSE, CLOSETODAY."""
        rates = (self.open, self.close, self.close_today)
        return (np.array([r.per_lot for r in rates]), np.array([r.per_value for r in rates]))


DEFAULT_FEES: Mapping[str, FeeTable] = MappingProxyType(
    {
        # copper: 0.5 bp of value to open or close, 1 bp to close today's position
        "cu": FeeTable("cu", FeeRate(per_value=0.5e-4), FeeRate(per_value=0.5e-4), FeeRate(per_value=1.0e-4)),
        # gold: 2 CNY a lot, closing today's position free
        "au": FeeTable("au", FeeRate(per_lot=2.0), FeeRate(per_lot=2.0), FeeRate()),
        # silver: 0.5 bp of value on every offset
        "ag": FeeTable("ag", FeeRate(per_value=0.5e-4), FeeRate(per_value=0.5e-4), FeeRate(per_value=0.5e-4)),
    }
)


def fee_table(variety: str) -> FeeTable:
    """The default fee table of ``variety`` (``"cu"``, ``"au"``, ``"ag"``)."""
    try:
        return DEFAULT_FEES[variety]
    except KeyError:
        raise ValueError(f"no default fees for variety {variety!r}, expected one of {sorted(DEFAULT_FEES)}") from None
