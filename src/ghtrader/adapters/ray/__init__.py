"""FanoutExecutor on a Ray cluster (the only package that imports ray)."""

from ghtrader.adapters.ray.executor import RayFanoutExecutor

__all__ = ["RayFanoutExecutor"]
