"""NiceGUI operations console: a gRPC client of the ghTrader server, nothing more.

It imports only the typed client package (importlinter's thin-clients contract); every read is
cached with a TTL and every call runs off the event loop, so a page never waits on the server.
"""

from ghtrader.interfaces.dashboard.config import DashboardConfig, DashboardConfigError

__all__ = ["DashboardConfig", "DashboardConfigError"]
