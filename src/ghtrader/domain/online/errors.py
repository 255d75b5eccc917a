"""Errors of the online learning package."""

from __future__ import annotations

from ghtrader.domain.errors import DomainError

__all__ = ["OnlineError"]


class OnlineError(DomainError):
    """An online detector, buffer or calibrator parameter or input that cannot be used."""
