"""TqSdk live ticks as a LiveFeed: ``get_tick_serial`` per symbol, new rows after each update."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import numpy as np

from ghtrader.adapters.tqsdk.catalog import listed_symbols
from ghtrader.adapters.tqsdk.pre2020 import Pre2020Cache
from ghtrader.adapters.tqsdk.session import TqSdkConfig, TqSdkSession, translate_tqsdk_error
from ghtrader.application.errors import ApplicationError, InvalidArgument
from ghtrader.application.ports.providers import TickCallback
from ghtrader.domain.errors import InvalidSymbolError
from ghtrader.domain.instruments import ContinuousSymbol, ContractSymbol, parse_symbol
from ghtrader.domain.ticks import MARKET_FIELDS, empty_ticks, level_fields

if TYPE_CHECKING:
    import pandas as pd
    from tqsdk import TqApi

__all__ = ["TqSdkLiveFeed", "depth_levels_of", "serial_rows_to_ticks"]

log = logging.getLogger(__name__)

#: TqSdk publishes five book levels only for these exchanges (as its DataDownloader does).
_L5_EXCHANGES = frozenset({"SHFE", "INE", "SSE", "SZSE"})
_DEEP_FIELDS = tuple(f for i in range(2, 6) for f in level_fields(i))


def depth_levels_of(symbol: str) -> int:
    """5 for SHFE/INE contracts, 1 otherwise (e.g. ``KQ.m@`` continuous aliases)."""
    return 5 if symbol.split(".", 1)[0] in _L5_EXCHANGES else 1


def serial_rows_to_ticks(columns: dict[str, np.ndarray], depth_levels: int) -> np.ndarray:
    """TICK_DTYPE rows from tick-serial columns (float64 arrays keyed by TqSdk column names).

    TqSdk hands the serial's ``datetime`` over as float64, which keeps only ~256 ns of
    precision at today's epoch; exchange stamps are whole microseconds (often whole
    milliseconds), so rounding to the microsecond restores the exact integer nanoseconds.
    Levels above ``depth_levels`` are set to NaN (TqSdk fills them with 0 volumes).
    """
    stamps = np.asarray(columns["datetime"], dtype=np.float64)
    out = empty_ticks(len(stamps))
    out["datetime_ns"] = np.rint(stamps / 1e3).astype(np.int64) * 1000
    for name in MARKET_FIELDS:
        if name in columns:
            out[name] = np.asarray(columns[name], dtype=np.float64)
    if depth_levels < 5:
        for name in _DEEP_FIELDS:
            out[name] = np.nan
    return out


def _new_rows(df: pd.DataFrame, last_id: int) -> tuple[dict[str, np.ndarray], int]:
    ids = df["id"].to_numpy(dtype=np.float64)
    stamps = df["datetime"].to_numpy(dtype=np.float64)
    mask = (ids > last_id) & (ids >= 0) & (stamps > 0)
    if not mask.any():
        return {}, last_id
    cols = {"datetime": stamps[mask]}
    for name in MARKET_FIELDS:
        if name in df.columns:
            cols[name] = df[name].to_numpy(dtype=np.float64)[mask]
    return cols, int(ids[mask].max())


class TqSdkLiveFeed:
    """Live ticks from TqSdk: one ``get_tick_serial(symbol, window)`` per symbol; after every
    ``wait_update`` the rows with a new serial id go to ``on_ticks`` (one TICK_DTYPE batch per
    symbol and update). The first batch per symbol is the serial's recent history (up to
    ``window`` ticks) unless ``deliver_history`` is False. More than ``window`` ticks arriving
    within one update would be lost, so keep ``window`` well above a poll's worth of ticks.

    Args:
        config: TqSdk account and URL overrides.
        window: ticks kept per serial (TqSdk caps it at 10000).
        poll_s: longest wait for an update before ``should_stop`` is checked again.
        session_factory: override of ``lambda: TqSdkSession(config)`` (tests).
    """

    def __init__(
        self,
        config: TqSdkConfig,
        *,
        window: int = 2000,
        poll_s: float = 0.5,
        deliver_history: bool = True,
        session_factory: Callable[[], AbstractContextManager[TqApi]] | None = None,
        pre2020: Pre2020Cache | None = None,
    ) -> None:
        if not 1 <= window <= 10000:
            raise InvalidArgument(f"window must be 1..10000 ticks, got {window}")
        self._config = config
        self._window = window
        self._poll_s = poll_s
        self._deliver_history = deliver_history
        self._session_factory = session_factory or (lambda: TqSdkSession(config))
        self._pre2020 = pre2020 if pre2020 is not None else Pre2020Cache()

    def run(self, symbols: Sequence[str], on_ticks: TickCallback, should_stop: Callable[[], bool]) -> None:
        """Deliver new ticks until ``should_stop()`` is true (checked at least every ``poll_s``).

        Raises:
            InvalidArgument: a malformed or unknown symbol, or no symbols.
            FailedPrecondition / Unavailable: login rejected, TqSdk unreachable or failing.
        """
        if not symbols:
            raise InvalidArgument("no symbols to record: give at least one symbol")
        parsed: dict[str, ContractSymbol | ContinuousSymbol] = {}
        for s in symbols:
            try:
                parsed[s] = parse_symbol(s)
            except InvalidSymbolError as exc:
                raise InvalidArgument(str(exc)) from None
        with self._session_factory() as api:
            self._check_listed(api, parsed)
            serials: dict[str, Any] = {}
            try:
                for s in parsed:
                    serials[s] = api.get_tick_serial(s, self._window)
            except Exception as exc:
                raise translate_tqsdk_error(exc, f"subscribing to ticks of {list(parsed)}", self._config) from None
            last_ids = {s: -1 for s in serials}
            if not self._deliver_history:
                for s, df in serials.items():
                    last_ids[s] = _new_rows(df, -1)[1]
            while True:
                for s, df in serials.items():
                    cols, last = _new_rows(df, last_ids[s])
                    if cols:
                        last_ids[s] = last
                        on_ticks(s, serial_rows_to_ticks(cols, depth_levels_of(s)))
                if should_stop():
                    return
                try:
                    api.wait_update(deadline=time.time() + self._poll_s)
                except Exception as exc:
                    raise translate_tqsdk_error(exc, "receiving live ticks from TqSdk", self._config) from None

    def _check_listed(self, api: TqApi, parsed: dict[str, ContractSymbol | ContinuousSymbol]) -> None:
        listed: dict[str, set[str]] = {}
        for s, p in parsed.items():
            if s in self._pre2020:
                continue
            key = ("CONT:" if isinstance(p, ContinuousSymbol) else "FUT:") + p.variety_key
            if key not in listed:
                try:
                    listed[key] = listed_symbols(api, p)
                except ApplicationError:
                    raise
                except Exception as exc:
                    what = f"looking up {s} in the TqSdk instrument service"
                    raise translate_tqsdk_error(exc, what, self._config) from None
            if s not in listed[key]:
                raise InvalidArgument(f"unknown symbol {s!r}: TqSdk lists no such instrument; check the symbol")
