"""The factor catalog: one module per taxonomy group, each holding a tuple of specs."""

from __future__ import annotations

from ghtrader.domain.factors.catalog import (
    book_imbalance,
    cross_asset,
    dynamics,
    liquidity,
    momentum,
    order_flow,
    pressure,
    price_impact,
    regime,
    shape,
    volatility,
    volume,
)
from ghtrader.domain.factors.spec import FactorSpec

__all__ = ["ALL_SPECS"]

#: Every factor, grouped in taxonomy order.
ALL_SPECS: tuple[FactorSpec, ...] = (
    *order_flow.SPECS,
    *liquidity.SPECS,
    *price_impact.SPECS,
    *momentum.SPECS,
    *volatility.SPECS,
    *volume.SPECS,
    *book_imbalance.SPECS,
    *pressure.SPECS,
    *shape.SPECS,
    *dynamics.SPECS,
    *cross_asset.SPECS,
    *regime.SPECS,
)
