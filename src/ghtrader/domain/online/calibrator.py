"""Online calibrator: a small multinomial logistic model on top of a trained model's output.

Inputs per row: the model's class probabilities ``p`` (C of them) and the factor vector ``f``
(F values). ``z = [log p, clip((f - mean) / scale, +-clip)]`` and the calibrated probabilities
are ``q = softmax(W z + b)``. ``W`` starts as ``[I | 0]`` and ``b`` as 0, so an untrained
calibrator returns ``p`` unchanged; it learns from rows whose event-time label has resolved
(:class:`~ghtrader.domain.online.label_buffer.DelayedLabelBuffer`) by Adagrad on the
multinomial log-loss, with an L2 pull of ``W`` back towards its identity start. It can undo
over- or under-confidence (the log-probability weights act as an inverse temperature per
class), shift class priors (``b``) and add what a factor says that the model ignored (the
factor weights). ``mean`` / ``scale`` are running (Welford) statistics of the learned rows
unless fixed ones (e.g. the training set's) are given.

Evaluation is prequential: each row is scored with the weights as they were before it is
learned, giving per-row log-losses of the raw model and of the calibrator.

When the calibrated probabilities are served (``mode``):

- ``warmup``: raw probabilities until ``warmup`` labelled rows were learned.
- ``active``: calibrated probabilities.
- ``fallback``: a drift detector fired on the calibrator's per-row log-loss (ADWIN when the
  window's mean went up, Page-Hinkley upward) or on its 0/1 error (DDM): raw probabilities, the
  detectors and the Adagrad accumulators restart (so the weights adapt fast), and after
  ``cooldown`` more rows without a new drift it re-arms (``active``).
- ``disabled`` (latched until :meth:`OnlineCalibrator.reset`): a weight became non-finite,
  ``max_bad_rows`` rows in a row had non-finite inputs, or, after warm-up, over the last
  ``window`` rows the calibrator's mean log-loss exceeded the raw model's by more than
  ``margin`` nats (the comparison window restarts when warm-up ends).

Every switch away from calibrated probabilities returns a ``signals_disabled`` event with its
reason (the runner logs it); re-arming returns ``calibrator_armed``. Everything is a pure
function of the rows fed in: no clock, no randomness.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from ghtrader.domain.online._kernels import build_inputs, learn_step, softmax_into, welford_update
from ghtrader.domain.online.detectors import Adwin, Ddm, DriftDetector, PageHinkley
from ghtrader.domain.online.errors import OnlineError

__all__ = [
    "CALIBRATOR_ARMED",
    "SIGNALS_DISABLED",
    "CalibratorConfig",
    "CalibratorEvent",
    "CalibratorState",
    "OnlineCalibrator",
]

SIGNALS_DISABLED = "signals_disabled"
CALIBRATOR_ARMED = "calibrator_armed"
MODES = ("warmup", "active", "fallback", "disabled")
#: Per-row log-losses fed to the detectors are capped here (one confident miss must not read
#: as a regime change).
LOSS_CAP = 10.0
_ADA_EPS = 1e-12


@dataclass(frozen=True, slots=True, kw_only=True)
class CalibratorConfig:
    """Parameters of :class:`OnlineCalibrator` (module docstring for their roles).

    Attributes:
        n_features: length of the factor vector.
        n_classes: number of classes of the model probabilities.
        learning_rate: Adagrad base step.
        l2: strength of the pull of ``W`` towards its identity start.
        warmup: labelled rows learned before calibrated probabilities are served.
        window: rows of the rolling raw-vs-calibrated log-loss comparison.
        margin: nats by which the calibrator's rolling log-loss may exceed the raw one's.
        cooldown: rows without a drift after a fallback before re-arming.
        clip: standardised features are clipped to ``[-clip, clip]``.
        prob_floor: probabilities are floored here before their log.
        max_bad_rows: consecutive rows with non-finite inputs before disabling.
        detector_stride: the detectors see the mean log-loss and mean error of each block of
            this many rows. Set it to the label horizon ``H``: labels of consecutive ticks
            overlap, so their losses are strongly dependent, and the detectors' false-alarm
            bounds assume independent inputs.
    """

    n_features: int
    n_classes: int = 3
    learning_rate: float = 0.02
    l2: float = 1e-4
    warmup: int = 500
    window: int = 5000
    margin: float = 0.02
    cooldown: int = 500
    clip: float = 5.0
    prob_floor: float = 1e-6
    max_bad_rows: int = 100
    detector_stride: int = 1

    def __post_init__(self) -> None:
        for name in ("n_features", "warmup", "window", "cooldown", "max_bad_rows", "detector_stride"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < (0 if name in ("n_features", "warmup") else 1):
                raise OnlineError(f"invalid {name}={v!r}: expected a non-negative int (window etc. >= 1)")
        if isinstance(self.n_classes, bool) or not isinstance(self.n_classes, int) or self.n_classes < 2:
            raise OnlineError(f"invalid n_classes={self.n_classes!r}: expected an int >= 2")
        for name in ("learning_rate", "clip", "prob_floor"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not (math.isfinite(v) and v > 0):
                raise OnlineError(f"invalid {name}={v!r}: expected a finite number > 0")
        for name in ("l2", "margin"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not (math.isfinite(v) and v >= 0):
                raise OnlineError(f"invalid {name}={v!r}: expected a finite number >= 0")


@dataclass(frozen=True, slots=True)
class CalibratorEvent:
    """A change of what the calibrator serves: ``event`` is :data:`SIGNALS_DISABLED` or
    :data:`CALIBRATOR_ARMED`."""

    event: str
    reason: str
    n_updates: int


@dataclass(frozen=True, slots=True)
class CalibratorState:
    """Snapshot for logging."""

    mode: str
    enabled: bool  # calibrated probabilities are served
    reason: str  # why not (empty when enabled)
    n_updates: int  # labelled rows learned
    n_skipped: int  # rows skipped for non-finite inputs
    n_drifts: int
    rolling_rows: int
    rolling_ll_raw: float  # mean per-row log-loss over the last rolling_rows rows (NaN when 0)
    rolling_ll_cal: float

    def as_dict(self) -> dict[str, object]:
        """Plain dict for a JSON log line (NaN log-losses as None)."""
        d = asdict(self)
        for key in ("rolling_ll_raw", "rolling_ll_cal"):
            if math.isnan(d[key]):
                d[key] = None
        return d


def default_loss_detectors() -> list[DriftDetector]:
    """ADWIN and an upward Page-Hinkley on the calibrated per-row log-loss."""
    return [Adwin(delta=0.002), PageHinkley(delta=0.05, threshold=50.0, direction="up")]


def default_error_detectors() -> list[DriftDetector]:
    """DDM on the calibrated 0/1 error (arg-max class != label)."""
    return [Ddm()]


class OnlineCalibrator:
    """Multinomial logistic calibrator learned online (module docstring).

    Args:
        config: the parameters.
        feature_mean, feature_scale: fixed standardisation (both or neither); running
            statistics of the learned rows otherwise.
        loss_detectors: fed the calibrated per-row log-loss (capped at :data:`LOSS_CAP`).
        error_detectors: fed the calibrated 0/1 error.
    """

    def __init__(
        self,
        config: CalibratorConfig,
        feature_mean: np.ndarray | None = None,
        feature_scale: np.ndarray | None = None,
        loss_detectors: Sequence[DriftDetector] | None = None,
        error_detectors: Sequence[DriftDetector] | None = None,
    ) -> None:
        self.config = config
        c, f = config.n_classes, config.n_features
        if (feature_mean is None) != (feature_scale is None):
            raise OnlineError("invalid standardisation: give both feature_mean and feature_scale, or neither")
        self._fixed_scale = feature_mean is not None
        if feature_mean is not None and feature_scale is not None:
            mean = np.array(feature_mean, dtype=np.float64)
            scale = np.array(feature_scale, dtype=np.float64)
            if mean.shape != (f,) or scale.shape != (f,) or not (np.isfinite(mean).all() and np.isfinite(scale).all()):
                raise OnlineError(f"invalid feature_mean / feature_scale: expected finite arrays of shape ({f},)")
            self._mean0, self._scale0 = mean, scale
        else:
            self._mean0, self._scale0 = np.zeros(f), np.zeros(f)
        self._loss_detectors = list(default_loss_detectors() if loss_detectors is None else loss_detectors)
        self._error_detectors = list(default_error_detectors() if error_detectors is None else error_detectors)
        self._w0 = np.zeros((c, c + f))
        self._w0[:, :c] = np.eye(c)
        self._z = np.zeros(c + f)
        self._p = np.zeros(c)
        self._q = np.zeros(c)
        self.reset()

    def reset(self) -> None:
        """Forget everything learned (weights, statistics, detectors, mode): e.g. on a roll."""
        c, f = self.config.n_classes, self.config.n_features
        self._w = self._w0.copy()
        self._b = np.zeros(c)
        self._g2w = np.zeros((c, c + f))
        self._g2b = np.zeros(c)
        self._count = np.zeros(1)
        self._mean = self._mean0.copy()
        self._m2 = np.zeros(f)
        self._scale = self._scale0.copy()
        for det in self._loss_detectors + self._error_detectors:
            det.reset()
        self._ll_raw = np.zeros(self.config.window)
        self._ll_cal = np.zeros(self.config.window)
        self._restart_rolling()
        self._block_loss = self._block_error = 0.0
        self._block_n = 0
        self._n_updates = 0
        self._n_skipped = 0
        self._bad_run = 0
        self._n_drifts = 0
        self._mode = "warmup" if self.config.warmup > 0 else "active"
        self._reason = "warm-up" if self.config.warmup > 0 else ""
        self._cooldown_left = 0

    @property
    def mode(self) -> str:
        """``warmup`` | ``active`` | ``fallback`` | ``disabled``."""
        return self._mode

    @property
    def enabled(self) -> bool:
        """Whether :meth:`predict` serves calibrated probabilities."""
        return self._mode == "active"

    @property
    def weights(self) -> tuple[np.ndarray, np.ndarray]:
        """Copies of ``(W, b)``; ``W`` columns: log-probabilities, then standardised features."""
        return self._w.copy(), self._b.copy()

    def state(self) -> CalibratorState:
        """What to log."""
        n = self._roll_n
        return CalibratorState(
            mode=self._mode,
            enabled=self.enabled,
            reason=self._reason,
            n_updates=self._n_updates,
            n_skipped=self._n_skipped,
            n_drifts=self._n_drifts,
            rolling_rows=n,
            rolling_ll_raw=float(self._roll_raw / n) if n else math.nan,
            rolling_ll_cal=float(self._roll_cal / n) if n else math.nan,
        )

    def _checked(self, probs: np.ndarray, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p = np.asarray(probs, dtype=np.float64)
        f = np.asarray(features, dtype=np.float64)
        cfg = self.config
        if p.shape != (cfg.n_classes,) or f.shape != (cfg.n_features,):
            raise OnlineError(
                f"invalid row shapes probs {p.shape}, features {f.shape}: "
                f"expected ({cfg.n_classes},) and ({cfg.n_features},)"
            )
        return p, f

    def _inputs(self, p: np.ndarray, f: np.ndarray) -> bool:
        cfg = self.config
        return bool(build_inputs(p, f, self._mean, self._scale, cfg.clip, cfg.prob_floor, self._z, self._p))

    def calibrate(self, probs: np.ndarray, features: np.ndarray) -> np.ndarray:
        """The calibrated probabilities whatever the mode (NaN when inputs are not finite)."""
        p, f = self._checked(probs, features)
        if not self._inputs(p, f) or not softmax_into(self._w, self._b, self._z, self._q):
            return np.full(self.config.n_classes, np.nan)
        return self._q.copy()

    def predict(self, probs: np.ndarray, features: np.ndarray) -> np.ndarray:
        """Calibrated probabilities when :attr:`enabled`, else the raw ``probs`` (as float64);
        raw too when an input is not finite."""
        raw, f = self._checked(probs, features)
        raw = raw.copy()
        if self._mode != "active":
            return raw
        if not self._inputs(raw, f) or not softmax_into(self._w, self._b, self._z, self._q):
            return raw
        return self._q.copy()

    def update(self, probs: np.ndarray, features: np.ndarray, label: int) -> CalibratorEvent | None:
        """Learn one labelled row (its probabilities and features as pushed when it was
        predicted); return the event of a mode change, if any."""
        cfg = self.config
        if isinstance(label, bool) or not isinstance(label, (int, np.integer)) or not 0 <= label < cfg.n_classes:
            raise OnlineError(f"invalid label={label!r}: expected an int in [0, {cfg.n_classes})")
        if self._mode == "disabled":
            return None
        y = int(label)
        p, feats = self._checked(probs, features)
        if not self._inputs(p, feats):
            self._n_skipped += 1
            self._bad_run += 1
            if self._bad_run >= cfg.max_bad_rows:
                return self._disable(
                    f"non_finite_inputs: {self._bad_run} consecutive rows with non-finite probabilities or features"
                )
            return None
        self._bad_run = 0
        if not softmax_into(self._w, self._b, self._z, self._q):
            return self._disable("non_finite_weights: a calibrated logit is not finite")
        ll_raw = -math.log(self._p[y])
        ll_cal = -math.log(max(self._q[y], 1e-300))
        error = 0.0 if int(np.argmax(self._q)) == y else 1.0
        if not learn_step(
            self._w, self._b, self._w0, self._g2w, self._g2b, self._z, self._q, y, cfg.learning_rate, cfg.l2, _ADA_EPS
        ):
            return self._disable("non_finite_weights: a weight became non-finite after an update")
        if not self._fixed_scale:
            welford_update(feats, self._count, self._mean, self._m2, self._scale)
        self._n_updates += 1
        self._roll(ll_raw, ll_cal)
        drift = self._detect(min(ll_cal, LOSS_CAP), error)
        return self._transition(drift)

    def _restart_rolling(self) -> None:
        self._roll_n = 0
        self._roll_i = 0
        self._roll_raw = 0.0
        self._roll_cal = 0.0

    def _roll(self, ll_raw: float, ll_cal: float) -> None:
        i = self._roll_i
        self._roll_i = (i + 1) % self.config.window
        if self._roll_n == self.config.window:
            self._roll_raw -= self._ll_raw[i]
            self._roll_cal -= self._ll_cal[i]
        else:
            self._roll_n += 1
        self._ll_raw[i] = ll_raw
        self._ll_cal[i] = ll_cal
        self._roll_raw += ll_raw
        self._roll_cal += ll_cal

    def _detect(self, loss: float, error: float) -> str:
        stride = self.config.detector_stride
        if stride > 1:
            self._block_loss += loss
            self._block_error += error
            self._block_n += 1
            if self._block_n < stride:
                return ""
            loss, error = self._block_loss / stride, self._block_error / stride
            self._block_loss = self._block_error = 0.0
            self._block_n = 0
        fired = ""
        for det in self._loss_detectors:
            # ADWIN also cuts when the loss falls (the calibrator learning): only a rise counts
            if det.update(loss) and not (isinstance(det, Adwin) and det.last_shift <= 0.0) and not fired:
                fired = f"{det.name} on calibrated log-loss"
        for det in self._error_detectors:
            if det.update(error) and not fired:
                fired = f"{det.name} on calibrated error"
        return fired

    def _transition(self, drift: str) -> CalibratorEvent | None:
        cfg = self.config
        n = self._n_updates
        if drift:
            self._n_drifts += 1
            for det in self._loss_detectors + self._error_detectors:
                det.reset()
            self._g2w.fill(0.0)
            self._g2b.fill(0.0)
            if self._mode in ("active", "fallback"):
                was_active = self._mode == "active"
                self._mode = "fallback"
                self._cooldown_left = cfg.cooldown
                self._reason = f"drift: {drift} at update {n}; raw model for at least {cfg.cooldown} rows"
                if was_active:
                    return CalibratorEvent(SIGNALS_DISABLED, self._reason, n)
                return None
        if self._roll_n == cfg.window and self._mode != "warmup":
            raw, cal = self._roll_raw / cfg.window, self._roll_cal / cfg.window
            if cal > raw + cfg.margin:
                return self._disable(
                    f"worse_than_raw: rolling log-loss {cal:.4f} vs raw {raw:.4f} over {cfg.window} rows "
                    f"(margin {cfg.margin})"
                )
        if self._mode == "warmup" and n >= cfg.warmup:
            self._mode, self._reason = "active", ""
            self._restart_rolling()  # judge the calibrator on what it serves, not on its first steps
            return CalibratorEvent(CALIBRATOR_ARMED, f"warm-up done after {n} rows", n)
        if self._mode == "fallback":
            self._cooldown_left -= 1
            if self._cooldown_left <= 0:
                self._mode, self._reason = "active", ""
                return CalibratorEvent(CALIBRATOR_ARMED, f"re-armed after a {cfg.cooldown}-row cool-down", n)
        return None

    def _disable(self, reason: str) -> CalibratorEvent:
        # Reported from any mode: even from warm-up or fallback, the calibrator will not come back.
        self._mode, self._reason = "disabled", reason
        return CalibratorEvent(SIGNALS_DISABLED, reason, self._n_updates)
