"""Local fake of the Shinny (TqSdk vendor) auth, file and DIFF market-data services."""

from tests.fakes.shinny.instruments import continuous_instrument, expire_ns, future_instrument
from tests.fakes.shinny.server import FakeShinny, FakeStats, make_jwt, tick_records

__all__ = [
    "FakeShinny",
    "FakeStats",
    "continuous_instrument",
    "expire_ns",
    "future_instrument",
    "make_jwt",
    "tick_records",
]
