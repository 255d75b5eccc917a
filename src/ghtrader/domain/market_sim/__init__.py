"""Deterministic synthetic SHFE market (cu/au/ag): L5 ticks, open interest, main roll, oracle;
and an order-level (L3) book of one contract, the ground truth for queue models.

The default data provider of ghTrader wraps :class:`SyntheticMarket`; the model and the planted
order-flow signal are documented in docs/synthetic_market.md.
"""

from ghtrader.domain.market_sim.config import (
    DEFAULT_VARIETY_PARAMS,
    MarketSimConfigError,
    SyntheticMarketConfig,
    VarietyParams,
)
from ghtrader.domain.market_sim.l3_book import L3BookConfig, L3Day, OrderBook, l3_preset, simulate_l3_day
from ghtrader.domain.market_sim.market import SyntheticMarket

__all__ = [
    "DEFAULT_VARIETY_PARAMS",
    "L3BookConfig",
    "L3Day",
    "MarketSimConfigError",
    "OrderBook",
    "SyntheticMarket",
    "SyntheticMarketConfig",
    "VarietyParams",
    "l3_preset",
    "simulate_l3_day",
]
