"""The contracts delisted before 2020-09 that only TqSdk's wheel knows about.

TqSdk ships ``tqsdk/expired_quotes.json.lzma`` (about 14k instruments, expiries 2016-01 to
2020-09) and loads it into ``TqApi._pre20_ins_info``, which it only consults when the instrument
service answers a single-symbol query with an error; ``query_quotes`` never lists them. So the
catalog reads the file itself. The file is located without importing ``tqsdk``.
"""

from __future__ import annotations

import importlib.util
import json
import lzma
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ghtrader.application.errors import FailedPrecondition

__all__ = ["PRE2020_FILE_NAME", "Pre2020Cache", "default_pre2020_path"]

PRE2020_FILE_NAME = "expired_quotes.json.lzma"


def default_pre2020_path() -> Path:
    """Where the installed tqsdk wheel keeps its pre-2020 instrument cache."""
    spec = importlib.util.find_spec("tqsdk")
    if spec is None or not spec.submodule_search_locations:
        raise FailedPrecondition("tqsdk is not installed: install it (pip install tqsdk) to use the TqSdk provider")
    return Path(next(iter(spec.submodule_search_locations))) / PRE2020_FILE_NAME


class Pre2020Cache:
    """Lazy reader of the wheel's pre-2020 cache (instrument id -> TqSdk quote record)."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._records: Mapping[str, Mapping[str, Any]] | None = None

    @property
    def path(self) -> Path:
        return self._path if self._path is not None else default_pre2020_path()

    def records(self) -> Mapping[str, Mapping[str, Any]]:
        """Every record of the file, loaded once."""
        if self._records is None:
            path = self.path
            try:
                with lzma.open(path, "rt", encoding="utf-8") as f:
                    data = json.load(f)
            except (OSError, lzma.LZMAError, ValueError) as exc:
                raise FailedPrecondition(
                    f"cannot read TqSdk's pre-2020 instrument cache {path}: {exc}; reinstall tqsdk"
                ) from None
            if not isinstance(data, dict):
                raise FailedPrecondition(f"TqSdk's pre-2020 instrument cache {path} is not a JSON object")
            self._records = data
        return self._records

    def futures(self, exchange: str, variety: str) -> dict[str, Mapping[str, Any]]:
        """FUTURE records of one variety, e.g. ``futures("SHFE", "cu")`` -> cu1601..cu2009."""
        return {
            sym: rec
            for sym, rec in self.records().items()
            if rec.get("ins_class") == "FUTURE"
            and rec.get("exchange_id") == exchange
            and rec.get("product_id") == variety
        }

    def __contains__(self, symbol: object) -> bool:
        return symbol in self.records()
