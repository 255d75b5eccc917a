"""Post-hoc calibration of 3-class direction probabilities (0 = DOWN, 1 = FLAT, 2 = UP).

One form covers every method: ``p_cal = softmax(W @ log(max(p, EPS)) + b)`` per row, with a
3x3 ``W`` and a 3-vector ``b``:

- ``"temperature"`` (deep models): ``W = I / T``, ``b = 0``; ``T`` minimises the log-loss
  (Newton on ``1 / T``, a convex 1-D problem).
- ``"logistic"`` (tabular models): multinomial logistic regression on the log-probabilities,
  ``W`` and ``b`` free with a small L2 pull toward ``W = I, b = 0`` (damped Newton; the
  penalty makes the problem strictly convex and removes the softmax's shift freedom).
- ``"identity"``: probabilities pass unchanged (too few rows, calibration switched off).

Rows whose probabilities hold a NaN stay NaN. Fitting uses the rows with a label and finite
probabilities; the before / after figures (log-loss, ECE) are the domain's classification
metrics on those same rows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ghtrader.domain.evaluation._checks import EvaluationError
from ghtrader.domain.evaluation.classification import N_CLASSES, classification_metrics

__all__ = [
    "EPS",
    "METHODS",
    "CalibrationMethod",
    "ProbabilityCalibrator",
    "apply_calibration",
    "fit_calibrator",
    "fit_logistic_calibration",
    "fit_temperature",
    "identity_calibrator",
]

CalibrationMethod = Literal["temperature", "logistic", "identity"]
METHODS: tuple[str, ...] = ("temperature", "logistic", "identity")
#: Probabilities are floored here before the log (the ONNX graph uses the same floor).
EPS = 1e-7
_MAX_ITER = 100
_TOL = 1e-10
_BETA_BOUNDS = (1e-3, 1e3)  # 1 / T


def _log_probs(probs: np.ndarray) -> np.ndarray:
    return np.log(np.maximum(np.asarray(probs, dtype=np.float64), EPS))


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def apply_calibration(weights: np.ndarray, bias: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """``softmax(log(max(p, EPS)) @ W.T + b)`` row by row; rows with a NaN stay all-NaN."""
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != N_CLASSES:
        raise EvaluationError(f"probabilities must have shape (n, {N_CLASSES}); got {p.shape}")
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p).all(axis=1)
    if ok.any():
        out[ok] = _softmax(_log_probs(p[ok]) @ np.asarray(weights, dtype=np.float64).T + np.asarray(bias))
    return out


@dataclass(frozen=True, eq=False)
class ProbabilityCalibrator:
    """A fitted calibrator and what it did on the rows it was fitted on.

    ``rows``: rows fitted on; ``log_loss_*`` / ``ece_*``: on those rows before and after (NaN
    when there were none); ``note`` says why a calibrator is the identity.
    """

    method: CalibrationMethod
    weights: np.ndarray  # (3, 3)
    bias: np.ndarray  # (3,)
    rows: int
    log_loss_before: float
    log_loss_after: float
    ece_before: float
    ece_after: float
    note: str = ""

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise EvaluationError(f"unknown calibration method {self.method!r}; expected one of {METHODS}")
        w = np.array(self.weights, dtype=np.float64)
        b = np.array(self.bias, dtype=np.float64)
        if w.shape != (N_CLASSES, N_CLASSES) or b.shape != (N_CLASSES,):
            raise EvaluationError(f"calibration weights (3, 3) and bias (3,) expected; got {w.shape}, {b.shape}")
        if not (np.isfinite(w).all() and np.isfinite(b).all()):
            raise EvaluationError("calibration weights and bias must be finite")
        w.flags.writeable = False
        b.flags.writeable = False
        object.__setattr__(self, "weights", w)
        object.__setattr__(self, "bias", b)

    @property
    def is_identity(self) -> bool:
        return self.method == "identity"

    @property
    def temperature(self) -> float | None:
        """``T`` of a temperature calibrator (None for the other methods)."""
        return 1.0 / float(self.weights[0, 0]) if self.method == "temperature" else None

    def apply(self, probs: np.ndarray) -> np.ndarray:
        """Calibrated (n, 3) probabilities; the identity returns a float64 copy of ``probs``."""
        if self.is_identity:
            return np.array(probs, dtype=np.float64)
        return apply_calibration(self.weights, self.bias, probs)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (non-finite figures become None)."""

        def num(x: float) -> float | None:
            return float(x) if math.isfinite(x) else None

        return {
            "method": self.method,
            "weights": self.weights.tolist(),
            "bias": self.bias.tolist(),
            "eps": EPS,
            "temperature": self.temperature,
            "rows": int(self.rows),
            "log_loss_before": num(self.log_loss_before),
            "log_loss_after": num(self.log_loss_after),
            "ece_before": num(self.ece_before),
            "ece_after": num(self.ece_after),
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProbabilityCalibrator:
        """Inverse of :meth:`to_dict`; EvaluationError naming what is missing or malformed."""

        def num(key: str) -> float:
            value = data.get(key)
            return math.nan if value is None else float(value)

        try:
            return cls(
                method=str(data["method"]),  # type: ignore[arg-type]
                weights=np.asarray(data["weights"], dtype=np.float64),
                bias=np.asarray(data["bias"], dtype=np.float64),
                rows=int(data["rows"]),
                log_loss_before=num("log_loss_before"),
                log_loss_after=num("log_loss_after"),
                ece_before=num("ece_before"),
                ece_after=num("ece_after"),
                note=str(data.get("note", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise EvaluationError(f"malformed calibrator ({type(exc).__name__}: {exc})") from exc


def _fit_rows(labels: np.ndarray, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Labelled rows with finite probabilities: ``(y int64, p float64)``."""
    y = np.asarray(labels, dtype=np.float64)
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != N_CLASSES or y.shape != (p.shape[0],):
        raise EvaluationError(f"labels (n,) and probabilities (n, {N_CLASSES}) expected; got {y.shape}, {p.shape}")
    ok = np.isfinite(y) & np.isfinite(p).all(axis=1)
    y_ok = y[ok]
    if not np.isin(y_ok, (0.0, 1.0, 2.0)).all():
        raise EvaluationError("labels must be 0, 1, 2 or NaN")
    return y_ok.astype(np.int64), p[ok]


def _calibrator(
    method: CalibrationMethod, w: np.ndarray, b: np.ndarray, y: np.ndarray, p: np.ndarray, note: str = ""
) -> ProbabilityCalibrator:
    before = classification_metrics(y, p) if y.shape[0] else None
    if before is None:
        nan = math.nan
        return ProbabilityCalibrator(method, w, b, 0, nan, nan, nan, nan, note)
    after = before if method == "identity" else classification_metrics(y, apply_calibration(w, b, p))
    return ProbabilityCalibrator(
        method, w, b, int(y.shape[0]), before.log_loss, after.log_loss, before.ece, after.ece, note
    )


def identity_calibrator(
    note: str, labels: np.ndarray | None = None, probs: np.ndarray | None = None
) -> ProbabilityCalibrator:
    """The identity, with ``note`` saying why; figures on ``labels`` / ``probs`` when given."""
    if labels is None or probs is None:
        y, p = np.zeros(0, dtype=np.int64), np.zeros((0, N_CLASSES))
    else:
        y, p = _fit_rows(labels, probs)
    return _calibrator("identity", np.eye(N_CLASSES), np.zeros(N_CLASSES), y, p, note)


def _temperature_beta(logp: np.ndarray, y: np.ndarray) -> float:
    """``1 / T`` minimising ``mean(logsumexp(beta * L) - beta * L[y])`` (convex in beta)."""
    true = logp[np.arange(y.shape[0]), y]

    def loss(beta: float) -> float:
        z = beta * logp
        m = z.max(axis=1)
        return float(np.mean(m + np.log(np.exp(z - m[:, None]).sum(axis=1)) - beta * true))

    lo, hi = _BETA_BOUNDS
    beta, current = 1.0, loss(1.0)
    for _ in range(_MAX_ITER):
        q = _softmax(beta * logp)
        mean_l = (q * logp).sum(axis=1)
        grad = float(np.mean(mean_l - true))
        hess = float(np.mean((q * logp * logp).sum(axis=1) - mean_l * mean_l))
        step = grad / hess if hess > 1e-12 else math.copysign(beta, grad)
        t = 1.0
        while True:
            candidate = min(max(beta - t * step, lo), hi)
            value = loss(candidate)
            if value <= current or t < 1e-8:
                break
            t *= 0.5
        if value > current:
            break
        done = abs(candidate - beta) <= 1e-10 * max(1.0, beta)
        beta, current = candidate, value
        if done:
            break
    return beta


def fit_temperature(labels: np.ndarray, probs: np.ndarray) -> ProbabilityCalibrator:
    """Temperature scaling fitted on the labelled rows with finite ``probs``."""
    y, p = _fit_rows(labels, probs)
    if y.shape[0] == 0:
        return identity_calibrator("no labelled rows with probabilities to fit a temperature on")
    beta = _temperature_beta(_log_probs(p), y)
    return _calibrator("temperature", np.eye(N_CLASSES) * beta, np.zeros(N_CLASSES), y, p)


def fit_logistic_calibration(labels: np.ndarray, probs: np.ndarray, l2: float = 1e-3) -> ProbabilityCalibrator:
    """Multinomial logistic regression on ``log(max(p, EPS))`` with penalty
    ``l2 / 2 * (||W - I||^2 + ||b||^2)`` added to the mean log-loss (damped Newton)."""
    if not (math.isfinite(l2) and l2 > 0):
        raise EvaluationError(f"invalid l2={l2!r}: expected > 0")
    y, p = _fit_rows(labels, probs)
    if y.shape[0] == 0:
        return identity_calibrator("no labelled rows with probabilities to fit a calibrator on")
    n, k = y.shape[0], N_CLASSES
    x = np.hstack([_log_probs(p), np.ones((n, 1))])  # (n, 4): log-probs and the intercept
    d = x.shape[1]
    onehot = np.eye(k)[y]
    prior = np.hstack([np.eye(k), np.zeros((k, 1))])  # A = [W | b] at the identity

    def objective(a: np.ndarray) -> float:
        z = x @ a.T
        m = z.max(axis=1)
        nll = np.mean(m + np.log(np.exp(z - m[:, None]).sum(axis=1)) - z[np.arange(n), y])
        return float(nll + 0.5 * l2 * np.sum((a - prior) ** 2))

    a = prior.copy()
    current = objective(a)
    for _ in range(_MAX_ITER):
        q = _softmax(x @ a.T)
        grad = ((q - onehot).T @ x) / n + l2 * (a - prior)  # (k, d)
        hess = np.zeros((k * d, k * d))
        for i in range(k):
            for j in range(i, k):
                w = q[:, i] * ((1.0 if i == j else 0.0) - q[:, j])
                block = (x * w[:, None]).T @ x / n
                hess[i * d : (i + 1) * d, j * d : (j + 1) * d] = block
                hess[j * d : (j + 1) * d, i * d : (i + 1) * d] = block.T
        hess += l2 * np.eye(k * d)
        step = np.linalg.solve(hess, grad.reshape(-1)).reshape(k, d)
        decrement = float(np.sum(grad * step))
        t = 1.0
        while True:
            candidate = a - t * step
            value = objective(candidate)
            if value <= current - 1e-4 * t * decrement or t < 1e-8:
                break
            t *= 0.5
        if value > current:
            break
        a, current = candidate, value
        if decrement < _TOL:
            break
    return _calibrator("logistic", a[:, :k], a[:, k], y, p)


def fit_calibrator(
    method: CalibrationMethod, labels: np.ndarray, probs: np.ndarray, *, min_rows: int = 500
) -> ProbabilityCalibrator:
    """Fit ``method``; the identity (with a note) when it is ``"identity"``, when fewer than
    ``min_rows`` rows are usable, or when a class is missing from them."""
    if method not in METHODS:
        raise EvaluationError(f"unknown calibration method {method!r}; expected one of {METHODS}")
    if method == "identity":
        return identity_calibrator("calibration switched off", labels, probs)
    y, _ = _fit_rows(labels, probs)
    if y.shape[0] < min_rows:
        return identity_calibrator(
            f"{y.shape[0]} usable calibration rows, fewer than {min_rows}: left uncalibrated", labels, probs
        )
    missing = [c for c in range(N_CLASSES) if not np.any(y == c)]
    if missing:
        return identity_calibrator(
            f"classes {missing} absent from the {y.shape[0]} calibration rows: left uncalibrated", labels, probs
        )
    if method == "temperature":
        return fit_temperature(labels, probs)
    return fit_logistic_calibration(labels, probs)
