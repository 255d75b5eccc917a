"""Numba kernels of the online calibrator: one row in, state arrays updated in place.

Model (see ``calibrator.py``): ``z = [log p, clip((f - mean) / scale)]``,
``q = softmax(W z + b)``; one Adagrad step on the multinomial log-loss with an L2 pull of
``W`` towards its identity start ``W0``.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def build_inputs(probs, features, mean, scale, clip, eps, z, p):
    """Fill ``p`` (probabilities floored at ``eps`` and renormalised) and ``z`` (their logs, then
    the standardised, clipped features); ``False`` when an input is not finite."""
    c = probs.shape[0]
    total = 0.0
    for i in range(c):
        v = probs[i]
        if not np.isfinite(v):
            return False
        v = max(v, eps)
        p[i] = v
        total += v
    for i in range(c):
        p[i] /= total
        z[i] = np.log(p[i])
    for j in range(features.shape[0]):
        v = features[j]
        if not np.isfinite(v):
            return False
        s = scale[j]
        x = (v - mean[j]) / s if s > 0.0 else 0.0
        z[c + j] = min(max(x, -clip), clip)
    return True


@njit(cache=True)
def softmax_into(w, b, z, q):
    """``q = softmax(W z + b)``; ``False`` when a logit is not finite."""
    c = q.shape[0]
    top = -np.inf
    for k in range(c):
        a = b[k]
        for j in range(z.shape[0]):
            a += w[k, j] * z[j]
        if not np.isfinite(a):
            return False
        q[k] = a
        top = max(top, a)
    total = 0.0
    for k in range(c):
        q[k] = np.exp(q[k] - top)
        total += q[k]
    for k in range(c):
        q[k] /= total
    return True


@njit(cache=True)
def learn_step(w, b, w0, g2w, g2b, z, q, y, lr, l2, ada_eps):
    """One Adagrad step on ``-log q[y]`` (``q`` the prediction made from ``z`` before the step)
    plus ``l2 / 2 * ||W - W0||^2``; ``False`` when a weight became non-finite."""
    c = q.shape[0]
    ok = True
    for k in range(c):
        r = q[k] - (1.0 if k == y else 0.0)
        for j in range(z.shape[0]):
            g = r * z[j] + l2 * (w[k, j] - w0[k, j])
            g2w[k, j] += g * g
            w[k, j] -= lr * g / np.sqrt(g2w[k, j] + ada_eps)
            if not np.isfinite(w[k, j]):
                ok = False
        g2b[k] += r * r
        b[k] -= lr * r / np.sqrt(g2b[k] + ada_eps)
        if not np.isfinite(b[k]):
            ok = False
    return ok


@njit(cache=True)
def welford_update(features, count, mean, m2, scale):
    """Add one finite feature row to the running mean / M2 and refresh ``scale`` (std, 0 until
    two rows); ``count`` is a one-element array."""
    count[0] += 1.0
    n = count[0]
    for j in range(features.shape[0]):
        d = features[j] - mean[j]
        mean[j] += d / n
        m2[j] += d * (features[j] - mean[j])
        scale[j] = np.sqrt(m2[j] / n) if n > 1.0 else 0.0
