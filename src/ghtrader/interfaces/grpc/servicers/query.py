"""QueryService: a read-only SQL statement in, typed columns and rows out."""

from __future__ import annotations

import logging
from collections.abc import Callable

import grpc

from ghtrader.application.ports.query import Cell
from ghtrader.application.query import QueryResult
from ghtrader.interfaces.grpc.server import ServiceRegistration
from ghtrader.v1 import query_pb2, query_pb2_grpc

__all__ = ["RunQueryUseCase", "query_service", "value_message"]

#: ``(sql, max_rows=None | int, timeout_s=None | float) -> QueryResult`` (the RunQuery use case).
RunQueryUseCase = Callable[..., QueryResult]

_log = logging.getLogger("ghtrader.query")


def value_message(value: Cell) -> query_pb2.QueryValue:
    """One cell as a QueryValue (bool before int: a Python bool is an int)."""
    if value is None:
        return query_pb2.QueryValue(is_null=True)
    if isinstance(value, bool):
        return query_pb2.QueryValue(bool_value=value)
    if isinstance(value, int):
        return query_pb2.QueryValue(int_value=value)
    if isinstance(value, float):
        return query_pb2.QueryValue(double_value=value)
    if isinstance(value, bytes):
        return query_pb2.QueryValue(bytes_value=value)
    return query_pb2.QueryValue(text_value=str(value))


class QueryServicer(query_pb2_grpc.QueryServiceServicer):
    def __init__(self, run_query: Callable[[], RunQueryUseCase]) -> None:
        self._run_query = run_query

    def RunQuery(self, request: query_pb2.RunQueryRequest, context: grpc.ServicerContext) -> query_pb2.RunQueryResponse:
        result = self._run_query()(
            request.sql,
            max_rows=request.max_rows if request.HasField("max_rows") else None,
            timeout_s=request.timeout_s if request.HasField("timeout_s") else None,
        )
        _log.info(
            "query: %d rows%s in %.1f ms: %.200s",
            len(result.rows),
            f" (truncated by {result.truncated_by})" if result.truncated else "",
            result.elapsed_s * 1000.0,
            result.statement,
        )
        return query_pb2.RunQueryResponse(
            columns=[query_pb2.QueryColumn(name=c.name, type_name=c.type_name) for c in result.columns],
            rows=[query_pb2.QueryRow(values=[value_message(v) for v in row]) for row in result.rows],
            row_count=len(result.rows),
            truncated=result.truncated,
            truncated_by=result.truncated_by,
            elapsed_ms=result.elapsed_s * 1000.0,
            statement=result.statement,
            store=result.store,
            max_rows=result.max_rows,
            timeout_s=result.timeout_s,
        )


def query_service(run_query: Callable[[], RunQueryUseCase]) -> ServiceRegistration:
    """``run_query`` returns the use case (a provider: the store opens on the first query)."""
    servicer = QueryServicer(run_query)
    return ServiceRegistration(
        service_name=query_pb2.DESCRIPTOR.services_by_name["QueryService"].full_name,
        register=lambda server: query_pb2_grpc.add_QueryServiceServicer_to_server(servicer, server),
    )
