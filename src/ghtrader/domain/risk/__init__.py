"""Risk: the pre-trade risk engine, risk measures (VaR / CVaR, stress) and position sizing.

Pure domain code (stdlib + NumPy); see docs/risk.md.
"""
