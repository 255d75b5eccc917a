"""The L5 tick schema: a NumPy structured dtype, conversions, row hashes and sanity checks.

A tick batch holds ticks of ONE symbol as a 1-D structured array of :data:`TICK_DTYPE`, whose
fields are, in order: ``datetime_ns`` (int64 epoch ns, UTC), ``last_price``, ``average``,
``highest``, ``lowest``, ``volume`` (cumulative in the trading day), ``amount`` (cumulative),
``open_interest``, then for each level i in 1..5 ``bid_price{i}``, ``bid_volume{i}``,
``ask_price{i}``, ``ask_volume{i}`` (all float64). Missing values are NaN; L1-only sources (the
``KQ.m@`` continuous series) leave levels 2-5 NaN. The symbol is not a field: stores key rows
by ``(symbol, ticks_lake, datetime_ns)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ghtrader.domain._tick_kernels import row_hash_kernel
from ghtrader.domain.errors import TickSchemaError

__all__ = [
    "ASK_PRICE_FIELDS",
    "ASK_VOLUME_FIELDS",
    "BID_PRICE_FIELDS",
    "BID_VOLUME_FIELDS",
    "L1_FIELDS",
    "L5_LEVEL_FIELDS",
    "LEVELS",
    "MARKET_FIELDS",
    "PRICE_FIELDS",
    "QUANTITY_FIELDS",
    "REASON_CROSSED_BOOK",
    "REASON_DUPLICATE_TIME",
    "REASON_NAMES",
    "REASON_NEGATIVE_PRICE",
    "REASON_NEGATIVE_QUANTITY",
    "REASON_TIME_DECREASING",
    "REQUIRED_COLUMNS",
    "SCALAR_FIELDS",
    "TICK_DTYPE",
    "TICK_FIELDS",
    "SanityReport",
    "as_tick_array",
    "check_sanity",
    "empty_ticks",
    "is_sorted_by_time",
    "l5_present",
    "l5_present_mask",
    "level_fields",
    "row_hash",
    "sort_by_time",
    "ticks_from_columns",
    "ticks_to_columns",
]

LEVELS: tuple[int, ...] = (1, 2, 3, 4, 5)
SCALAR_FIELDS: tuple[str, ...] = (
    "last_price",
    "average",
    "highest",
    "lowest",
    "volume",
    "amount",
    "open_interest",
)


def level_fields(level: int) -> tuple[str, str, str, str]:
    """``(bid_price{i}, bid_volume{i}, ask_price{i}, ask_volume{i})`` for book level ``i``."""
    if level not in LEVELS:
        raise TickSchemaError(f"invalid book level {level!r}: expected one of {LEVELS}")
    return (f"bid_price{level}", f"bid_volume{level}", f"ask_price{level}", f"ask_volume{level}")


L5_LEVEL_FIELDS: tuple[str, ...] = tuple(f for i in LEVELS for f in level_fields(i))
TICK_FIELDS: tuple[str, ...] = ("datetime_ns", *SCALAR_FIELDS, *L5_LEVEL_FIELDS)
#: The 27 float64 market fields (everything but ``datetime_ns``).
MARKET_FIELDS: tuple[str, ...] = TICK_FIELDS[1:]
TICK_DTYPE = np.dtype([("datetime_ns", "<i8")] + [(name, "<f8") for name in MARKET_FIELDS])

BID_PRICE_FIELDS: tuple[str, ...] = tuple(f"bid_price{i}" for i in LEVELS)
BID_VOLUME_FIELDS: tuple[str, ...] = tuple(f"bid_volume{i}" for i in LEVELS)
ASK_PRICE_FIELDS: tuple[str, ...] = tuple(f"ask_price{i}" for i in LEVELS)
ASK_VOLUME_FIELDS: tuple[str, ...] = tuple(f"ask_volume{i}" for i in LEVELS)
PRICE_FIELDS: tuple[str, ...] = (
    "last_price",
    "average",
    "highest",
    "lowest",
    *BID_PRICE_FIELDS,
    *ASK_PRICE_FIELDS,
)
QUANTITY_FIELDS: tuple[str, ...] = ("volume", "amount", "open_interest", *BID_VOLUME_FIELDS, *ASK_VOLUME_FIELDS)
#: Fields an L1-only source fills: the scalars plus book level 1.
L1_FIELDS: tuple[str, ...] = ("datetime_ns", *SCALAR_FIELDS, *level_fields(1))
#: Columns :func:`ticks_from_columns` cannot do without (book levels are optional).
REQUIRED_COLUMNS: tuple[str, ...] = ("datetime_ns", *SCALAR_FIELDS)

_IS_FLOAT_FIELD = np.array([name != "datetime_ns" for name in TICK_FIELDS], dtype=np.bool_)


# --- construction and conversion -----------------------------------------------------------
def empty_ticks(n: int) -> np.ndarray:
    """A batch of ``n`` ticks: ``datetime_ns`` 0 and every market field NaN."""
    if n < 0:
        raise TickSchemaError(f"invalid tick count {n!r}: expected n >= 0")
    arr = np.empty(n, dtype=TICK_DTYPE)
    arr["datetime_ns"] = 0
    for name in MARKET_FIELDS:
        arr[name] = np.nan
    return arr


def as_tick_array(arr: np.ndarray) -> np.ndarray:
    """Return ``arr`` as a 1-D :data:`TICK_DTYPE` array.

    An array already of ``TICK_DTYPE`` is returned as is; another structured array holding
    every tick field (any order, castable dtypes) is converted field by field.
    """
    if not isinstance(arr, np.ndarray) or arr.dtype.names is None:
        raise TickSchemaError(
            f"invalid tick batch of type {type(arr).__name__}: expected a NumPy structured array of TICK_DTYPE"
        )
    if arr.ndim != 1:
        raise TickSchemaError(f"invalid tick batch with shape {arr.shape}: expected a 1-D array")
    if arr.dtype == TICK_DTYPE:
        return arr
    missing = [f for f in TICK_FIELDS if f not in arr.dtype.names]
    if missing:
        raise TickSchemaError(f"invalid tick batch: fields {missing} are missing; expected TICK_FIELDS")
    return ticks_from_columns({f: arr[f] for f in TICK_FIELDS})


def _datetime_column(values: object, n: int | None) -> np.ndarray:
    col = np.asarray(values)
    if col.dtype.kind == "M":
        col = col.astype("datetime64[ns]").view(np.int64)
    if col.dtype.kind not in "iu":
        raise TickSchemaError(
            f"invalid column 'datetime_ns' of dtype {col.dtype}: expected integer epoch nanoseconds "
            "(convert float timestamps explicitly; float64 cannot hold ns exactly)"
        )
    return col.astype(np.int64)


def ticks_from_columns(columns: Mapping[str, object], *, allow_extra: bool = False) -> np.ndarray:
    """Build a tick batch from 1-D columns keyed by field name.

    ``datetime_ns`` (integer ns or ``datetime64``) and the seven scalar fields are required;
    missing book-level columns are filled with NaN. Unknown columns raise unless
    ``allow_extra`` (then they are ignored).
    """
    missing = [f for f in REQUIRED_COLUMNS if f not in columns]
    if missing:
        raise TickSchemaError(f"tick columns {missing} are missing: expected at least {list(REQUIRED_COLUMNS)}")
    extra = sorted(str(k) for k in columns if k not in TICK_FIELDS)
    if extra and not allow_extra:
        raise TickSchemaError(f"unknown tick columns {extra}: expected names from TICK_FIELDS")
    dt = _datetime_column(columns["datetime_ns"], None)
    if dt.ndim != 1:
        raise TickSchemaError(f"invalid column 'datetime_ns' with shape {dt.shape}: expected 1-D")
    out = empty_ticks(dt.shape[0])
    out["datetime_ns"] = dt
    for name in MARKET_FIELDS:
        if name not in columns:
            continue
        try:
            col = np.asarray(columns[name], dtype=np.float64)
        except (TypeError, ValueError):
            raise TickSchemaError(f"invalid column {name!r}: values are not numeric") from None
        if col.shape != dt.shape:
            raise TickSchemaError(
                f"invalid column {name!r} with shape {col.shape}: expected {dt.shape} like 'datetime_ns'"
            )
        out[name] = col
    return out


def ticks_to_columns(arr: np.ndarray) -> dict[str, np.ndarray]:
    """Split a tick batch into contiguous column copies keyed by field name (schema order)."""
    arr = as_tick_array(arr)
    return {name: np.ascontiguousarray(arr[name]).copy() for name in TICK_FIELDS}


# --- row identity ----------------------------------------------------------------------------
def row_hash(arr: np.ndarray) -> np.ndarray:
    """Deterministic 64-bit hash of every tick row, as ``int64``.

    Covers all 28 fields: ``datetime_ns`` and the 27 market fields (not the symbol, not the row position).
    Algorithm, per row: take the 28 fields in schema order as 64-bit words (the int64 value of
    ``datetime_ns``; the IEEE-754 bit pattern of each float64, with every NaN replaced by
    0x7FF8000000000000 and -0.0 by +0.0); run 64-bit FNV-1a (offset 0xCBF29CE484222325, prime
    0x100000001B3) over the 8 little-endian bytes of each word; finalise with the splitmix64
    mixer (``h ^= h >> 30; h *= 0xBF58476D1CE4E5B9; h ^= h >> 27; h *= 0x94D049BB133111EB;
    h ^= h >> 31``); reinterpret the unsigned result as int64. Independent of platform and run.
    """
    arr = as_tick_array(arr)
    words = np.ascontiguousarray(arr).view("<u8").astype(np.uint64, copy=False)
    words = words.reshape(arr.shape[0], len(TICK_FIELDS))
    with np.errstate(over="ignore"):  # wrapping uint64 arithmetic when NUMBA_DISABLE_JIT=1
        hashes = row_hash_kernel(words, _IS_FLOAT_FIELD)
    return hashes.view(np.int64)


# --- depth --------------------------------------------------------------------------------------
def l5_present_mask(arr: np.ndarray) -> np.ndarray:
    """Rows with real depth: every level 2..5 has a bid or an ask side with price > 0 and volume > 0.

    NaN counts as absent. An L1-only row (levels 2-5 NaN) is False; a one-sided book (e.g. at a
    price limit, or a thin contract whose bid levels 4-5 emptied) is still True as long as each
    of levels 2..5 is quoted on at least one side.
    """
    arr = as_tick_array(arr)
    mask = np.ones(arr.shape[0], dtype=bool)
    for level in LEVELS[1:]:
        bp, bv, ap, av = level_fields(level)
        bid = (arr[bp] > 0) & (arr[bv] > 0)
        ask = (arr[ap] > 0) & (arr[av] > 0)
        mask &= bid | ask
    return mask


def l5_present(arr: np.ndarray) -> bool:
    """True if any row of the batch has depth beyond level 1 (see :func:`l5_present_mask`)."""
    return bool(l5_present_mask(arr).any())


# --- ordering -----------------------------------------------------------------------------------
def is_sorted_by_time(arr: np.ndarray) -> bool:
    """True when ``datetime_ns`` never decreases (equal neighbours allowed; empty is sorted)."""
    dt = as_tick_array(arr)["datetime_ns"]
    return bool(np.all(dt[1:] >= dt[:-1]))


def sort_by_time(arr: np.ndarray) -> np.ndarray:
    """A copy sorted by ``datetime_ns``; rows with equal times keep their order (stable)."""
    arr = as_tick_array(arr)
    return arr[np.argsort(arr["datetime_ns"], kind="stable")]


# --- sanity -------------------------------------------------------------------------------------
REASON_NEGATIVE_PRICE = 1
REASON_NEGATIVE_QUANTITY = 2
REASON_CROSSED_BOOK = 4
REASON_TIME_DECREASING = 8
REASON_DUPLICATE_TIME = 16
REASON_NAMES: Mapping[int, str] = {
    REASON_NEGATIVE_PRICE: "negative price",
    REASON_NEGATIVE_QUANTITY: "negative volume, amount or open interest",
    REASON_CROSSED_BOOK: "crossed book: ask_price1 < bid_price1",
    REASON_TIME_DECREASING: "datetime_ns earlier than the previous row",
    REASON_DUPLICATE_TIME: "datetime_ns equal to the previous row",
}


@dataclass(frozen=True)
class SanityReport:
    """Per-row result of :func:`check_sanity`: ``reasons`` holds REASON_* bit flags."""

    bad_mask: np.ndarray
    reasons: np.ndarray

    @property
    def n_bad(self) -> int:
        """Number of rows with at least one reason."""
        return int(self.bad_mask.sum())

    @property
    def bad_rows(self) -> np.ndarray:
        """Indices of the bad rows."""
        return np.flatnonzero(self.bad_mask)

    def describe(self, row: int) -> list[str]:
        """Texts of the reasons flagged on ``row`` (empty for a clean row)."""
        flags = int(self.reasons[row])
        return [text for bit, text in REASON_NAMES.items() if flags & bit]

    def counts(self) -> dict[str, int]:
        """Rows flagged per reason text (reasons that never occur are left out)."""
        out = {}
        for bit, text in REASON_NAMES.items():
            c = int(np.count_nonzero(self.reasons & bit))
            if c:
                out[text] = c
        return out


def check_sanity(arr: np.ndarray) -> SanityReport:
    """Flag impossible rows; NaN never triggers a rule.

    Rules: any price field < 0; any volume/amount/open-interest field < 0; ``ask_price1 <
    bid_price1`` when both are > 0; ``datetime_ns`` below the previous row's; ``datetime_ns``
    equal to the previous row's.
    """
    arr = as_tick_array(arr)
    n = arr.shape[0]
    reasons = np.zeros(n, dtype=np.int32)
    neg_price = np.zeros(n, dtype=bool)
    for name in PRICE_FIELDS:
        neg_price |= arr[name] < 0
    neg_qty = np.zeros(n, dtype=bool)
    for name in QUANTITY_FIELDS:
        neg_qty |= arr[name] < 0
    bid1, ask1 = arr["bid_price1"], arr["ask_price1"]
    crossed = (bid1 > 0) & (ask1 > 0) & (ask1 < bid1)
    reasons[neg_price] |= REASON_NEGATIVE_PRICE
    reasons[neg_qty] |= REASON_NEGATIVE_QUANTITY
    reasons[crossed] |= REASON_CROSSED_BOOK
    if n > 1:
        dt = arr["datetime_ns"]
        later = reasons[1:]  # view: row i is compared with row i - 1
        later[dt[1:] < dt[:-1]] |= REASON_TIME_DECREASING
        later[dt[1:] == dt[:-1]] |= REASON_DUPLICATE_TIME
    return SanityReport(bad_mask=reasons != 0, reasons=reasons)
