"""A minimal Shinny trading gateway (the ``TQ_TD_URL`` service TqKq / TqAccount log in to).

It answers ``req_login`` with one DIFF snapshot of the account: ``trade.<user>`` with its
session, ``accounts.CNY``, ``positions``, ``orders`` / ``trades`` (placed by another client:
see ``order_record`` / ``trade_record``) and
``trade_more_data: false`` (without that TqApi waits for the snapshot until it times out), and a
login notice. Wrong credentials get an error notice and no snapshot (TqApi then times out after
60 s, as against the real gateway).

Orders (``insert_order`` / ``cancel_order``, as TqSdk's ``insert_order`` packs them): an order is
first reported ALIVE with an exchange id (one ``rtn_data``), then matched against the fake market's
last quote of its contract (the next ``rtn_data``): a BUY whose limit reaches the ask fills in full
at the ask (a SELL at the bid); with no quote it fills at its limit price. What does not cross is
cancelled when it is FAK / FOK (``time_condition`` IOC) and rests otherwise, until a later quote
crosses it (``FakeShinny.push_ticks``) or a ``cancel_order`` finishes it with its volume left. A
close without the lots to close (SHFE: CLOSETODAY closes today's lots, CLOSE yesterday's) is refused
like the exchange does (FINISHED with no exchange id: TqSdk's ``is_error``). A fill updates the
position and charges ``commission_per_lot`` to the account (balance, available, commission).
Every request is also recorded by the server (a read-only check can assert none came).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class FakeTradeAccount:
    """One account of the gateway: ``user_id`` is the broker account id (``TqAccount``'s
    ``account_id``; for TqKq the Shinny user's ``sub``)."""

    user_id: str
    password: str
    broker_id: str = "FAKEBROKER"
    trading_day: str = "20240103"
    balance: float = 1_000_000.0
    available: float = 940_000.0
    margin: float = 60_000.0
    float_profit: float = 150.0
    position_profit: float = 150.0
    positions: dict[str, dict[str, Any]] = field(default_factory=dict)  # symbol -> pos_* fields
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)  # order_id -> order_record(...)
    trades: dict[str, dict[str, Any]] = field(default_factory=dict)  # trade_id -> trade_record(...)
    commission_per_lot: float = 10.0
    commission: float = 0.0  # charged by the fills of this session

    def snapshot(self) -> dict[str, Any]:
        """The DIFF ``trade.<user_id>`` node after a login."""
        risk = self.margin / self.balance if self.balance else 0.0
        account = {
            "currency": "CNY", "pre_balance": self.balance, "static_balance": self.balance,
            "balance": self.balance, "available": self.available, "float_profit": self.float_profit,
            "position_profit": self.position_profit, "close_profit": 0.0, "frozen_margin": 0.0,
            "margin": self.margin, "frozen_commission": 0.0, "commission": self.commission, "frozen_premium": 0.0,
            "premium": 0.0, "deposit": 0.0, "withdraw": 0.0, "risk_ratio": risk, "market_value": 0.0,
            "ctp_balance": self.balance, "ctp_available": self.available,
        }  # fmt: skip
        positions = {}
        for symbol, pos in self.positions.items():
            exchange, instrument = symbol.split(".", 1)
            lots = {
                k: int(pos.get(k, 0)) for k in ("pos_long_today", "pos_long_his", "pos_short_today", "pos_short_his")
            }
            positions[symbol] = {
                "user_id": self.user_id, "exchange_id": exchange, "instrument_id": instrument, **lots,
                "volume_long_today": lots["pos_long_today"], "volume_long_his": lots["pos_long_his"],
                "volume_long": lots["pos_long_today"] + lots["pos_long_his"],
                "volume_short_today": lots["pos_short_today"], "volume_short_his": lots["pos_short_his"],
                "volume_short": lots["pos_short_today"] + lots["pos_short_his"],
                "volume_long_frozen_today": 0, "volume_long_frozen_his": 0,
                "volume_short_frozen_today": 0, "volume_short_frozen_his": 0,
                "open_price_long": pos.get("open_price_long", 0.0), "open_price_short": pos.get("open_price_short", 0.0),
                "float_profit": pos.get("float_profit", 0.0), "position_profit": pos.get("position_profit", 0.0),
                "margin": pos.get("margin", 0.0),
            }  # fmt: skip
        return {
            "user_id": self.user_id,
            "session": {"user_id": self.user_id, "trading_day": self.trading_day},
            "accounts": {"CNY": account},
            "positions": positions,
            "orders": {k: {**v, "user_id": self.user_id} for k, v in self.orders.items()},
            "trades": {k: {**v, "user_id": self.user_id} for k, v in self.trades.items()},
            "trade_more_data": False,
        }

    # --- orders -------------------------------------------------------------------------------
    def _book(self) -> dict[str, Any]:
        """The account and positions nodes after a change."""
        snap = self.snapshot()
        return {"accounts": snap["accounts"], "positions": snap["positions"]}

    def insert(self, pack: dict[str, Any], quote: dict[str, Any] | None, ns: int) -> list[dict[str, Any]]:
        """The ``trade.<user>`` diffs answering one ``insert_order``, one per ``rtn_data``: the
        order accepted (or refused), then its outcome against ``quote`` (when it does not rest)."""
        oid = str(pack["order_id"])
        symbol = f"{pack['exchange_id']}.{pack['instrument_id']}"
        volume = int(pack["volume"])
        order = order_record(oid, symbol, str(pack["direction"]), str(pack["offset"]), volume, volume,
                             float(pack.get("limit_price", float("nan"))), alive=True, insert_ns=ns)  # fmt: skip
        order["volume_condition"] = pack.get("volume_condition", "ANY")
        order["time_condition"] = pack.get("time_condition", "GFD")
        if not self._can_close(symbol, order):
            order.update(status="FINISHED", exchange_order_id="", last_msg="平仓手数不足")
            self.orders[oid] = order
            return [{"orders": {oid: dict(order)}}]
        self.orders[oid] = order
        accepted = {"orders": {oid: dict(order)}}
        outcome = self.match(oid, quote, ns)
        return [accepted, outcome] if outcome else [accepted]

    def _can_close(self, symbol: str, order: dict[str, Any]) -> bool:
        if order["offset"] == "OPEN":
            return True
        pos = self.positions.get(symbol, {})
        side = "long" if order["direction"] == "SELL" else "short"
        when = "today" if order["offset"] == "CLOSETODAY" else "his"
        return int(pos.get(f"pos_{side}_{when}", 0)) >= int(order["volume_orign"])

    def match(self, oid: str, quote: dict[str, Any] | None, ns: int) -> dict[str, Any] | None:
        """Match the ALIVE order ``oid`` against ``quote``: the diff of its fill or of its
        cancellation (IOC), or None when it rests."""
        order = self.orders[oid]
        limit = float(order["limit_price"])
        buy = order["direction"] == "BUY"
        best = _price(quote, "ask_price1" if buy else "bid_price1") if quote is not None else None
        if best is None:
            price: float | None = limit if quote is None else None
        else:
            price = best if (limit >= best if buy else limit <= best) else None
        if price is None:
            if order["time_condition"] != "IOC":
                return None
            order.update(status="FINISHED", last_msg="已撤单报单已提交到交易所")
            return {"orders": {oid: dict(order)}}
        volume = int(order["volume_left"])
        order.update(status="FINISHED", volume_left=0, last_msg="全部成交")
        tid = f"{oid}|{len(self.trades) + 1}"
        trade = trade_record(tid, order, volume, price, ns)
        fee = self.commission_per_lot * volume
        trade["commission"] = fee
        self.trades[tid] = trade
        self._fill(order, volume, fee)
        return {"orders": {oid: dict(order)}, "trades": {tid: dict(trade)}, **self._book()}

    def _fill(self, order: dict[str, Any], volume: int, fee: float) -> None:
        symbol = f"{order['exchange_id']}.{order['instrument_id']}"
        pos = self.positions.setdefault(symbol, {})
        buy = order["direction"] == "BUY"
        if order["offset"] == "OPEN":
            key = "pos_long_today" if buy else "pos_short_today"
        else:
            side = "short" if buy else "long"
            key = f"pos_{side}_{'today' if order['offset'] == 'CLOSETODAY' else 'his'}"
            volume = -volume
        pos[key] = int(pos.get(key, 0)) + volume
        self.commission += fee
        self.balance -= fee
        self.available -= fee

    def cancel(self, pack: dict[str, Any]) -> dict[str, Any] | None:
        """The diff answering one ``cancel_order`` (None for an unknown or finished order)."""
        order = self.orders.get(str(pack.get("order_id", "")))
        if order is None or order["status"] != "ALIVE":
            return None
        order.update(status="FINISHED", last_msg="已撤单")
        return {"orders": {order["order_id"]: dict(order)}}

    def resting(self, symbol: str) -> list[str]:
        """Ids of the ALIVE orders on ``symbol``."""
        return [oid for oid, o in self.orders.items()
                if o["status"] == "ALIVE" and f"{o['exchange_id']}.{o['instrument_id']}" == symbol]  # fmt: skip


