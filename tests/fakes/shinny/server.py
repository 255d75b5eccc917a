"""A local fake of the Shinny services TqSdk talks to, for offline tests of the real client.

One aiohttp server on 127.0.0.1 (a free port) serves:

* auth (Keycloak-like): ``POST /auth/realms/shinnytech/protocol/openid-connect/token`` returns an
  unsigned-for-our-purposes JWT whose ``grants.features`` TqSdk reads; ``GET .../rest/get-grant/tq``
  returns the licence expiry;
* files: the holiday list (``TQ_CHINESE_HOLIDAY_URL``), the continuous table
  (``TQ_CONT_TABLE_URL``) and the old-style symbol file (``TQ_INS_URL``);
* market data on ``ws://.../md`` speaking DIFF: ``rsp_login`` on connect, then ``rtn_data``
  packets only in answer to ``peek_message``; ``ins_query``, ``subscribe_quote`` and
  ``set_chart`` for tick series (duration 0) with paging by ``focus_datetime`` /
  ``left_kline_id`` and live pushes to real-time tick charts (``push_ticks``); single-symbol
  kline charts of durations under a day, built from the ticks (bars aligned to multiples of the
  duration since the epoch), with the same paging and no live pushes;
* a minimal trading gateway on ``ws://.../trade`` (``TQ_TD_URL``; see ``trade.py``) answering
  ``req_login`` of the accounts added with ``add_trade_account`` with one account snapshot, and
  ``PUT .../rest/update-grant-accounts/<id>`` (TqAccount asks Shinny to grant its broker account).

Tests choose the data: instrument records (see ``instruments.py``) and tick arrays with the
TICK_DTYPE field names. Missing values (NaN) go out as ``"-"`` like the real service; TqSdk then
substitutes its defaults (NaN for prices and amount, 0 for volumes and open interest).

The server runs its own event loop in a daemon thread; ``stop()`` (or leaving the ``with``
block) closes every connection and joins the thread.
"""

from __future__ import annotations

import asyncio
import base64
import bisect
import json
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

import numpy as np
from aiohttp import WSMsgType, web

from tests.fakes.shinny.ins_query import query_arguments, select
from tests.fakes.shinny.trade import FakeTradeAccount, login_answer

_CST = timezone(timedelta(hours=8))
TOKEN_PATH = "/auth/realms/shinnytech/protocol/openid-connect/token"
GRANT_PATH = "/auth/realms/shinnytech/rest/get-grant/tq"
ADD_ACCOUNT_PATH = "/auth/realms/shinnytech/rest/update-grant-accounts/{account_id}"
_TICK_KEYS = (
    "last_price",
    "average",
    "highest",
    "lowest",
    "volume",
    "amount",
    "open_interest",
    *(f"{side}_{kind}{i}" for i in range(1, 6) for side in ("bid", "ask") for kind in ("price", "volume")),
)


