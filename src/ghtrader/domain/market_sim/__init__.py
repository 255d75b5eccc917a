"""Deterministic synthetic SHFE market (cu/au/ag): L5 ticks, open interest, main roll, oracle.

The default data provider of ghTrader wraps :class:`SyntheticMarket`; the model and the planted
order-flow signal are documented in docs/synthetic_market.md.
"""

from ghtrader.domain.market_sim.config import (
    DEFAULT_VARIETY_PARAMS,
    MarketSimConfigError,
    SyntheticMarketConfig,
    VarietyParams,
)
from ghtrader.domain.market_sim.market import SyntheticMarket

__all__ = [
    "DEFAULT_VARIETY_PARAMS",
    "MarketSimConfigError",
    "SyntheticMarket",
    "SyntheticMarketConfig",
    "VarietyParams",
]