def _price(quote: dict[str, Any], key: str) -> float | None:
    value = quote.get(key)
    return float(value) if isinstance(value, (int, float)) and value == value else None


def order_record(
    order_id: str,
    symbol: str,
    direction: str,
    offset: str,
    volume: int,
    left: int,
    price: float,
    *,
    alive: bool,
    insert_ns: int,
) -> dict[str, Any]:
    """An order as the gateway reports it (a limit order, good for the day)."""
    exchange, instrument = symbol.split(".", 1)
    return {
        "order_id": order_id, "exchange_order_id": f"X{order_id}", "exchange_id": exchange,
        "instrument_id": instrument, "direction": direction, "offset": offset, "volume_orign": volume,
        "volume_left": left, "limit_price": price, "price_type": "LIMIT", "volume_condition": "ANY",
        "time_condition": "GFD", "insert_date_time": insert_ns, "last_msg": "报单成功" if alive else "全部成交",
        "status": "ALIVE" if alive else "FINISHED",
    }  # fmt: skip


def trade_record(trade_id: str, order: dict[str, Any], volume: int, price: float, ns: int) -> dict[str, Any]:
    """A fill of ``order``."""
    keys = ("order_id", "exchange_id", "instrument_id", "direction", "offset")
    return {"trade_id": trade_id, "exchange_trade_id": f"T{trade_id}", **{k: order[k] for k in keys},
            "price": price, "volume": volume, "trade_date_time": ns}  # fmt: skip


def _notice(code: int, level: str, content: str) -> dict[str, Any]:
    return {"type": "MESSAGE", "level": level, "code": code, "content": content}


def login_answer(accounts: dict[str, FakeTradeAccount], pack: dict[str, Any], n: int) -> list[dict[str, Any]]:
    """The diffs answering one ``req_login`` (the ``n``-th login of the gateway)."""
    user = str(pack.get("user_name", ""))
    account = accounts.get(user)
    if account is None or pack.get("password") != account.password or pack.get("bid") != account.broker_id:
        return [{"notify": {f"login{n}": _notice(-1, "ERROR", "登录失败: 用户名或密码错误")}}]
    return [{"notify": {f"login{n}": _notice(0, "INFO", "登录成功")}, "trade": {user: account.snapshot()}}]
