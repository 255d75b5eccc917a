"""Online learning at tick time: drift detectors, a delayed-label buffer and a calibrator.

Pure domain code (stdlib, NumPy, numba): the trading runner feeds it one tick at a time.
"""

from ghtrader.domain.online.detectors import Adwin, Ddm, DriftDetector, PageHinkley
from ghtrader.domain.online.errors import OnlineError
from ghtrader.domain.online.label_buffer import BufferStats, DelayedLabelBuffer, ResolvedRow

__all__ = [
    "Adwin",
    "BufferStats",
    "Ddm",
    "DelayedLabelBuffer",
    "DriftDetector",
    "OnlineError",
    "PageHinkley",
    "ResolvedRow",
]
