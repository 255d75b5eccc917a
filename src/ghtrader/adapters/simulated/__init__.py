"""The project's own simulated venue: orders filled by the micro-simulator's models over a feed."""

from ghtrader.adapters.simulated.execution import SimulatedExecutionProvider

__all__ = ["SimulatedExecutionProvider"]
