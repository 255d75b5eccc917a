"""GhTraderClient: one method per RPC, typed views back, clear errors."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import TypeVar

import grpc

from ghtrader.interfaces.client.views import DiskView, StatusView
from ghtrader.v1 import system_pb2, system_pb2_grpc

T = TypeVar("T")


class ServerUnavailableError(ConnectionError):
    """No ghTrader server answers at the target."""

    def __init__(self, target: str, detail: str) -> None:
        super().__init__(
            f"no ghTrader server at {target} ({detail}). Start one with `ghtrader serve` "
            "(or `make serve`), or run the command in-process with `ghtrader --local ...`."
        )
        self.target = target


class ApiError(RuntimeError):
    """The server answered with an error status; ``code`` is the gRPC status name."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class GhTraderClient:
    """Synchronous client. Use as a context manager or call :meth:`close`."""

    def __init__(self, target: str, *, token: str | None = None, timeout_s: float = 30.0) -> None:
        self.target = target
        self._timeout_s = timeout_s
        self._metadata = (("authorization", f"Bearer {token}"),) if token else ()
        self._channel = grpc.insecure_channel(target)
        self._system = system_pb2_grpc.SystemServiceStub(self._channel)

    def __enter__(self) -> GhTraderClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()

    def _call(self, fn: Callable[..., T], request: object, timeout_s: float | None = None) -> T:
        try:
            return fn(request, timeout=timeout_s or self._timeout_s, metadata=self._metadata)
        except grpc.RpcError as exc:
            code = exc.code() if hasattr(exc, "code") else grpc.StatusCode.UNKNOWN
            details = exc.details() if hasattr(exc, "details") else str(exc)
            if code == grpc.StatusCode.UNAVAILABLE and "failed to connect" in (details or "").lower():
                raise ServerUnavailableError(self.target, details or "connection failed") from None
            if code == grpc.StatusCode.UNAVAILABLE and "connect" in (details or "").lower():
                raise ServerUnavailableError(self.target, details or "connection failed") from None
            raise ApiError(code.name, details or "") from None

    def get_status(self) -> StatusView:
        r = self._call(self._system.GetStatus, system_pb2.GetStatusRequest())
        return StatusView(
            version=r.version,
            git_commit=r.git_commit,
            uptime_seconds=r.uptime_seconds,
            server_time_ns=r.server_time_ns,
            store_backend=r.store.backend,
            store_reachable=r.store.reachable,
            store_detail=r.store.detail,
            cpu_percent=r.cpu_percent,
            cpu_count=r.cpu_count,
            memory_used_bytes=r.memory_used_bytes,
            memory_total_bytes=r.memory_total_bytes,
            disks=tuple(DiskView(d.path, d.used_bytes, d.free_bytes, d.total_bytes) for d in r.disks),
            gpu=r.gpu,
            provider=r.provider,
        )
