"""L5 tick schema: dtype, conversions, row hashes, depth detection and sanity checks."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from ghtrader.domain.errors import TickSchemaError
from ghtrader.domain.ticks import (
    L5_LEVEL_FIELDS,
    MARKET_FIELDS,
    PRICE_FIELDS,
    QUANTITY_FIELDS,
    REASON_CROSSED_BOOK,
    REASON_DUPLICATE_TIME,
    REASON_NAMES,
    REASON_NEGATIVE_PRICE,
    REASON_NEGATIVE_QUANTITY,
    REASON_TIME_DECREASING,
    REQUIRED_COLUMNS,
    TICK_DTYPE,
    TICK_FIELDS,
    as_tick_array,
    check_sanity,
    empty_ticks,
    is_sorted_by_time,
    l5_present,
    l5_present_mask,
    level_fields,
    row_hash,
    sort_by_time,
    ticks_from_columns,
    ticks_to_columns,
)

_SCALARS = dict(
    last_price=77000.0,
    average=76990.5,
    highest=77200.0,
    lowest=76800.0,
    volume=123456.0,
    amount=4.75e10,
    open_interest=201234.0,
)


def _full_book(n: int = 1, t0: int = 1_727_443_800_500_000_000) -> np.ndarray:
    a = empty_ticks(n)
    a["datetime_ns"] = t0 + 500_000_000 * np.arange(n)
    for k, v in _SCALARS.items():
        a[k] = v
    for i in range(1, 6):
        a[f"bid_price{i}"] = 77000.0 - 10 * i
        a[f"bid_volume{i}"] = 3.0 * i
        a[f"ask_price{i}"] = 77000.0 + 10 * i
        a[f"ask_volume{i}"] = 5.0 * i
    return a


def _golden_rows() -> np.ndarray:
    a = empty_ticks(3)
    a[0] = _full_book(1)[0]
    a["datetime_ns"][1] = 1_727_443_800_999_500_000
    for k, v in _SCALARS.items():
        a[k][1] = v
    a["bid_price1"][1], a["bid_volume1"][1], a["ask_price1"][1], a["ask_volume1"][1] = 76990.0, 7.0, 77010.0, 0.0
    return a  # row 2 stays as empty_ticks made it


def _random_batch(rng: np.random.Generator, n: int) -> np.ndarray:
    a = empty_ticks(n)
    a["datetime_ns"] = np.sort(rng.integers(1_600_000_000_000_000_000, 1_800_000_000_000_000_000, n))
    for name in MARKET_FIELDS:
        col = np.round(rng.normal(70000, 500, n), 1)
        col[rng.random(n) < 0.1] = np.nan
        a[name] = col
    return a


def _reference_hash(row: np.void) -> int:
    """The algorithm of row_hash's docstring, written independently with Python integers."""
    mask = (1 << 64) - 1
    h = 0xCBF29CE484222325
    for name in TICK_FIELDS:
        if name == "datetime_ns":
            word = int(row[name]) & mask
        else:
            value = float(row[name])
            if value != value:
                word = 0x7FF8000000000000
            elif value == 0.0:
                word = 0
            else:
                word = struct.unpack("<Q", struct.pack("<d", value))[0]
        for byte in word.to_bytes(8, "little"):
            h = ((h ^ byte) * 0x100000001B3) & mask
    h ^= h >> 30
    h = (h * 0xBF58476D1CE4E5B9) & mask
    h ^= h >> 27
    h = (h * 0x94D049BB133111EB) & mask
    h ^= h >> 31
    return h - (1 << 64) if h >= 1 << 63 else h


