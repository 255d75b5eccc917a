"""Catalog merge rules and the pre-2020 cache reader of the TqSdk adapter (no network)."""

from __future__ import annotations

import json
import lzma
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from ghtrader.adapters.tqsdk.catalog import (
    SOURCE_PRE2020,
    SOURCE_QUERY,
    SOURCE_STORE,
    expiry_day,
    merge_catalog,
)
from ghtrader.adapters.tqsdk.pre2020 import Pre2020Cache
from ghtrader.application.errors import FailedPrecondition, InvalidArgument

CST = timezone(timedelta(hours=8))


def _rec(expire: date, *, expired: bool, tick: float = 10.0, mult: float = 5.0) -> dict:
    ts = datetime(expire.year, expire.month, expire.day, 15, tzinfo=CST).timestamp()
    return {"expired": expired, "expire_datetime": ts, "price_tick": tick, "volume_multiple": mult}


def test_expiry_day_is_the_beijing_date() -> None:
    # 2019-09-16 15:00 Beijing is 07:00 UTC; 2019-09-16 23:30 Beijing is still the 16th.
    assert expiry_day(1568617200.0) == date(2019, 9, 16)
    assert expiry_day(datetime(2019, 9, 16, 23, 30, tzinfo=CST).timestamp()) == date(2019, 9, 16)
    assert expiry_day(float("nan")) is None
    assert expiry_day(None) is None
    assert expiry_day(0) is None


def test_merge_takes_each_symbol_from_the_first_source_that_has_it() -> None:
    queried = {
        "SHFE.cu2402": _rec(date(2024, 2, 19), expired=False, tick=10.0),
        "SHFE.cu2312": _rec(date(2023, 12, 15), expired=True),
    }
    pre2020 = {
        "SHFE.cu1909": _rec(date(2019, 9, 16), expired=True),
        "SHFE.cu2402": _rec(date(2024, 2, 19), expired=True, tick=99.0),  # shadowed by the service
    }
    store = ["SHFE.cu2105", "SHFE.cu2402", "SHFE.cu2406", "SHFE.au2406", "KQ.m@SHFE.cu", "junk"]
    rows = merge_catalog("SHFE.cu", queried, pre2020, store, today=date(2024, 1, 20))
    by = {r.symbol: r for r in rows}
    assert [r.symbol for r in rows] == ["SHFE.cu1909", "SHFE.cu2105", "SHFE.cu2312", "SHFE.cu2402", "SHFE.cu2406"]
    assert by["SHFE.cu2402"].source == SOURCE_QUERY
    assert by["SHFE.cu2402"].price_tick == 10.0 and not by["SHFE.cu2402"].expired
    assert by["SHFE.cu2402"].last_trading_day == date(2024, 2, 19)
    assert by["SHFE.cu1909"].source == SOURCE_PRE2020 and by["SHFE.cu1909"].expired
    assert by["SHFE.cu2105"].source == SOURCE_STORE and by["SHFE.cu2105"].expired
    assert by["SHFE.cu2406"].source == SOURCE_STORE and not by["SHFE.cu2406"].expired
    assert by["SHFE.cu2406"].multiplier == 5.0 and by["SHFE.cu2406"].last_trading_day is None
    assert all(r.variety == "cu" for r in rows)
    # Listed the weekday after the same month of the previous year expires; cu2302 and cu2306
    # are not in the catalog, so their expiry is the 15th (a Wednesday, a Thursday).
    assert by["SHFE.cu2402"].first_trading_day == date(2023, 2, 16)
    assert by["SHFE.cu2406"].first_trading_day == date(2023, 6, 16)  # store rows too


def test_first_trading_day_from_the_record_or_the_listing_rule() -> None:
    queried = {
        "SHFE.au2406": _rec(date(2024, 6, 17), expired=False),  # 06-15 is a Saturday
        "SHFE.au2506": _rec(date(2025, 6, 16), expired=False),
        "SHFE.au2507": _rec(date(2025, 7, 15), expired=False),
        "SHFE.au2504": _rec(date(2025, 4, 15), expired=True),
        "SHFE.au2508": {**_rec(date(2025, 8, 15), expired=False), "open_date": "2024-08-19"},
        "SHFE.au2510": {**_rec(date(2025, 10, 15), expired=False), "first_trading_day": 20241016},
        "SHFE.au2512": {
            **_rec(date(2025, 12, 15), expired=False),
            "first_trading_datetime": datetime(2024, 12, 16, 9, tzinfo=CST).timestamp() * 1e9,
        },
    }
    by = {r.symbol: r for r in merge_catalog("SHFE.au", queried, {}, [], today=date(2025, 1, 2))}
    assert by["SHFE.au2506"].first_trading_day == date(2024, 6, 18)  # after au2406 (catalog expiry)
    assert by["SHFE.au2507"].first_trading_day == date(2025, 4, 16)  # odd month: after au2504
    assert by["SHFE.au2504"].first_trading_day == date(2024, 4, 16)  # even month: after au2404 (15th)
    assert by["SHFE.au2508"].first_trading_day == date(2024, 8, 19)
    assert by["SHFE.au2510"].first_trading_day == date(2024, 10, 16)
    assert by["SHFE.au2512"].first_trading_day == date(2024, 12, 16)


def test_merge_rejects_a_bad_variety() -> None:
    with pytest.raises(InvalidArgument, match="cu2402x"):
        merge_catalog("SHFE.cu2402x", {}, {}, [], today=date(2024, 1, 1))


def _write_lzma(path: Path, obj: object) -> Path:
    with lzma.open(path, "wt", encoding="utf-8") as f:
        json.dump(obj, f)
    return path


def test_pre2020_cache_filters_futures_of_a_variety(tmp_path: Path) -> None:
    cache = Pre2020Cache(
        _write_lzma(
            tmp_path / "q.json.lzma",
            {
                "SHFE.cu1909": {"ins_class": "FUTURE", "exchange_id": "SHFE", "product_id": "cu"},
                "SHFE.cu1909C47000": {"ins_class": "FUTURE_OPTION", "exchange_id": "SHFE", "product_id": "cu"},
                "SHFE.au1912": {"ins_class": "FUTURE", "exchange_id": "SHFE", "product_id": "au"},
            },
        )
    )
    assert list(cache.futures("SHFE", "cu")) == ["SHFE.cu1909"]
    assert "SHFE.au1912" in cache and "SHFE.au2012" not in cache


def test_pre2020_cache_errors_are_actionable(tmp_path: Path) -> None:
    bad = tmp_path / "bad.lzma"
    bad.write_bytes(b"not lzma")
    with pytest.raises(FailedPrecondition, match="reinstall tqsdk"):
        Pre2020Cache(bad).records()
    with pytest.raises(FailedPrecondition, match="not a JSON object"):
        Pre2020Cache(_write_lzma(tmp_path / "list.lzma", [1, 2])).records()


def test_the_wheels_cache_has_shfe_copper_2016_to_2020() -> None:
    cu = Pre2020Cache().futures("SHFE", "cu")
    months = sorted(s[-4:] for s in cu)
    assert months[0] == "1601" and months[-1] == "2009" and len(months) == 57
    rows = {r.symbol: r for r in merge_catalog("SHFE.cu", {}, cu, [], today=date(2024, 1, 1))}
    assert rows["SHFE.cu1909"].last_trading_day == date(2019, 9, 16)
    assert (rows["SHFE.cu1909"].price_tick, rows["SHFE.cu1909"].multiplier) == (10.0, 5.0)
