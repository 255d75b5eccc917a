"""Application errors: each maps to one gRPC status code at the interface layer.

Messages are for a person: say what was wrong and what to do about it.
"""

from __future__ import annotations


class ApplicationError(Exception):
    """Base of errors a use case raises on purpose."""


class InvalidArgument(ApplicationError):
    """The request itself is wrong (bad symbol, bad date range, malformed file)."""


class NotFound(ApplicationError):
    """The named thing does not exist (symbol, run, model)."""


class FailedPrecondition(ApplicationError):
    """The system is not in a state that allows the request (no index yet, config mismatch)."""


class ResourceExhausted(ApplicationError):
    """A limit was hit (disk full, too many jobs, quota)."""


class Unavailable(ApplicationError):
    """A dependency cannot be reached right now (database, data provider); retry later."""
