"""Online learning at tick time: drift detectors, a delayed-label buffer and a calibrator.

Pure domain code (stdlib, NumPy, numba): the trading runner feeds it one tick at a time.
See docs/online_calibration.md.
"""

from ghtrader.domain.online.calibrator import (
    CALIBRATOR_ARMED,
    SIGNALS_DISABLED,
    CalibratorConfig,
    CalibratorEvent,
    CalibratorState,
    OnlineCalibrator,
)
from ghtrader.domain.online.detectors import Adwin, Ddm, DriftDetector, PageHinkley
from ghtrader.domain.online.errors import OnlineError
from ghtrader.domain.online.label_buffer import BufferStats, DelayedLabelBuffer, ResolvedRow

__all__ = [
    "CALIBRATOR_ARMED",
    "SIGNALS_DISABLED",
    "Adwin",
    "BufferStats",
    "CalibratorConfig",
    "CalibratorEvent",
    "CalibratorState",
    "Ddm",
    "DelayedLabelBuffer",
    "DriftDetector",
    "OnlineCalibrator",
    "OnlineError",
    "PageHinkley",
    "ResolvedRow",
]
