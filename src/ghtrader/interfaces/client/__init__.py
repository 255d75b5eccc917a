"""Typed gRPC client shared by the CLI, the dashboard and other tools.

This package is the only thing the CLI and dashboard import from ghTrader; it depends on the
generated ``ghtrader.v1`` messages and grpcio, nothing else of the project.
"""

from ghtrader.interfaces.client.client import (
    ApiError,
    GhTraderClient,
    JobSubmitted,
    ServerUnavailableError,
)
from ghtrader.interfaces.client.views import DiskView, StatusView

__all__ = ["ApiError", "DiskView", "GhTraderClient", "JobSubmitted", "ServerUnavailableError", "StatusView"]
