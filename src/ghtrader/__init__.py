"""ghTrader: research-only tick system for SHFE CU/AU/AG."""

__version__ = "0.1.0"
