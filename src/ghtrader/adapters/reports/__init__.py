"""Rich report adapter: benchmark / compare reports as JSON, matplotlib PNGs and one HTML page."""

from ghtrader.adapters.reports.writer import MatplotlibBenchmarkReportWriter

__all__ = ["MatplotlibBenchmarkReportWriter"]
