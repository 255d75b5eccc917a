"""Read-only SQL over the active store: the validator and the RunQuery use case."""

from ghtrader.application.query.run import (
    DEFAULT_MAX_ROWS,
    DEFAULT_TIMEOUT_S,
    MAX_ROWS_LIMIT,
    MAX_TIMEOUT_S,
    QueryResult,
    RunQuery,
)
from ghtrader.application.query.validate import QueryRefused, ValidStatement, validate_statement

__all__ = [
    "DEFAULT_MAX_ROWS",
    "DEFAULT_TIMEOUT_S",
    "MAX_ROWS_LIMIT",
    "MAX_TIMEOUT_S",
    "QueryRefused",
    "QueryResult",
    "RunQuery",
    "ValidStatement",
    "validate_statement",
]
