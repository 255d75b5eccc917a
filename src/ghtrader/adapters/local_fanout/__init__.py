"""FanoutExecutor on worker processes of this machine (concurrent.futures, spawn start method)."""

from ghtrader.adapters.local_fanout.executor import LocalFanoutExecutor

__all__ = ["LocalFanoutExecutor"]
