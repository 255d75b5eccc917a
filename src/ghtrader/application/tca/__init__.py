"""Transaction cost analysis use cases: post-trade attribution of a run's or a backtest's
orders (:class:`AnalyzeTca`) and pre-trade estimates (:class:`PreTradeTca`)."""

from ghtrader.application.tca.analyze import MIN_FIT_FILLS, AnalyzeTca
from ghtrader.application.tca.pretrade import PreTradeReport, PreTradeRequest, PreTradeTca
from ghtrader.application.tca.report import TcaReport

__all__ = ["MIN_FIT_FILLS", "AnalyzeTca", "PreTradeReport", "PreTradeRequest", "PreTradeTca", "TcaReport"]
