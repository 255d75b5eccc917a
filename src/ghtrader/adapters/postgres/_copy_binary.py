"""PostgreSQL binary COPY format for fixed-width rows, encoded and decoded with NumPy.

Every row is a big-endian record ``int16 field count`` then, per field, ``int32 byte length``
and the value. With only fixed-width, non-NULL fields every row has the same size, so a
whole batch is one structured NumPy array: no per-row Python work in either direction.
Supported wire kinds: ``int4``, ``int8``, ``float4``, ``float8``, ``date`` (days since 2000-01-01) and
``timestamptz`` (microseconds since 2000-01-01 UTC).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["PG_EPOCH_DAYS", "PG_EPOCH_US", "CopyBinaryReader", "encode_rows", "row_dtype"]

SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
HEADER = SIGNATURE + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"  # flags 0, no header extension
TRAILER = b"\xff\xff"
PG_EPOCH_DAYS = 10_957  # 2000-01-01 in days since 1970-01-01
PG_EPOCH_US = PG_EPOCH_DAYS * 86_400 * 1_000_000

_WIRE = {"int4": ">i4", "int8": ">i8", "float4": ">f4", "float8": ">f8", "date": ">i4", "timestamptz": ">i8"}
_NATIVE = {
    "int4": np.int32,
    "int8": np.int64,
    "float4": np.float32,
    "float8": np.float64,
    "date": np.int32,
    "timestamptz": np.int64,
}


def row_dtype(kinds: Sequence[str]) -> np.dtype:
    """Structured dtype of one binary COPY row holding ``kinds`` (no padding)."""
    fields: list[tuple[str, str]] = [("n", ">i2")]
    for i, kind in enumerate(kinds):
        fields += [(f"l{i}", ">i4"), (f"v{i}", _WIRE[kind])]
    return np.dtype(fields)


def encode_rows(kinds: Sequence[str], columns: Sequence[np.ndarray], *, header: bool, trailer: bool) -> bytes:
    """Binary COPY bytes for rows made of ``columns`` (aligned 1-D arrays, one per kind)."""
    dtype = row_dtype(kinds)
    n = int(columns[0].shape[0]) if columns else 0
    rows = np.empty(n, dtype=dtype)
    rows["n"] = len(kinds)
    for i, col in enumerate(columns):
        rows[f"l{i}"] = dtype[f"v{i}"].itemsize
        rows[f"v{i}"] = col
    return (HEADER if header else b"") + rows.tobytes() + (TRAILER if trailer else b"")


class CopyBinaryReader:
    """Incremental decoder of a binary ``COPY ... TO STDOUT`` stream of fixed-width rows.

    Feed the chunks as they arrive; complete rows are decoded in blocks so memory stays about
    one block of raw bytes plus the decoded columns. :meth:`finish` checks the trailer and
    returns one native-endian array per column.
    """

    def __init__(self, kinds: Sequence[str], *, block_bytes: int = 1 << 20) -> None:
        self._kinds = tuple(kinds)
        self._dtype = row_dtype(self._kinds)
        self._block_bytes = max(block_bytes, self._dtype.itemsize)
        self._buf = bytearray()
        self._header_done = False
        self._parts: list[list[np.ndarray]] = [[] for _ in self._kinds]
        self._widths = [self._dtype[f"v{i}"].itemsize for i in range(len(self._kinds))]

    def feed(self, chunk: bytes | bytearray | memoryview) -> None:
        self._buf += chunk
        if len(self._buf) >= self._block_bytes:
            self._drain()

    def finish(self) -> list[np.ndarray]:
        self._drain()
        if not self._header_done or bytes(self._buf) != TRAILER:
            raise ValueError(f"malformed binary COPY stream: {len(self._buf)} trailing bytes, expected the end marker")
        return [
            np.concatenate(parts) if parts else np.empty(0, dtype=_NATIVE[kind])
            for kind, parts in zip(self._kinds, self._parts, strict=True)
        ]

    def _drain(self) -> None:
        if not self._header_done:
            if len(self._buf) < len(HEADER):
                return
            if not self._buf.startswith(SIGNATURE):
                raise ValueError("not a binary COPY stream (bad signature)")
            ext = int.from_bytes(self._buf[15:19], "big")
            start = 19 + ext
            if len(self._buf) < start:
                return
            del self._buf[:start]
            self._header_done = True
        # The 2-byte end marker only follows the last row, so every complete row is data.
        size = self._dtype.itemsize
        n = len(self._buf) // size
        if n == 0:
            return
        # Decode block by block: each column is picked out while the block is still in cache.
        rows = np.frombuffer(self._buf, dtype=self._dtype, count=n)
        bad = rows["n"] != len(self._kinds)
        for i, width in enumerate(self._widths):
            bad |= rows[f"l{i}"] != width
        if bad.any():
            raise ValueError("malformed binary COPY row (NULL or unexpected width); every column must be NOT NULL")
        for i, kind in enumerate(self._kinds):
            self._parts[i].append(rows[f"v{i}"].astype(_NATIVE[kind]))
        del rows
        del self._buf[: n * size]