# --- schema -------------------------------------------------------------------------------------
def test_dtype_layout() -> None:
    assert TICK_DTYPE.names == TICK_FIELDS
    assert TICK_FIELDS[:8] == (
        "datetime_ns",
        "last_price",
        "average",
        "highest",
        "lowest",
        "volume",
        "amount",
        "open_interest",
    )
    assert TICK_FIELDS[8:12] == ("bid_price1", "bid_volume1", "ask_price1", "ask_volume1")
    assert TICK_FIELDS[-1] == "ask_volume5"
    assert len(TICK_FIELDS) == 28 and len(MARKET_FIELDS) == 27 and len(L5_LEVEL_FIELDS) == 20
    assert TICK_DTYPE.itemsize == 28 * 8
    assert TICK_DTYPE["datetime_ns"] == np.dtype("<i8")
    assert all(TICK_DTYPE[f] == np.dtype("<f8") for f in MARKET_FIELDS)
    assert set(PRICE_FIELDS) | set(QUANTITY_FIELDS) == set(MARKET_FIELDS)
    assert not set(PRICE_FIELDS) & set(QUANTITY_FIELDS)
    assert level_fields(3) == ("bid_price3", "bid_volume3", "ask_price3", "ask_volume3")
    with pytest.raises(TickSchemaError, match="6"):
        level_fields(6)


def test_empty_ticks() -> None:
    a = empty_ticks(4)
    assert a.dtype == TICK_DTYPE and a.shape == (4,)
    assert (a["datetime_ns"] == 0).all()
    assert all(np.isnan(a[f]).all() for f in MARKET_FIELDS)
    assert empty_ticks(0).shape == (0,)
    with pytest.raises(TickSchemaError, match="-1"):
        empty_ticks(-1)


def test_columns_round_trip() -> None:
    a = _random_batch(np.random.default_rng(1), 50)
    cols = ticks_to_columns(a)
    assert list(cols) == list(TICK_FIELDS)
    back = ticks_from_columns(cols)
    assert back.dtype == TICK_DTYPE
    assert back.tobytes() == a.tobytes()
    cols["last_price"][0] = -5.0  # columns are copies
    assert a["last_price"][0] != -5.0


def test_from_columns_fills_missing_levels_with_nan() -> None:
    cols = {
        "datetime_ns": np.array([1, 2], dtype=np.int64),
        **{k: [v, v] for k, v in _SCALARS.items()},
        "bid_price1": [1.0, 2.0],
        "ask_volume1": np.array([3, 4], dtype=np.int32),
    }
    a = ticks_from_columns(cols)
    assert a["bid_price1"].tolist() == [1.0, 2.0]
    assert a["ask_volume1"].tolist() == [3.0, 4.0]
    assert np.isnan(a["ask_price1"]).all() and np.isnan(a["bid_price5"]).all()
    assert a["volume"].tolist() == [_SCALARS["volume"]] * 2


def test_from_columns_accepts_datetime64_and_none() -> None:
    cols = {
        "datetime_ns": np.array(["2024-09-27T13:30:00.5"], dtype="datetime64[ns]"),
        **{k: np.array([None], dtype=object) for k in _SCALARS},
    }
    a = ticks_from_columns(cols)
    assert a["datetime_ns"][0] == 1_727_443_800_500_000_000
    assert np.isnan(a["last_price"][0])


def test_from_columns_errors() -> None:
    base = {"datetime_ns": np.array([1, 2]), **{k: [v, v] for k, v in _SCALARS.items()}}
    with pytest.raises(TickSchemaError, match="'open_interest'"):
        ticks_from_columns({k: v for k, v in base.items() if k != "open_interest"})
    with pytest.raises(TickSchemaError, match="'symbol'"):
        ticks_from_columns({**base, "symbol": ["a", "b"]})
    assert ticks_from_columns({**base, "symbol": ["a", "b"]}, allow_extra=True).shape == (2,)
    with pytest.raises(TickSchemaError, match="'bid_price2'.*shape"):
        ticks_from_columns({**base, "bid_price2": [1.0]})
    with pytest.raises(TickSchemaError, match="'last_price'.*numeric"):
        ticks_from_columns({**base, "last_price": ["a", "b"]})
    with pytest.raises(TickSchemaError, match="'datetime_ns'.*float64"):
        ticks_from_columns({**base, "datetime_ns": [1.0, 2.0]})
    assert set(REQUIRED_COLUMNS) == {"datetime_ns", *_SCALARS}


