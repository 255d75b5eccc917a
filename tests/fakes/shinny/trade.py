"""A minimal Shinny trading gateway (the ``TQ_TD_URL`` service TqKq / TqAccount log in to).

It answers ``req_login`` with one DIFF snapshot of the account: ``trade.<user>`` with its
session, ``accounts.CNY``, ``positions``, ``orders`` / ``trades`` (placed by another client:
see ``order_record`` / ``trade_record``) and
``trade_more_data: false`` (without that TqApi waits for the snapshot until it times out), and a
login notice. Wrong credentials get an error notice and no snapshot (TqApi then times out after
60 s, as against the real gateway). It takes no orders: ``insert_order`` / ``cancel_order`` are
recorded (a read-only check can assert none came) and otherwise ignored.
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

    def snapshot(self) -> dict[str, Any]:
        """The DIFF ``trade.<user_id>`` node after a login."""
        risk = self.margin / self.balance if self.balance else 0.0
        account = {
            "currency": "CNY", "pre_balance": self.balance, "static_balance": self.balance,
            "balance": self.balance, "available": self.available, "float_profit": self.float_profit,
            "position_profit": self.position_profit, "close_profit": 0.0, "frozen_margin": 0.0,
            "margin": self.margin, "frozen_commission": 0.0, "commission": 0.0, "frozen_premium": 0.0,
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
