"""Domain error types.

Every domain error is a ``ValueError`` so callers that only know the standard library still
catch them; messages name the bad input and say what was expected.
"""

from __future__ import annotations

__all__ = ["CalendarError", "DomainError", "InvalidSymbolError", "TickSchemaError"]


class DomainError(ValueError):
    """Base class of every error raised by ``ghtrader.domain``."""


class InvalidSymbolError(DomainError):
    """A symbol, variety key or contract field that does not follow the symbol grammar."""


class CalendarError(DomainError):
    """A holiday list, date or calendar argument that cannot be used."""


class TickSchemaError(DomainError):
    """A tick batch or column set that does not match the L5 tick schema."""
