"""SQLite adapters: the control plane's job registry and lock table."""

from ghtrader.adapters.sqlite.jobs import SqliteJobStore, process_alive

__all__ = ["SqliteJobStore", "process_alive"]
