"""compute_manifests against a plain-Python reference (explicit two's-complement wrap-around)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from ghtrader.application.errors import InvalidArgument
from ghtrader.application.manifests import compute_manifests
from ghtrader.domain.ticks import empty_ticks, l5_present_mask

INT64_MIN = -(2**63)


def wrap(x: int) -> int:
    return (x + 2**63) % 2**64 - 2**63


def reference(days: np.ndarray, hashes: np.ndarray, ticks: np.ndarray) -> dict[date, tuple]:
    out: dict[date, list] = {}
    l5 = l5_present_mask(ticks)
    for d, h, t, deep in zip(
        days.astype(object), hashes.tolist(), ticks["datetime_ns"].tolist(), l5.tolist(), strict=True
    ):
        acc = out.setdefault(d, [0, t, t, False, h, h, 0, 0])
        acc[0] += 1
        acc[1], acc[2] = min(acc[1], t), max(acc[2], t)
        acc[3] = acc[3] or deep
        acc[4], acc[5] = min(acc[4], h), max(acc[5], h)
        acc[6] = wrap(acc[6] + h)
        acc[7] = wrap(acc[7] + (h if h == INT64_MIN else abs(h)))
    return {d: tuple(v) for d, v in out.items()}


def batch(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ticks = empty_ticks(n)
    ticks["datetime_ns"] = np.sort(rng.choice(10**12, n, replace=False)) + 1_700_000_000_000_000_000
    deep = rng.random(n) < 0.3
    for lvl in range(2, 6):
        ticks[f"bid_price{lvl}"] = np.where(deep, 100.0, np.nan)
        ticks[f"bid_volume{lvl}"] = np.where(deep, 1.0, np.nan)
    days = np.array(["2024-03-04", "2024-03-05", "2024-03-07"], dtype="datetime64[D]")[np.sort(rng.integers(0, 3, n))]
    hashes = rng.integers(INT64_MIN, 2**63 - 1, n, dtype=np.int64, endpoint=True)
    hashes[:3] = [INT64_MIN, 2**63 - 1, 2**63 - 1]  # force wrap-around in both sums
    return ticks, days, hashes


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_the_reference(seed: int) -> None:
    ticks, days, hashes = batch(500, seed)
    got = compute_manifests("SHFE.cu2404", "raw", days, hashes, ticks, 123)
    ref = reference(days, hashes, ticks)
    assert [m.trading_day for m in got] == sorted(ref)
    for m in got:
        assert (
            m.rows_total,
            m.first_datetime_ns,
            m.last_datetime_ns,
            m.l5_present,
            m.row_hash_min,
            m.row_hash_max,
            m.row_hash_sum,
            m.row_hash_sum_abs,
        ) == ref[m.trading_day]
        assert (m.symbol, m.ticks_lake, m.updated_at_ns, m.lake_version) == ("SHFE.cu2404", "raw", 123, "v2")


def test_day_order_and_row_order_do_not_matter() -> None:
    ticks, days, hashes = batch(300, 5)
    perm = np.random.default_rng(1).permutation(300)
    a = compute_manifests("S", "raw", days, hashes, ticks, 0)
    b = compute_manifests("S", "raw", days[perm], hashes[perm], ticks[perm], 0)
    assert a == b


def test_repeated_times_count_once_as_the_last_row() -> None:
    ticks, days, hashes = batch(10, 7)
    ticks2 = np.concatenate([ticks, ticks[4:5]])
    hashes2 = np.concatenate([hashes, np.array([99], dtype=np.int64)])
    days2 = np.concatenate([days, days[4:5]])
    expected_hashes = hashes.copy()
    expected_hashes[4] = 99
    assert compute_manifests("S", "raw", days2, hashes2, ticks2, 0) == compute_manifests(
        "S", "raw", days, expected_hashes, ticks, 0
    )


def test_empty_and_misaligned() -> None:
    assert compute_manifests("S", "raw", np.empty(0, "datetime64[D]"), np.empty(0, np.int64), empty_ticks(0), 0) == []
    ticks, days, hashes = batch(5, 0)
    with pytest.raises(InvalidArgument):
        compute_manifests("S", "raw", days[:4], hashes, ticks, 0)
