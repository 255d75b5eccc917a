"""Errors of the regime domain."""

from __future__ import annotations

from ghtrader.domain.errors import DomainError

__all__ = ["RegimeError"]


class RegimeError(DomainError):
    """Invalid regime-model parameters or inputs."""