def test_as_tick_array() -> None:
    a = _full_book(3)
    assert as_tick_array(a) is a
    reordered_dtype = np.dtype([(f, "<f8" if f != "datetime_ns" else "<i8") for f in reversed(TICK_FIELDS)])
    other = np.zeros(3, dtype=reordered_dtype)
    for f in TICK_FIELDS:
        other[f] = a[f]
    converted = as_tick_array(other)
    assert converted.dtype == TICK_DTYPE and converted.tobytes() == a.tobytes()
    with pytest.raises(TickSchemaError, match="ndarray|structured"):
        as_tick_array(np.zeros(3))
    with pytest.raises(TickSchemaError, match=r"\(1, 3\)"):
        as_tick_array(a.reshape(1, 3))
    with pytest.raises(TickSchemaError, match="bid_price1"):
        as_tick_array(np.zeros(2, dtype=[("datetime_ns", "<i8"), ("last_price", "<f8")]))


# --- row hash -------------------------------------------------------------------------------------
def test_row_hash_golden_values() -> None:
    h = row_hash(_golden_rows())
    assert h.dtype == np.int64
    assert h.tolist() == [-4949306833285064636, 8597881102451255217, 5172065311313998895]


def test_row_hash_follows_documented_algorithm() -> None:
    a = _random_batch(np.random.default_rng(5), 40)
    a["last_price"][3] = -0.0
    a["bid_price2"][4] = np.inf
    a["ask_price2"][5] = -np.inf
    a["datetime_ns"][6] = -1
    expected = [_reference_hash(row) for row in np.concatenate([a, _golden_rows()])]
    assert row_hash(np.concatenate([a, _golden_rows()])).tolist() == expected


def test_row_hash_canonicalises_nan_and_negative_zero() -> None:
    a = _full_book(1)
    b = a.copy()
    a["amount"] = np.nan
    b_bits = b.view(np.uint64).reshape(len(TICK_FIELDS)).copy()
    b_bits[TICK_FIELDS.index("amount")] = 0xFFF0000000000123  # negative NaN with a payload
    b = b_bits.view(TICK_DTYPE)
    assert np.isnan(b["amount"][0])
    assert row_hash(a)[0] == row_hash(b)[0]
    c, d = _full_book(1), _full_book(1)
    c["bid_volume3"], d["bid_volume3"] = 0.0, -0.0
    assert row_hash(c)[0] == row_hash(d)[0]


@pytest.mark.parametrize("field", TICK_FIELDS)
def test_row_hash_changes_with_every_field(field: str) -> None:
    a = _full_book(1)
    base = row_hash(a)[0]
    for change in ("bump", "nan"):
        b = a.copy()
        if field == "datetime_ns":
            b[field] += 1 if change == "bump" else 1_000_000
        elif change == "bump":
            b[field] = np.nextafter(b[field], np.inf)
        else:
            b[field] = np.nan
        assert row_hash(b)[0] != base, (field, change)


def test_row_hash_ignores_position_and_is_stable() -> None:
    a = _random_batch(np.random.default_rng(9), 200)
    h = row_hash(a)
    perm = np.random.default_rng(10).permutation(200)
    assert (row_hash(a[perm]) == h[perm]).all()
    assert (row_hash(a[::3]) == h[::3]).all()  # non-contiguous view
    assert (row_hash(a) == h).all()
    assert np.unique(h).size == 200
    assert row_hash(empty_ticks(0)).shape == (0,)


