"""The ``ghtrader`` command line: a thin client of the gRPC API (imports only the client package)."""

from ghtrader.interfaces.cli.app import EXIT_CODES, CliHooks, ConnectionDefaults, run

__all__ = ["EXIT_CODES", "CliHooks", "ConnectionDefaults", "run"]
