"""Synthetic data provider: the deterministic simulated SHFE market as a DataProvider."""

from ghtrader.adapters.synthetic.provider import SyntheticDataProvider

__all__ = ["SyntheticDataProvider"]
