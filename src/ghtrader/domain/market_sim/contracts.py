"""Contract listing, expiry and the open-interest life profile of the synthetic market.

* Expiry (last trading day): the 15th of the delivery month, or the next trading day after it
  when the 15th is not a trading day.
* Listing: the trading day after the same-month contract of the previous year expires, so each
  delivery month of the next twelve is listed on any day.
* Open interest follows a profile of ``tau`` = calendar days to expiry (see
  docs/synthetic_market.md): copper-style varieties peak one to two months before delivery and
  roll about monthly; June/December varieties concentrate open interest in those months.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from ghtrader.domain.calendar import TradingCalendar

__all__ = ["expiry_day", "listing_day", "open_interest_profile"]

# Shape constants of the profile (calendar days); chosen to reproduce the 2020-06-16 OI
# snapshot of SHFE_FACTS.md and a monthly (cu) / half-yearly (au, ag) roll.
_PEAK_TAU = 30.0
_BUILD_DAYS = 160.0
_FADE_MID_TAU = 22.0
_FADE_WIDTH = 3.0
_FADE_FLOOR = 0.02
_SEASONAL_RAMP_DAYS = 150.0
_OFF_MONTH_PEAK_TAU = 120.0
_OFF_MONTH_WIDTH = 90.0


def expiry_day(year: int, month: int, calendar: TradingCalendar) -> date:
    """Last trading day of the ``year``/``month`` contract: the 15th or the next trading day."""
    d = date(year, month, 15)
    return d if calendar.is_trading_day(d) else calendar.next_trading_day(d)


def listing_day(year: int, month: int, calendar: TradingCalendar) -> date:
    """First trading day of the ``year``/``month`` contract (after last year's one expires)."""
    return calendar.next_trading_day(expiry_day(year - 1, month, calendar))


def _fade(tau: np.ndarray) -> np.ndarray:
    """Positions leave as delivery approaches: ~1 two months out, ~0.1 in the delivery month."""
    return _FADE_FLOOR + (1.0 - _FADE_FLOOR) / (1.0 + np.exp(-(tau - _FADE_MID_TAU) / _FADE_WIDTH))


def open_interest_profile(
    tau_days: np.ndarray, seasonal: np.ndarray, has_seasonal_months: bool, off_month_weight: float
) -> np.ndarray:
    """Relative open interest (peak ~1) of contracts ``tau_days`` calendar days before expiry.

    Args:
        tau_days: days to expiry per contract (0 on the expiry day).
        seasonal: per contract, whether its delivery month is one of the seasonal months.
        has_seasonal_months: False for copper-style varieties (every month alike).
        off_month_weight: scale of non-seasonal months when ``has_seasonal_months``.
    """
    tau = np.asarray(tau_days, dtype=np.float64)
    fade = _fade(tau)
    build = 0.01 + 0.99 * np.clip(1.0 - np.maximum(tau - _PEAK_TAU, 0.0) / _BUILD_DAYS, 0.0, 1.0) ** 1.2
    if not has_seasonal_months:
        return build * fade
    ramp = 0.005 + 0.995 * np.clip((365.0 - tau) / _SEASONAL_RAMP_DAYS, 0.0, 1.0) ** 0.8
    off = off_month_weight * (0.05 + 0.95 * np.exp(-(((tau - _OFF_MONTH_PEAK_TAU) / _OFF_MONTH_WIDTH) ** 2)))
    return np.where(np.asarray(seasonal, dtype=bool), ramp, off) * fade
