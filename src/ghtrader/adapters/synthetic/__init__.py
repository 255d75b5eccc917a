"""Synthetic data provider and live feed: the deterministic simulated SHFE market."""

from ghtrader.adapters.synthetic.live import SyntheticLiveFeed
from ghtrader.adapters.synthetic.provider import SyntheticDataProvider

__all__ = ["SyntheticDataProvider", "SyntheticLiveFeed"]
