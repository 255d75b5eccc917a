"""Offline changepoint detection with ruptures (the only package that imports it)."""

from ghtrader.adapters.changepoints.pelt import RupturesPeltSegmenter

__all__ = ["RupturesPeltSegmenter"]