def _b64(obj: Mapping[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def make_jwt(claims: Mapping[str, Any]) -> str:
    """A JWT with a dummy signature: TqSdk decodes it without verifying the signature."""
    return f"{_b64({'alg': 'HS256', 'typ': 'JWT'})}.{_b64(claims)}.{_b64({'sig': 'fake'})}"


def _beijing_text(ns: int) -> str:
    dt = datetime.fromtimestamp(ns // 1_000_000_000, tz=_CST)
    return dt.strftime("%Y-%m-%d %H:%M:%S") + f".{(ns % 1_000_000_000) // 1000:06d}"


def _wire(value: Any) -> Any:
    """DIFF encodes a missing number as the string "-" (JSON has no NaN)."""
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        if value.is_integer() and abs(value) < 2**53:
            return int(value)
    return value


def tick_records(ticks: np.ndarray) -> list[dict[str, Any]]:
    """DIFF tick records from a structured array with TICK_DTYPE field names."""
    names = [k for k in _TICK_KEYS if k in ticks.dtype.names]
    cols = {k: ticks[k].tolist() for k in names}
    stamps = ticks["datetime_ns"].astype(np.int64).tolist()
    return [{"datetime": int(stamps[i]), **{k: _wire(cols[k][i]) for k in names}} for i in range(len(stamps))]


@dataclass
class _Chart:
    request: dict[str, Any]
    symbol: str
    realtime: bool
    duration: int = 0


_DAY_NS = 86_400_000_000_000


def kline_records(ticks: list[dict[str, Any]], duration: int) -> list[dict[str, Any]]:
    """DIFF kline records of ``duration`` ns built from tick records: OHLC of ``last_price``,
    volume from the cumulative volume (bar end minus the previous bar's end; the first bar from
    its first tick), open / close open interest."""
    bars: list[dict[str, Any]] = []
    prev_volume: float | None = None
    for tick in ticks:
        price = tick.get("last_price")
        if not isinstance(price, (int, float)):
            continue  # "-": no trade price, no bar
        start = tick["datetime"] // duration * duration
        volume = tick.get("volume", 0)
        volume = volume if isinstance(volume, (int, float)) else 0
        oi = tick.get("open_interest", 0)
        if not bars or bars[-1]["datetime"] != start:
            base = volume if prev_volume is None else prev_volume
            bars.append(
                {"datetime": start, "open": price, "high": price, "low": price, "close": price,
                 "volume": 0, "open_oi": oi, "close_oi": oi, "_base": base}
            )  # fmt: skip
        bar = bars[-1]
        bar["high"], bar["low"], bar["close"] = max(bar["high"], price), min(bar["low"], price), price
        bar["volume"], bar["close_oi"] = _wire(float(volume - bar["_base"])), oi
        prev_volume = volume
    for bar in bars:
        del bar["_base"]
    return bars


@dataclass(eq=False)
class _Session:
    ws: web.WebSocketResponse
    outbox: asyncio.Queue[str | None]
    pending: list[dict[str, Any]] = field(default_factory=list)
    peek_waiting: bool = False
    quotes: list[str] = field(default_factory=list)
    charts: dict[str, _Chart] = field(default_factory=dict)
    later: list[list[dict[str, Any]]] = field(default_factory=list)  # diffs for the following rtn_data packets
    trade_user: str = ""  # trading sessions: the account logged in

    def queue(self, diff: dict[str, Any]) -> None:
        self.pending.append(diff)
        if self.peek_waiting:
            self.flush()

    def queue_packets(self, packets: list[dict[str, Any]]) -> None:
        """One diff per ``rtn_data`` packet, in order (what the client sees between two updates)."""
        if not packets:
            return
        first, rest = packets[0], packets[1:]
        self.later.extend([d] for d in rest)
        self.queue(first)

    def flush(self) -> None:
        self.peek_waiting = False
        data, self.pending = self.pending, []
        self.outbox.put_nowait(json.dumps({"aid": "rtn_data", "data": data}))
        if self.later:
            self.pending = self.later.pop(0)


@dataclass
class FakeStats:
    """What the clients did (read from the test thread; counts only grow)."""

    token_requests: int = 0
    md_connections: int = 0
    set_chart: list[dict[str, Any]] = field(default_factory=list)
    ins_queries: list[dict[str, Any]] = field(default_factory=list)
    subscribe_quote: list[str] = field(default_factory=list)
    td_connections: int = 0
    td_requests: list[str] = field(default_factory=list)  # the ``aid`` of every trading packet
    orders: list[dict[str, Any]] = field(default_factory=list)  # every insert_order packet


class FakeShinny:
    """The fake services. Configure data before or after ``start()``; URLs exist after it."""

    def __init__(
        self,
        *,
        user: str = "fake-user",
        password: str = "fake-password",
        features: Iterable[str] = ("futr", "tq_dl"),
        holidays: Iterable[date] = (),
        quote_datetime: str = "2024-01-02 15:00:00.000000",
        continuous_table: Mapping[str, list[list[str]]] | None = None,
    ) -> None:
        self.user = user
        self.password = password
        self.features = list(features)
        self.holidays = sorted(holidays)
        self.quote_datetime = quote_datetime
        self.continuous_table = dict(continuous_table or {})
        self.stats = FakeStats()
        self._instruments: dict[str, dict[str, Any]] = {}
        self._series: dict[str, list[dict[str, Any]]] = {}
        self._stamps: dict[str, list[int]] = {}
        self._sessions: set[_Session] = set()
        self._trade_accounts: dict[str, FakeTradeAccount] = {}
        self._granted: list[str] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._port = 0

    # --- data ---------------------------------------------------------------------------
    def add_instruments(self, *records: Mapping[str, Any]) -> None:
        """Serve these instrument records (keyed by ``instrument_id``)."""
        self._call(lambda: self._instruments.update({r["instrument_id"]: dict(r) for r in records}))

    def set_ticks(self, symbol: str, ticks: np.ndarray) -> None:
        """Replace the whole tick history of ``symbol`` (TICK_DTYPE field names, time-sorted)."""
        records = tick_records(ticks)

        def apply() -> None:
            self._series[symbol] = records
            self._stamps[symbol] = [r["datetime"] for r in records]

        self._call(apply)

    def push_ticks(self, symbol: str, ticks: np.ndarray) -> None:
        """Append ticks to ``symbol`` and push them to every real-time chart and quote of it."""
        records = tick_records(ticks)
        self._call(lambda: self._append(symbol, records))

    def add_trade_account(self, account: FakeTradeAccount) -> None:
        """Let ``account`` log in to the trading gateway."""
        self._call(lambda: self._trade_accounts.update({account.user_id: account}))

    # --- lifecycle ----------------------------------------------------------------------
    def start(self, timeout_s: float = 10.0) -> FakeShinny:
        ready = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._serve())
            except BaseException as exc:  # reported to start()
                errors.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._shutdown())
            loop.close()

        self._thread = threading.Thread(target=run, name="fake-shinny", daemon=True)
        self._thread.start()
        if not ready.wait(timeout_s) or errors:
            raise RuntimeError(f"fake Shinny services did not start: {errors or 'timeout'}")
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout_s)
        if thread.is_alive():
            raise RuntimeError(f"fake Shinny services did not stop within {timeout_s:.0f} s")
        self._loop = self._thread = None

    def __enter__(self) -> FakeShinny:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- addresses ----------------------------------------------------------------------
    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def auth_url(self) -> str:
        return self.http_url

    @property
    def md_url(self) -> str:
        return f"ws://127.0.0.1:{self._port}/md"

    @property
    def td_url(self) -> str:
        return f"ws://127.0.0.1:{self._port}/trade"

    @property
    def ins_url(self) -> str:
        return f"{self.http_url}/t/md/symbols/latest.json"

    @property
    def holiday_url(self) -> str:
        return f"{self.http_url}/shinny_chinese_holiday.json"

    @property
    def cont_table_url(self) -> str:
        return f"{self.http_url}/continuous_table.json"

    def env(self) -> dict[str, str]:
        """The ``TQ_*`` environment that points TqSdk at this fake."""
        return {
            "TQ_AUTH_URL": self.auth_url,
            "TQ_MD_URL": self.md_url,
            "TQ_INS_URL": self.ins_url,
            "TQ_CHINESE_HOLIDAY_URL": self.holiday_url,
            "TQ_CONT_TABLE_URL": self.cont_table_url,
        }

    def wait_until(self, predicate: Callable[[], bool], timeout_s: float = 10.0) -> bool:
        """Poll ``predicate`` (reading ``stats``) until true or the timeout; returns its last value."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.02)
        return predicate()

    # --- internals: loop plumbing -------------------------------------------------------
    def _call(self, fn: Callable[[], None]) -> None:
        loop = self._loop
        if loop is None or not loop.is_running():
            fn()
            return
        done = threading.Event()

        def wrapped() -> None:
            try:
                fn()
            finally:
                done.set()

        loop.call_soon_threadsafe(wrapped)
        if not done.wait(10):
            raise RuntimeError("fake Shinny loop did not run the update")

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_post(TOKEN_PATH, self._token)
        app.router.add_get(GRANT_PATH, self._grant)
        app.router.add_get("/shinny_chinese_holiday.json", self._holiday_file)
        app.router.add_get("/continuous_table.json", self._cont_table)
        app.router.add_get("/t/md/symbols/latest.json", self._symbols_file)
        app.router.add_get("/md", self._md)
        app.router.add_get("/trade", self._trade)
        app.router.add_put(ADD_ACCOUNT_PATH, self._add_account)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=2.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]

    async def _shutdown(self) -> None:
        for s in list(self._sessions):
            s.outbox.put_nowait(None)
            try:
                await asyncio.wait_for(s.ws.close(), 2.0)
            except (TimeoutError, RuntimeError, ConnectionError):
                pass
        if self._runner is not None:
            await self._runner.cleanup()

    # --- HTTP ---------------------------------------------------------------------------
    async def _token(self, request: web.Request) -> web.Response:
        self.stats.token_requests += 1
        form = await request.post()
        grant = form.get("grant_type")
        if grant == "password" and (form.get("username") != self.user or form.get("password") != self.password):
            return web.json_response(
                {"error": "invalid_grant", "error_description": "Invalid user credentials"}, status=401
            )
        now = int(time.time())
        claims = {
            "sub": f"sub-{self.user}",
            "exp": now + 3600,
            "iat": now,
            "preferred_username": self.user,
            "grants": {"features": self.features, "accounts": ["*", *self._granted]},
        }
        return web.json_response(
            {
                "access_token": make_jwt(claims),
                "refresh_token": "fake-refresh",
                "expires_in": 3600,
                "token_type": "Bearer",
            }
        )

    async def _grant(self, request: web.Request) -> web.Response:
        return web.json_response({"exp": int(time.time()) + 365 * 86400, "daysleft": 365, "account_type": "pro"})

    async def _add_account(self, request: web.Request) -> web.Response:
        self._granted.append(request.match_info["account_id"])
        return web.json_response({})

    async def _holiday_file(self, request: web.Request) -> web.Response:
        return web.json_response([d.isoformat() for d in self.holidays])

    async def _cont_table(self, request: web.Request) -> web.Response:
        return web.json_response(self.continuous_table)

    async def _symbols_file(self, request: web.Request) -> web.Response:
        out = {}
        for sym, r in self._instruments.items():
            rec = {k: v for k, v in r.items() if k not in ("underlying", "__typename")}
            if r.get("class") == "CONT":
                rec["underlying_symbol"] = r["underlying"]["edges"][0]["node"]["instrument_id"]
            if "expire_datetime" in rec:
                rec["expire_datetime"] = rec["expire_datetime"] / 1e9
            out[sym] = rec
        return web.json_response(out)

    # --- market data websocket ----------------------------------------------------------
    async def _md(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        self.stats.md_connections += 1
        session = _Session(ws=ws, outbox=asyncio.Queue())
        self._sessions.add(session)
        writer = asyncio.ensure_future(self._writer(session))
        session.outbox.put_nowait(json.dumps({"aid": "rsp_login", "session_id": f"s{self.stats.md_connections}"}))
        session.queue({"mdhis_more_data": False, "ins_list": ""})
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                self._handle(session, json.loads(msg.data))
        finally:
            self._sessions.discard(session)
            session.outbox.put_nowait(None)
            await writer
        return ws

    async def _trade(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        self.stats.td_connections += 1
        session = _Session(ws=ws, outbox=asyncio.Queue())
        self._sessions.add(session)
        writer = asyncio.ensure_future(self._writer(session))
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                pack = json.loads(msg.data)
                aid = str(pack.get("aid", ""))
                self.stats.td_requests.append(aid)
                if aid == "peek_message":
                    if session.pending:
                        session.flush()
                    else:
                        session.peek_waiting = True
                elif aid == "req_login":
                    for diff in login_answer(self._trade_accounts, pack, self.stats.td_connections):
                        session.queue(diff)
                        if "trade" in diff:
                            session.trade_user = str(pack.get("user_name", ""))
                elif aid == "insert_order":
                    self.stats.orders.append(dict(pack))
                    self._insert_order(session, pack)
                elif aid == "cancel_order":
                    account = self._trade_accounts.get(session.trade_user)
                    diff = account.cancel(pack) if account is not None else None
                    if diff is not None:
                        session.queue({"trade": {session.trade_user: diff}})
        finally:
            self._sessions.discard(session)
            session.outbox.put_nowait(None)
            await writer
        return ws

    def _insert_order(self, session: _Session, pack: dict[str, Any]) -> None:
        account = self._trade_accounts.get(session.trade_user)
        if account is None:
            return  # not logged in: the real gateway drops it too
        symbol = f"{pack.get('exchange_id')}.{pack.get('instrument_id')}"
        quote = self._quote(symbol)
        series = self._series.get(symbol)
        ns = series[-1]["datetime"] if series else time.time_ns()
        user = session.trade_user
        session.queue_packets([{"trade": {user: diff}} for diff in account.insert(pack, quote, ns)])

    def _match_resting(self, symbol: str) -> None:
        """A new quote of ``symbol``: resting orders of logged-in accounts that it crosses fill."""
        quote = self._quote(symbol)
        for s in list(self._sessions):
            account = self._trade_accounts.get(s.trade_user) if s.trade_user else None
            if account is None:
                continue
            ns = self._series[symbol][-1]["datetime"]
            for oid in account.resting(symbol):
                diff = account.match(oid, quote, ns)
                if diff is not None:
                    s.queue({"trade": {s.trade_user: diff}})

    async def _writer(self, session: _Session) -> None:
        while (text := await session.outbox.get()) is not None:
            if session.ws.closed:
                break
            try:
                await session.ws.send_str(text)
            except ConnectionError:
                break

    def _handle(self, s: _Session, pack: dict[str, Any]) -> None:
        aid = pack.get("aid")
        if aid == "peek_message":
            if s.pending:
                s.flush()
            else:
                s.peek_waiting = True
        elif aid == "subscribe_quote":
            self.stats.subscribe_quote.append(pack.get("ins_list", ""))
            self._subscribe_quote(s, pack)
        elif aid == "ins_query":
            self._ins_query(s, pack)
        elif aid == "set_chart":
            self.stats.set_chart.append(dict(pack))
            self._set_chart(s, pack)

    def _quote(self, symbol: str) -> dict[str, Any] | None:
        record = self._instruments.get(symbol)
        series = self._series.get(symbol)
        if record is None and not series:
            return None
        quote: dict[str, Any] = {"instrument_id": symbol, "datetime": self.quote_datetime}
        if series:
            last = series[-1]
            quote.update({k: v for k, v in last.items() if k != "datetime"})
            quote["datetime"] = _beijing_text(last["datetime"])
        if record is not None and record.get("class") == "CONT":
            quote["underlying_symbol"] = record["underlying"]["edges"][0]["node"]["instrument_id"]
        return quote

    def _subscribe_quote(self, s: _Session, pack: dict[str, Any]) -> None:
        ins_list = pack.get("ins_list", "")
        s.quotes = [x for x in ins_list.split(",") if x]
        quotes = {sym: q for sym in s.quotes if (q := self._quote(sym)) is not None}
        s.queue({"ins_list": ins_list, "quotes": quotes})

    def _ins_query(self, s: _Session, pack: dict[str, Any]) -> None:
        query = pack.get("query", "")
        self.stats.ins_queries.append(dict(pack))
        if not query:
            return  # the client dropping a finished query
        variables = pack.get("variables") or {}
        answer: dict[str, Any] = {"query": query}
        if variables:
            answer["variables"] = variables
        try:
            args = query_arguments(query, variables)
        except ValueError as exc:
            answer["error"] = [{"message": str(exc)}]
            answer["result"] = {"multi_symbol_info": []}
        else:
            records = select(self._instruments.values(), args)
            unknown = set(args.get("instrument_id") or []) - {r["instrument_id"] for r in records}
            if unknown:
                # What TqSdk's symbol module expects for ids the service does not know (e.g.
                # contracts expired before 2020-09): it then falls back to its bundled cache.
                answer["error"] = [{"message": f"instrument not found: {sorted(unknown)}"}]
            answer["result"] = {"multi_symbol_info": records}
        s.queue({"symbols": {pack["query_id"]: answer}})

    def _set_chart(self, s: _Session, pack: dict[str, Any]) -> None:
        chart_id = pack["chart_id"]
        ins_list = [x for x in pack.get("ins_list", "").split(",") if x]
        if not ins_list:
            s.charts.pop(chart_id, None)
            return
        state = {"state": dict(pack), "more_data": False, "ready": True}
        duration = int(pack.get("duration", 0))
        if len(ins_list) != 1 or not 0 <= duration < _DAY_NS:
            # Multi-symbol charts and daily bars are not modelled; answer an empty, finished chart.
            s.queue({"charts": {chart_id: {**state, "left_id": -1, "right_id": -1}}, "mdhis_more_data": False})
            return
        symbol = ins_list[0]
        if duration:
            series = kline_records(self._series.get(symbol, []), duration)
            stamps = [b["datetime"] for b in series]
        else:
            series = self._series.get(symbol, [])
            stamps = self._stamps.get(symbol, [])
        n = len(series)
        width = int(pack.get("view_width", 0))
        realtime = False
        if "focus_datetime" in pack:
            left = bisect.bisect_left(stamps, int(pack["focus_datetime"]))
            left -= int(pack.get("focus_position", 0))
            right = left + width - 1
        elif "left_kline_id" in pack:
            left = int(pack["left_kline_id"])
            right = left + width - 1
        elif "right_kline_id" in pack:
            right = int(pack["right_kline_id"])
            left = right - width + 1
        else:
            realtime = True
            right = n - 1
            left = max(0, n - width)
        s.charts[chart_id] = _Chart(request=dict(pack), symbol=symbol, realtime=realtime, duration=duration)
        lo, hi = max(left, 0), min(right, n - 1)
        data = {str(i): series[i] for i in range(lo, hi + 1)}
        serial = {"last_id": n - 1, "data": data}
        s.queue(
            {
                **({"klines": {symbol: {str(duration): serial}}} if duration else {"ticks": {symbol: serial}}),
                "charts": {chart_id: {**state, "left_id": left, "right_id": right}},
                "mdhis_more_data": False,
            }
        )

    def _append(self, symbol: str, records: list[dict[str, Any]]) -> None:
        series = self._series.setdefault(symbol, [])
        stamps = self._stamps.setdefault(symbol, [])
        first = len(series)
        series.extend(records)
        stamps.extend(r["datetime"] for r in records)
        n = len(series)
        for s in list(self._sessions):
            diff: dict[str, Any] = {}
            for chart_id, chart in s.charts.items():
                if chart.realtime and chart.symbol == symbol and chart.duration == 0:
                    width = int(chart.request.get("view_width", 0))
                    diff.setdefault("ticks", {})[symbol] = {
                        "last_id": n - 1,
                        "data": {str(i): series[i] for i in range(max(first, n - width), n)},
                    }
                    diff.setdefault("charts", {})[chart_id] = {"left_id": max(0, n - width), "right_id": n - 1}
            if symbol in s.quotes:
                quote = self._quote(symbol)
                if quote is not None:
                    diff["quotes"] = {symbol: quote}
            if diff:
                s.queue(diff)
        self._match_resting(symbol)
