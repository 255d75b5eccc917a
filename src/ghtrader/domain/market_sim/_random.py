"""Counter-based random streams: every draw is a pure function of (seed, names, counter).

Two tools, both stable across runs and machines:

* :func:`stream_key` turns ``(seed, *parts)`` into a 64-bit key with BLAKE2b (never Python's
  salted ``hash``), and :func:`generator` seeds a NumPy ``PCG64`` with it for bulk per-day draws.
* :func:`counter_uniforms` / :func:`counter_normals` hash ``(key, counter)`` with splitmix64,
  vectorised in NumPy (unsigned array arithmetic wraps silently), for sparse draws such as
  one value per day or per 500 ms slot that must not depend on which other values are drawn.
"""

from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["counter_normals", "counter_uniforms", "generator", "stream_key"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_INV_2_53 = 1.0 / 9007199254740992.0


def stream_key(seed: int, *parts: object) -> int:
    """A stable 64-bit key naming one random stream, e.g. ``stream_key(7, "book", "SHFE.cu2602", 739000)``."""
    text = "|".join([str(int(seed)), *(str(p) for p in parts)])
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")


def generator(seed: int, *parts: object) -> np.random.Generator:
    """A PCG64 generator for the stream ``(seed, *parts)``."""
    return np.random.Generator(np.random.PCG64(stream_key(seed, *parts)))


def _splitmix64(x: np.ndarray) -> np.ndarray:
    z = x + _GOLDEN
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return z ^ (z >> _S31)


def counter_uniforms(key: int, counters: np.ndarray) -> np.ndarray:
    """Uniform draws in ``(0, 1)``, one per counter (any integer array, negatives allowed)."""
    c = np.asarray(counters).astype(np.int64).view(np.uint64)
    bits = _splitmix64(_splitmix64(c ^ np.uint64(key & 0xFFFFFFFFFFFFFFFF)) + np.uint64(key >> 1))
    return ((bits >> _S11).astype(np.float64) + 0.5) * _INV_2_53


def counter_normals(key: int, counters: np.ndarray) -> np.ndarray:
    """Standard normal draws (Box-Muller on two hashed uniforms), one per counter."""
    c = np.asarray(counters).astype(np.int64)
    u1 = counter_uniforms(key, 2 * c)
    u2 = counter_uniforms(key, 2 * c + 1)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
