"""Normal and Student-t quantiles, densities and a Student-t fit, without SciPy.

The Student-t CDF goes through the regularized incomplete beta function, evaluated by its
continued fraction (modified Lentz); the quantile inverts the CDF by bisection.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

__all__ = [
    "fit_student_t",
    "normal_pdf",
    "normal_ppf",
    "regularized_beta",
    "student_t_cdf",
    "student_t_pdf",
    "student_t_ppf",
]

_STD_NORMAL = NormalDist()
_EPS = 1e-15
_TINY = 1e-300


def normal_ppf(p: float) -> float:
    """Quantile of N(0, 1)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"probability must be in (0, 1), got {p}")
    return _STD_NORMAL.inv_cdf(p)


def normal_pdf(x: float) -> float:
    """Density of N(0, 1)."""
    return _STD_NORMAL.pdf(x)


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction 1 + d1/(1 + d2/(1 + ...)) of I_x(a, b), by modified Lentz."""
    f = 1.0
    c = 1.0
    d = 0.0
    for m in range(1, 10_000):
        # Two terms per m: the odd one uses m - 1 in its formula, the even one m.
        k = m - 1
        d_odd = -(a + k) * (a + b + k) * x / ((a + 2 * k) * (a + 2 * k + 1))
        d_even = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
        for term in (d_odd, d_even):
            d = 1.0 + term * d
            d = _TINY if abs(d) < _TINY else d
            c = 1.0 + term / c
            c = _TINY if abs(c) < _TINY else c
            d = 1.0 / d
            delta = c * d
            f *= delta
        if abs(delta - 1.0) < _EPS:
            return f
    raise ArithmeticError(f"incomplete beta continued fraction did not converge (a={a}, b={b}, x={x})")


def regularized_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b) = B(x; a, b) / B(a, b) for a, b > 0 and 0 <= x <= 1."""
    if a <= 0 or b <= 0:
        raise ValueError(f"a and b must be positive, got a={a}, b={b}")
    if not 0.0 <= x <= 1.0:
        raise ValueError(f"x must be in [0, 1], got {x}")
    if x == 0.0 or x == 1.0:
        return x
    # The fraction converges fast below the mean of the beta density; use the mirror above it.
    if x > (a + 1.0) / (a + b + 2.0):
        return 1.0 - regularized_beta(b, a, 1.0 - x)
    log_front = a * math.log(x) + b * math.log1p(-x) - (math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b))
    return math.exp(log_front) / (a * _beta_continued_fraction(a, b, x))


def _check_dof(dof: float) -> None:
    if not (math.isfinite(dof) and dof > 0):
        raise ValueError(f"degrees of freedom must be positive and finite, got {dof}")


def student_t_cdf(t: float, dof: float) -> float:
    """P(T <= t) for Student's t with ``dof`` degrees of freedom."""
    _check_dof(dof)
    tail = 0.5 * regularized_beta(dof / 2.0, 0.5, dof / (dof + t * t))
    return 1.0 - tail if t > 0 else tail


def student_t_pdf(t: float, dof: float) -> float:
    """Density of Student's t."""
    _check_dof(dof)
    log_c = math.lgamma((dof + 1) / 2) - math.lgamma(dof / 2) - 0.5 * math.log(dof * math.pi)
    return math.exp(log_c - (dof + 1) / 2 * math.log1p(t * t / dof))


def student_t_ppf(p: float, dof: float) -> float:
    """Quantile of Student's t: the t with P(T <= t) = p, by bisection to ~1e-12."""
    _check_dof(dof)
    if not 0.0 < p < 1.0:
        raise ValueError(f"probability must be in (0, 1), got {p}")
    if p == 0.5:
        return 0.0
    q = max(p, 1.0 - p)
    hi = 1.0
    while student_t_cdf(hi, dof) < q:
        hi *= 2.0
        if hi > 1e300:
            raise ArithmeticError(f"t quantile out of range (p={p}, dof={dof})")
    lo = 0.0
    for _ in range(400):
        mid = 0.5 * (lo + hi)
        if student_t_cdf(mid, dof) < q:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-12 * max(1.0, hi):
            break
    t = 0.5 * (lo + hi)
    return t if p > 0.5 else -t


def _t_neg_loglik(x: np.ndarray, mu: float, sd: float, dof: float) -> float:
    """Negative log-likelihood of a t with location ``mu`` and standard deviation ``sd`` (so dof > 2)."""
    scale = sd * math.sqrt((dof - 2.0) / dof)
    z2 = ((x - mu) / scale) ** 2
    n = x.size
    log_c = math.lgamma((dof + 1) / 2) - math.lgamma(dof / 2) - 0.5 * math.log(dof * math.pi) - math.log(scale)
    return -(n * log_c - (dof + 1) / 2 * float(np.log1p(z2 / dof).sum()))


def fit_student_t(x: np.ndarray, *, dof_bounds: tuple[float, float] = (2.1, 200.0)) -> tuple[float, float, float]:
    """Fit ``(mean, standard deviation, dof)`` of a Student-t to ``x``.

    Mean and standard deviation are the sample's; ``dof`` maximizes the likelihood with those
    fixed (golden-section search on log dof within ``dof_bounds``). Thin tails give the upper
    bound (close to normal).
    """
    arr = np.asarray(x, dtype=np.float64).ravel()
    arr = arr[np.isfinite(arr)]
    if arr.size < 3:
        raise ValueError(f"need at least 3 finite values to fit a Student-t, got {arr.size}")
    mu = float(arr.mean())
    sd = float(arr.std(ddof=1))
    if sd <= 0:
        raise ValueError("cannot fit a Student-t to constant data")
    lo, hi = math.log(dof_bounds[0]), math.log(dof_bounds[1])
    if not (dof_bounds[0] > 2.0 and hi > lo):
        raise ValueError(f"dof_bounds must satisfy 2 < low < high, got {dof_bounds}")
    golden = (math.sqrt(5.0) - 1.0) / 2.0
    a, b = lo, hi
    c, d = b - golden * (b - a), a + golden * (b - a)
    fc, fd = _t_neg_loglik(arr, mu, sd, math.exp(c)), _t_neg_loglik(arr, mu, sd, math.exp(d))
    while b - a > 1e-6:
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - golden * (b - a)
            fc = _t_neg_loglik(arr, mu, sd, math.exp(c))
        else:
            a, c, fc = c, d, fd
            d = a + golden * (b - a)
            fd = _t_neg_loglik(arr, mu, sd, math.exp(d))
    return mu, sd, math.exp(0.5 * (a + b))
