"""Regime use cases: fit a regime model, decode regimes into the state table, list them, and
the causal HMM grouping the benchmark and backtest reports use. See docs/regimes.md."""

from ghtrader.application.regimes.decode import DecodeRegimes, DecodeRequest, DecodeResult
from ghtrader.application.regimes.fit import FitRegimeModel, FitRequest, FitResult
from ghtrader.application.regimes.models import RegimeModel
from ghtrader.application.regimes.overview import ListRegimes, RegimeOverview

__all__ = [
    "DecodeRegimes",
    "DecodeRequest",
    "DecodeResult",
    "FitRegimeModel",
    "FitRequest",
    "FitResult",
    "ListRegimes",
    "RegimeModel",
    "RegimeOverview",
]
