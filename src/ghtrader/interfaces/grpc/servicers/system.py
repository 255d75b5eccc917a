"""SystemService."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import grpc

from ghtrader.application.directory_sizes import DirectorySizes
from ghtrader.application.pipeline_readiness import PipelineReadiness
from ghtrader.application.system import SystemStatus
from ghtrader.interfaces.grpc.server import ServiceRegistration
from ghtrader.v1 import system_pb2, system_pb2_grpc


class SystemServicer(system_pb2_grpc.SystemServiceServicer):
    def __init__(
        self,
        get_status: Callable[[], SystemStatus],
        directory_sizes: Callable[[], DirectorySizes] | None = None,
        readiness: Callable[[Sequence[str]], PipelineReadiness] | None = None,
    ) -> None:
        self._get_status = get_status
        self._directory_sizes = directory_sizes
        self._readiness = readiness

    def GetPipelineReadiness(
        self, request: system_pb2.GetPipelineReadinessRequest, context: grpc.ServicerContext
    ) -> system_pb2.GetPipelineReadinessResponse:
        if self._readiness is None:
            context.abort(grpc.StatusCode.UNIMPLEMENTED, "this server does not report pipeline readiness")
        r = self._readiness(list(request.varieties))
        return system_pb2.GetPipelineReadinessResponse(
            store_reachable=r.store_reachable,
            store_detail=r.store_detail,
            varieties=[
                system_pb2.VarietyReadiness(
                    variety=v.variety,
                    raw_contracts=v.raw_contracts,
                    schedule_present=v.schedule_present,
                    main_l5_days=v.main_l5_days,
                    main_l5_last_day=v.main_l5_last_day,
                    error=v.error,
                )
                for v in r.varieties
            ],
        )

    def GetDirectorySizes(
        self, request: system_pb2.GetDirectorySizesRequest, context: grpc.ServicerContext
    ) -> system_pb2.GetDirectorySizesResponse:
        if self._directory_sizes is None:
            return system_pb2.GetDirectorySizesResponse()
        d = self._directory_sizes()
        return system_pb2.GetDirectorySizesResponse(
            sizes=[
                system_pb2.DirectorySize(
                    path=x.path,
                    bytes=x.bytes,
                    files=x.files,
                    partial=x.partial,
                    walk_seconds=x.walk_seconds,
                    measured_ns=x.measured_ns,
                    error=x.error,
                )
                for x in d.sizes
            ],
            measuring=d.measuring,
            ttl_seconds=d.ttl_s,
            budget_seconds=d.budget_s,
        )

    def GetStatus(
        self, request: system_pb2.GetStatusRequest, context: grpc.ServicerContext
    ) -> system_pb2.GetStatusResponse:
        s = self._get_status()
        return system_pb2.GetStatusResponse(
            version=s.version,
            git_commit=s.git_commit,
            uptime_seconds=s.uptime_seconds,
            server_time_ns=s.server_time_ns,
            store=system_pb2.StoreStatus(backend=s.store.backend, reachable=s.store.reachable, detail=s.store.detail),
            cpu_percent=s.host.cpu_percent,
            cpu_count=s.host.cpu_count,
            memory_used_bytes=s.host.memory_used_bytes,
            memory_total_bytes=s.host.memory_total_bytes,
            disks=[
                system_pb2.DiskUsage(
                    path=d.path, used_bytes=d.used_bytes, free_bytes=d.free_bytes, total_bytes=d.total_bytes
                )
                for d in s.host.disks
            ],
            gpu=s.host.gpu,
            provider=s.provider,
        )


def system_service(
    get_status: Callable[[], SystemStatus],
    directory_sizes: Callable[[], DirectorySizes] | None = None,
    readiness: Callable[[Sequence[str]], PipelineReadiness] | None = None,
) -> ServiceRegistration:
    servicer = SystemServicer(get_status, directory_sizes, readiness)
    return ServiceRegistration(
        service_name=system_pb2.DESCRIPTOR.services_by_name["SystemService"].full_name,
        register=lambda server: system_pb2_grpc.add_SystemServiceServicer_to_server(servicer, server),
    )
