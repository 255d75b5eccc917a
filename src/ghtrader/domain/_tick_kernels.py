"""Numba kernels for tick batches (arrays in, arrays out; see ``ticks.py`` for the public API)."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def row_hash_kernel(words: np.ndarray, is_float: np.ndarray) -> np.ndarray:
    """Hash each row of a ``(n, m)`` uint64 matrix of field bit patterns.

    ``is_float[j]`` marks float64 columns, whose NaNs are canonicalised to 0x7FF8000000000000
    and whose -0.0 becomes +0.0 before hashing. Each row is hashed with 64-bit FNV-1a over the
    8 little-endian bytes of every word in column order, then finalised with splitmix64.
    """
    n, m = words.shape
    out = np.empty(n, dtype=np.uint64)
    fnv_offset = np.uint64(0xCBF29CE484222325)
    fnv_prime = np.uint64(0x100000001B3)
    abs_mask = np.uint64(0x7FFFFFFFFFFFFFFF)
    infinity = np.uint64(0x7FF0000000000000)
    canonical_nan = np.uint64(0x7FF8000000000000)
    negative_zero = np.uint64(0x8000000000000000)
    low_byte = np.uint64(0xFF)
    mix1 = np.uint64(0xBF58476D1CE4E5B9)
    mix2 = np.uint64(0x94D049BB133111EB)
    for i in range(n):
        h = fnv_offset
        for j in range(m):
            w = words[i, j]
            if is_float[j]:
                if (w & abs_mask) > infinity:
                    w = canonical_nan
                elif w == negative_zero:
                    w = np.uint64(0)
            for k in range(8):
                h = h ^ ((w >> np.uint64(8 * k)) & low_byte)
                h = h * fnv_prime
        h = h ^ (h >> np.uint64(30))
        h = h * mix1
        h = h ^ (h >> np.uint64(27))
        h = h * mix2
        h = h ^ (h >> np.uint64(31))
        out[i] = h
    return out
