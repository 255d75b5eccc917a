"""Local fake of the Shinny (TqSdk vendor) auth, file, DIFF market-data and trading services."""

from tests.fakes.shinny.instruments import continuous_instrument, expire_ns, future_instrument
from tests.fakes.shinny.server import FakeShinny, FakeStats, make_jwt, tick_records
from tests.fakes.shinny.trade import FakeTradeAccount, order_record, trade_record

__all__ = [
    "FakeShinny",
    "FakeStats",
    "FakeTradeAccount",
    "continuous_instrument",
    "expire_ns",
    "future_instrument",
    "make_jwt",
    "order_record",
    "tick_records",
    "trade_record",
]
