"""Transaction cost analysis: post-trade attribution of implementation shortfall (spread,
impact, timing, opportunity), a least-squares impact model fitted from realized fills, and
pre-trade expected costs with TWAP / VWAP / implementation-shortfall schedules."""

from ghtrader.domain.tca.attribution import (
    ATTRIBUTION_DTYPE,
    COMPONENTS,
    Attribution,
    Fills,
    Parents,
    asof_index,
    attribute,
    impact_observations,
    interval_vwap,
)
from ghtrader.domain.tca.impact import IMPACT_KINDS, ImpactModel, fit_impact
from ghtrader.domain.tca.pretrade import (
    SCHEDULES,
    MarketProfile,
    Schedule,
    expected_costs,
    is_schedule,
    make_schedule,
    market_profile,
    twap_schedule,
    urgency_curve,
    vwap_schedule,
)

__all__ = [
    "ATTRIBUTION_DTYPE",
    "COMPONENTS",
    "IMPACT_KINDS",
    "SCHEDULES",
    "Attribution",
    "Fills",
    "ImpactModel",
    "MarketProfile",
    "Parents",
    "Schedule",
    "asof_index",
    "attribute",
    "expected_costs",
    "fit_impact",
    "impact_observations",
    "interval_vwap",
    "is_schedule",
    "make_schedule",
    "market_profile",
    "twap_schedule",
    "urgency_curve",
    "vwap_schedule",
]
