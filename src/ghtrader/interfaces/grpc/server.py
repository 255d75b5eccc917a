"""The gRPC server: binding rules, health, reflection, interceptors and graceful shutdown."""

from __future__ import annotations

import ipaddress
import logging
import signal
import threading
from collections.abc import Callable, Sequence
from concurrent import futures
from dataclasses import dataclass
from types import FrameType

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from ghtrader.interfaces.grpc.interceptors import ErrorMappingInterceptor, TokenAuthInterceptor

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServiceRegistration:
    """How to add one servicer: its full service name and the generated ``add_*_to_server``."""

    service_name: str
    register: Callable[[grpc.Server], None]


@dataclass(frozen=True)
class ServerOptions:
    host: str = "127.0.0.1"
    port: int = 50051
    token: str | None = None
    max_workers: int = 8
    grace_s: float = 5.0


class InsecureBindError(ValueError):
    """Refusal to expose the API beyond loopback without a token."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(options: ServerOptions) -> None:
    if not is_loopback(options.host) and not options.token:
        raise InsecureBindError(
            f"refusing to bind {options.host}:{options.port} without an API token: set "
            "GHTRADER_API_TOKEN, or bind 127.0.0.1 and reach the server through an SSH tunnel"
        )


class GrpcServer:
    """A started-on-demand gRPC server; nothing happens until :meth:`start`."""

    def __init__(self, options: ServerOptions, services: Sequence[ServiceRegistration]) -> None:
        check_bind(options)
        self._options = options
        self._services = tuple(services)
        self._server: grpc.Server | None = None
        self._health: health.HealthServicer | None = None
        self.port: int | None = None

    @property
    def target(self) -> str:
        if self.port is None:
            raise RuntimeError("server not started")
        host = self._options.host
        return f"[{host}]:{self.port}" if ":" in host else f"{host}:{self.port}"

    def start(self) -> int:
        interceptors: list[grpc.ServerInterceptor] = []
        if self._options.token:
            interceptors.append(TokenAuthInterceptor(self._options.token))
        interceptors.append(ErrorMappingInterceptor())
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=self._options.max_workers, thread_name_prefix="grpc"),
            interceptors=interceptors,
        )
        for service in self._services:
            service.register(server)
        self._health = health.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        names = [s.service_name for s in self._services]
        reflection.enable_server_reflection(
            [*names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME],
            server,
        )
        address = (
            f"[{self._options.host}]:{self._options.port}"
            if ":" in self._options.host
            else f"{self._options.host}:{self._options.port}"
        )
        port = server.add_insecure_port(address)
        if port == 0:
            raise OSError(f"could not bind {address}: is another server already listening there?")
        server.start()
        for name in ("", *names):
            self._health.set(name, health_pb2.HealthCheckResponse.SERVING)
        self._server, self.port = server, port
        log.info("gRPC server listening on %s (services: %s)", self.target, ", ".join(names))
        return port

    def stop(self, grace_s: float | None = None) -> None:
        if self._server is None:
            return
        if self._health is not None:
            self._health.enter_graceful_shutdown()
        self._server.stop(self._options.grace_s if grace_s is None else grace_s).wait()
        self._server = None
        log.info("gRPC server stopped")

    def wait_for_termination(self) -> None:
        if self._server is not None:
            self._server.wait_for_termination()


def serve_until_signal(server: GrpcServer, on_stop: Callable[[], None] | None = None) -> None:
    """Start, block until SIGTERM/SIGINT, then shut down gracefully (in-flight calls finish)."""
    stop = threading.Event()

    def handle(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s, shutting down", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        server.start()
        stop.wait()
    finally:
        server.stop()
        if on_stop is not None:
            on_stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
