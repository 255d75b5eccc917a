"""Server interceptors: shared-token authentication and application-error mapping.

The error interceptor is the ONE place where exceptions become status codes: servicers raise
application (or domain) errors and never build statuses themselves. Clients never see a
traceback; unexpected errors are logged here with an id the client is given.
"""

from __future__ import annotations

import hmac
import logging
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import grpc

from ghtrader.application import errors as app_errors
from ghtrader.domain.errors import DomainError
from ghtrader.interfaces.grpc.jobs import JobFailed

log = logging.getLogger(__name__)

_STATUS_BY_ERROR: tuple[tuple[type[BaseException], grpc.StatusCode], ...] = (
    (app_errors.InvalidArgument, grpc.StatusCode.INVALID_ARGUMENT),
    (app_errors.NotFound, grpc.StatusCode.NOT_FOUND),
    (app_errors.FailedPrecondition, grpc.StatusCode.FAILED_PRECONDITION),
    (app_errors.ResourceExhausted, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (app_errors.Unavailable, grpc.StatusCode.UNAVAILABLE),
    (DomainError, grpc.StatusCode.INVALID_ARGUMENT),
)

# Health checks stay open so load balancers and `grpc_health_probe` work without the token.
_OPEN_METHODS = frozenset({"/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch"})

_Continuation = Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None]


def status_for(exc: BaseException) -> tuple[grpc.StatusCode, str]:
    """Status code and client-facing message for an exception raised by a servicer."""
    for error_type, code in _STATUS_BY_ERROR:
        if isinstance(exc, error_type):
            return code, str(exc) or error_type.__name__
    if isinstance(exc, JobFailed):  # the job logged its traceback; its message names the log
        return grpc.StatusCode.INTERNAL, str(exc)
    if isinstance(exc, MemoryError):
        return grpc.StatusCode.RESOURCE_EXHAUSTED, "server ran out of memory; retry with a smaller request"
    incident = uuid.uuid4().hex[:12]
    log.error("unhandled error (incident %s)", incident, exc_info=exc)
    return grpc.StatusCode.INTERNAL, f"internal server error (incident {incident}); see the server log"


def _wrap_unary(behavior: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return behavior(request, context)
        except Exception as exc:  # noqa: BLE001 - mapped below, never leaked
            if _is_abort(exc):
                raise
            code, message = status_for(exc)
        context.abort(code, message)

    return wrapper


def _wrap_stream(behavior: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
    def wrapper(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        try:
            yield from behavior(request, context)
            return
        except Exception as exc:  # noqa: BLE001
            if _is_abort(exc):
                raise
            code, message = status_for(exc)
        context.abort(code, message)

    return wrapper


def _is_abort(exc: BaseException) -> bool:
    # context.abort raises a private grpc exception; let it through untouched.
    return type(exc).__module__.startswith("grpc")


def _rebuild(
    handler: grpc.RpcMethodHandler, wrap_unary: Callable[[Any], Any], wrap_stream: Callable[[Any], Any]
) -> grpc.RpcMethodHandler:
    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(
            wrap_unary(handler.unary_unary), handler.request_deserializer, handler.response_serializer
        )
    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(
            wrap_stream(handler.unary_stream), handler.request_deserializer, handler.response_serializer
        )
    if handler.stream_unary:
        return grpc.stream_unary_rpc_method_handler(
            wrap_unary(handler.stream_unary), handler.request_deserializer, handler.response_serializer
        )
    return grpc.stream_stream_rpc_method_handler(
        wrap_stream(handler.stream_stream), handler.request_deserializer, handler.response_serializer
    )


class ErrorMappingInterceptor(grpc.ServerInterceptor):
    """Turns application/domain errors into status codes with an actionable message."""

    def intercept_service(
        self, continuation: _Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler | None:
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        return _rebuild(handler, _wrap_unary, _wrap_stream)


class TokenAuthInterceptor(grpc.ServerInterceptor):
    """Requires ``authorization: Bearer <token>`` metadata on every call but health checks."""

    def __init__(self, token: str) -> None:
        if not token:
            raise ValueError("TokenAuthInterceptor needs a non-empty token")
        self._expected = f"Bearer {token}".encode()

    def _authorised(self, metadata: tuple[tuple[str, str | bytes], ...] | None) -> bool:
        for key, value in metadata or ():
            if key == "authorization":
                given = value.encode() if isinstance(value, str) else value
                return hmac.compare_digest(given, self._expected)
        return False

    def intercept_service(
        self, continuation: _Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler | None:
        handler = continuation(handler_call_details)
        if handler is None or handler_call_details.method in _OPEN_METHODS:
            return handler
        if self._authorised(handler_call_details.invocation_metadata):
            return handler

        def deny_unary(request: Any, context: grpc.ServicerContext) -> Any:
            context.abort(
                grpc.StatusCode.UNAUTHENTICATED,
                "missing or wrong API token: pass --token or set GHTRADER_API_TOKEN to the server's token",
            )

        def deny_stream(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            deny_unary(request, context)
            yield from ()

        return _rebuild(handler, lambda _b: deny_unary, lambda _b: deny_stream)
