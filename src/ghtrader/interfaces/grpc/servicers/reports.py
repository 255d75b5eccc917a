"""ReportService: figures of written reports, read back for the dashboard and other tools."""

from __future__ import annotations

import grpc

from ghtrader.application.errors import InvalidArgument
from ghtrader.application.ports.reports import ReportFigures
from ghtrader.interfaces.grpc.server import ServiceRegistration
from ghtrader.v1 import reports_pb2, reports_pb2_grpc

__all__ = ["reports_service"]

DEFAULT_BUDGET = 3 << 20
MAX_BUDGET = 3_500_000  # an answer stays under gRPC's default 4 MiB receive limit of any client


class ReportServicer(reports_pb2_grpc.ReportServiceServicer):
    def __init__(self, figures: ReportFigures) -> None:
        self._figures = figures

    def GetReportFigures(
        self, request: reports_pb2.GetReportFiguresRequest, context: grpc.ServicerContext
    ) -> reports_pb2.GetReportFiguresResponse:
        budget = request.max_bytes if request.HasField("max_bytes") else DEFAULT_BUDGET
        if not 1 <= budget <= MAX_BUDGET:
            raise InvalidArgument(f"max_bytes must be in 1..{MAX_BUDGET}, got {budget}")
        figures = self._figures.figures(request.report_path, budget)
        return reports_pb2.GetReportFiguresResponse(
            figures=[reports_pb2.ReportFigureMessage(name=f.name, png=f.png) for f in figures]
        )


def reports_service(figures: ReportFigures) -> ServiceRegistration:
    servicer = ReportServicer(figures)
    return ServiceRegistration(
        service_name=reports_pb2.DESCRIPTOR.services_by_name["ReportService"].full_name,
        register=lambda server: reports_pb2_grpc.add_ReportServiceServicer_to_server(servicer, server),
    )