# --- depth ----------------------------------------------------------------------------------------
def test_l5_detection() -> None:
    a = _full_book(6)
    a[1:][list(L5_LEVEL_FIELDS[4:])] = empty_ticks(5)[list(L5_LEVEL_FIELDS[4:])]  # row 1..: L1 only
    # row 2: one-sided book (bids only) at levels 2..5
    for i in range(2, 6):
        a[f"bid_price{i}"][2], a[f"bid_volume{i}"][2] = 100.0 - i, 1.0
    # row 3: ask side only at level 4, bids elsewhere -> still depth
    for i in range(2, 6):
        a[f"bid_price{i}"][3], a[f"bid_volume{i}"][3] = 100.0 - i, 1.0
    a["bid_price4"][3], a["bid_volume4"][3] = np.nan, 0.0
    a["ask_price4"][3], a["ask_volume4"][3] = 105.0, 2.0
    # row 4: level 3 present with price but zero volume on both sides -> no depth
    for i in range(2, 6):
        a[f"bid_price{i}"][4], a[f"bid_volume{i}"][4] = 100.0 - i, 1.0
    a["bid_volume3"][4] = 0.0
    a["ask_price3"][4], a["ask_volume3"][4] = 103.0, 0.0
    # row 5: levels 2..4 full, level 5 missing -> no depth
    for i in range(2, 5):
        a[f"bid_price{i}"][5], a[f"bid_volume{i}"][5] = 100.0 - i, 1.0
    assert l5_present_mask(a).tolist() == [True, False, True, True, False, False]
    assert l5_present(a)
    assert not l5_present(a[[1, 4, 5]])
    assert not l5_present(empty_ticks(0))


# --- ordering and sanity ---------------------------------------------------------------------------
def test_sorting() -> None:
    a = _full_book(5)
    assert is_sorted_by_time(a) and is_sorted_by_time(empty_ticks(0)) and is_sorted_by_time(a[:1])
    a["datetime_ns"][3] = a["datetime_ns"][2]
    assert is_sorted_by_time(a)
    a["datetime_ns"][4] = a["datetime_ns"][0]
    a["last_price"] = np.arange(5.0)
    assert not is_sorted_by_time(a)
    s = sort_by_time(a)
    assert is_sorted_by_time(s)
    assert s["last_price"].tolist() == [0.0, 4.0, 1.0, 2.0, 3.0]  # stable for equal times


def test_check_sanity_rules() -> None:
    a = _full_book(8)
    assert check_sanity(a).n_bad == 0
    a["ask_price3"][1] = -1.0  # negative price
    a["open_interest"][2] = -1.0  # negative quantity
    a["bid_price1"][3], a["ask_price1"][3] = 100.0, 99.0  # crossed
    a["datetime_ns"][4] = a["datetime_ns"][3]  # duplicate time
    a["datetime_ns"][5] = a["datetime_ns"][3] - 1  # goes back in time
    a["last_price"][6] = np.nan  # NaN is not a violation
    a["bid_price1"][6] = np.nan
    a["amount"][7] = -3.0
    a["lowest"][7] = -1.0
    report = check_sanity(a)
    assert report.reasons.dtype == np.int32
    assert report.reasons.tolist() == [
        0,
        REASON_NEGATIVE_PRICE,
        REASON_NEGATIVE_QUANTITY,
        REASON_CROSSED_BOOK,
        REASON_DUPLICATE_TIME,
        REASON_TIME_DECREASING,
        0,
        REASON_NEGATIVE_PRICE | REASON_NEGATIVE_QUANTITY,
    ]
    assert report.bad_mask.tolist() == [False, True, True, True, True, True, False, True]
    assert report.bad_rows.tolist() == [1, 2, 3, 4, 5, 7]
    assert report.n_bad == 6
    assert report.describe(0) == []
    assert report.describe(7) == [REASON_NAMES[REASON_NEGATIVE_PRICE], REASON_NAMES[REASON_NEGATIVE_QUANTITY]]
    assert report.counts() == {
        REASON_NAMES[REASON_NEGATIVE_PRICE]: 2,
        REASON_NAMES[REASON_NEGATIVE_QUANTITY]: 2,
        REASON_NAMES[REASON_CROSSED_BOOK]: 1,
        REASON_NAMES[REASON_DUPLICATE_TIME]: 1,
        REASON_NAMES[REASON_TIME_DECREASING]: 1,
    }
    assert all(bin(bit).count("1") == 1 for bit in REASON_NAMES)


def test_check_sanity_ignores_absent_level1() -> None:
    a = _full_book(2)
    a["ask_price1"][0] = np.nan  # one side missing: not crossed
    a["bid_price1"][1] = 0.0  # zero means absent here too
    a["ask_price1"][1] = 5.0
    assert check_sanity(a).n_bad == 0
    assert check_sanity(empty_ticks(0)).n_bad == 0
