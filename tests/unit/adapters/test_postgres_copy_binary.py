"""The NumPy binary-COPY codec of the PostgreSQL adapter (no server needed)."""

from __future__ import annotations

import numpy as np
import pytest

from ghtrader.adapters.postgres._copy_binary import (
    HEADER,
    CopyBinaryReader,
    encode_rows,
)

KINDS = ("date", "int8", "timestamptz", "float8", "int4")


def test_encoding_follows_the_postgres_wire_format() -> None:
    data = encode_rows(("int4", "float8"), [np.array([42]), np.array([-0.5])], header=True, trailer=True)
    assert data == (
        b"PGCOPY\n\xff\r\n\x00"
        + b"\x00" * 8  # signature, flags, header extension length
        + b"\x00\x02"  # two fields
        + b"\x00\x00\x00\x04"
        + (42).to_bytes(4, "big")
        + b"\x00\x00\x00\x08"
        + np.array([-0.5], ">f8").tobytes()
        + b"\xff\xff"
    )


def _columns(n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    f = rng.normal(size=n)
    f[::5] = np.nan
    return [
        rng.integers(-5000, 5000, n).astype(np.int32),
        rng.integers(-(2**63), 2**63 - 1, n, dtype=np.int64),
        rng.integers(-(2**50), 2**50, n, dtype=np.int64),
        f,
        rng.integers(0, 100, n).astype(np.int32),
    ]


@pytest.mark.parametrize("chunk", [1, 7, 4096, 10**7])
def test_round_trip_whatever_the_chunking(chunk: int) -> None:
    cols = _columns(1000)
    data = encode_rows(KINDS, cols, header=True, trailer=True)
    reader = CopyBinaryReader(KINDS, block_bytes=512)
    for start in range(0, len(data), chunk):
        reader.feed(data[start : start + chunk])
    out = reader.finish()
    for got, want in zip(out, cols, strict=True):
        assert got.dtype.isnative
        np.testing.assert_array_equal(got, want)
    assert np.isnan(out[3][::5]).all()


def test_empty_stream() -> None:
    reader = CopyBinaryReader(KINDS)
    reader.feed(encode_rows(KINDS, [c[:0] for c in _columns(1)], header=True, trailer=True))
    assert [c.shape for c in reader.finish()] == [(0,)] * len(KINDS)


def test_truncated_stream_is_an_error() -> None:
    data = encode_rows(KINDS, _columns(10), header=True, trailer=True)
    reader = CopyBinaryReader(KINDS)
    reader.feed(data[:-5])
    with pytest.raises(ValueError, match="malformed"):
        reader.finish()


def test_null_field_is_an_error() -> None:
    # rows of two int4 columns; the first row has a NULL (length -1, no data), so rows are no
    # longer fixed-width and the decoder must refuse rather than misread
    null_row = b"\x00\x02" + b"\xff\xff\xff\xff" + b"\x00\x00\x00\x04" + (1).to_bytes(4, "big")
    full_row = encode_rows(("int4", "int4"), [np.array([1]), np.array([2])], header=False, trailer=False)
    reader = CopyBinaryReader(("int4", "int4"))
    with pytest.raises(ValueError, match="NULL"):
        reader.feed(HEADER + null_row + full_row + b"\xff\xff")
        reader.finish()


def test_not_a_copy_stream() -> None:
    reader = CopyBinaryReader(KINDS)
    reader.feed(b"hello world, this is not binary copy")
    with pytest.raises(ValueError, match="signature"):
        reader.finish()
