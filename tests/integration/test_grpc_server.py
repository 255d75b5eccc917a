"""The real gRPC stack in-process: health, reflection, token auth, error mapping, bind rules."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from ghtrader.application import errors
from ghtrader.application.system import GetSystemStatus, SystemStatus
from ghtrader.domain.errors import InvalidSymbolError
from ghtrader.interfaces.client import ApiError, GhTraderClient
from ghtrader.interfaces.grpc.server import GrpcServer, InsecureBindError, ServerOptions
from ghtrader.interfaces.grpc.servicers.system import system_service
from tests.fakes.system import FakeClock, InMemoryHostProbe, InMemoryStoreProbe

pytestmark = pytest.mark.integration


def _status() -> GetSystemStatus:
    clock = FakeClock()
    return GetSystemStatus(
        clock=clock,
        host_probe=InMemoryHostProbe(),
        store_probe=InMemoryStoreProbe(),
        version="9.9.9",
        git_commit="abc",
        provider="synthetic",
    )


@pytest.fixture
def serve() -> Iterator[Callable[..., GrpcServer]]:
    started: list[GrpcServer] = []

    def start(get_status: Callable[[], SystemStatus] | None = None, token: str | None = None) -> GrpcServer:
        server = GrpcServer(
            ServerOptions(host="127.0.0.1", port=0, token=token), [system_service(get_status or _status())]
        )
        server.start()
        started.append(server)
        return server

    yield start
    for s in started:
        s.stop(grace_s=0)


def test_status_round_trip(serve: Callable[..., GrpcServer]) -> None:
    server = serve()
    with GhTraderClient(server.target) as client:
        status = client.get_status()
    assert status.version == "9.9.9"
    assert status.store_reachable and status.store_backend == "memory"
    assert status.disks[0].path == "data"
    assert status.gpu == "no GPU: test"


def test_health_and_reflection_list_the_services(serve: Callable[..., GrpcServer]) -> None:
    server = serve()
    with grpc.insecure_channel(server.target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        reply = health.Check(health_pb2.HealthCheckRequest(service="ghtrader.v1.SystemService"), timeout=5)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        responses = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
        names = {s.name for r in responses for s in r.list_services_response.service}
    assert {"ghtrader.v1.SystemService", "grpc.health.v1.Health"} <= names


def test_wrong_or_missing_token_is_unauthenticated(serve: Callable[..., GrpcServer]) -> None:
    server = serve(token="s3cret")
    for token in (None, "wrong"):
        with GhTraderClient(server.target, token=token) as client, pytest.raises(ApiError) as info:
            client.get_status()
        assert info.value.code == "UNAUTHENTICATED"
        assert "s3cret" not in str(info.value)
    with GhTraderClient(server.target, token="s3cret") as client:
        assert client.get_status().version == "9.9.9"
    with grpc.insecure_channel(server.target) as channel:  # health stays open
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (errors.InvalidArgument("bad date range 2024-02-30"), "INVALID_ARGUMENT"),
        (InvalidSymbolError("invalid symbol 'XX'"), "INVALID_ARGUMENT"),
        (errors.NotFound("no such run r1"), "NOT_FOUND"),
        (errors.FailedPrecondition("run data bootstrap-index first"), "FAILED_PRECONDITION"),
        (errors.ResourceExhausted("disk full"), "RESOURCE_EXHAUSTED"),
        (errors.Unavailable("database down, retry"), "UNAVAILABLE"),
    ],
)
def test_application_errors_map_to_status_codes(serve: Callable[..., GrpcServer], exc: Exception, code: str) -> None:
    def boom() -> SystemStatus:
        raise exc

    server = serve(get_status=boom)
    with GhTraderClient(server.target) as client, pytest.raises(ApiError) as info:
        client.get_status()
    assert info.value.code == code
    assert info.value.message == str(exc)


def test_unexpected_error_is_internal_without_traceback(serve: Callable[..., GrpcServer]) -> None:
    def boom() -> SystemStatus:
        raise KeyError("secret internals")

    server = serve(get_status=boom)
    with GhTraderClient(server.target) as client, pytest.raises(ApiError) as info:
        client.get_status()
    assert info.value.code == "INTERNAL"
    assert "incident" in info.value.message
    assert "Traceback" not in info.value.message and "secret internals" not in info.value.message


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::"])
def test_non_loopback_bind_without_token_is_refused(host: str) -> None:
    with pytest.raises(InsecureBindError, match="GHTRADER_API_TOKEN"):
        GrpcServer(ServerOptions(host=host, port=0), [])


def test_non_loopback_bind_with_token_is_allowed() -> None:
    GrpcServer(ServerOptions(host="0.0.0.0", port=0, token="t"), [])  # constructed, not started
