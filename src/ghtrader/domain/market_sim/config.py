"""Frozen configuration of the synthetic SHFE market (see docs/synthetic_market.md)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from datetime import date

from ghtrader.domain.errors import DomainError

__all__ = [
    "DEFAULT_VARIETY_PARAMS",
    "MarketSimConfigError",
    "SyntheticMarketConfig",
    "VarietyParams",
]


class MarketSimConfigError(DomainError):
    """A synthetic-market parameter outside its valid range."""


def _check(ok: bool, name: str, value: object, expected: str) -> None:
    if not ok:
        raise MarketSimConfigError(f"invalid {name}={value!r}: expected {expected}")


def _finite(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


@dataclass(frozen=True, slots=True, kw_only=True)
class VarietyParams:
    """Per-variety parameters of the latent price, open interest and liquidity.

    Attributes:
        key: the variety, ``"SHFE.cu"``.
        base_price: latent price level at the anchor date (CNY per quoted unit).
        annual_volatility: long-run volatility of the latent log price (e.g. 0.18 = 18 %/year).
        factor_loading: loading ``b`` of the daily and intraday shocks on the common metals
            factor; two varieties' shocks correlate at ``b1 * b2``.
        carry_per_year: log basis per year to expiry (contango > 0) added to each contract.
        peak_open_interest: open interest (lots) of a contract at the top of its profile.
        main_daily_volume: traded lots per day of a contract at full liquidity.
        depth_lots: typical level-1 queue (lots) at full liquidity.
        seasonal_months: delivery months that carry the open interest (``()`` = every month,
            copper style; ``(6, 12)`` = the June/December pattern of gold and silver).
        off_month_weight: open interest of the other months relative to a seasonal month.
    """

    key: str
    base_price: float
    annual_volatility: float
    factor_loading: float
    carry_per_year: float = 0.02
    peak_open_interest: float = 100_000.0
    main_daily_volume: float = 80_000.0
    depth_lots: float = 30.0
    seasonal_months: tuple[int, ...] = ()
    off_month_weight: float = 0.1

    def __post_init__(self) -> None:
        _check(
            isinstance(self.key, str) and re.fullmatch(r"[A-Z]+\.[a-z]+", self.key) is not None,
            "key",
            self.key,
            "a variety key like 'SHFE.cu'",
        )
        _check(_finite(self.base_price) and self.base_price > 0, "base_price", self.base_price, "> 0")
        _check(
            _finite(self.annual_volatility) and 0 < self.annual_volatility < 2,
            "annual_volatility",
            self.annual_volatility,
            "in (0, 2)",
        )
        _check(
            _finite(self.factor_loading) and -1 <= self.factor_loading <= 1,
            "factor_loading",
            self.factor_loading,
            "in [-1, 1]",
        )
        _check(
            _finite(self.carry_per_year) and abs(self.carry_per_year) < 1,
            "carry_per_year",
            self.carry_per_year,
            "in (-1, 1)",
        )
        for name in ("peak_open_interest", "main_daily_volume", "depth_lots"):
            v = getattr(self, name)
            _check(_finite(v) and v >= 1, name, v, ">= 1")
        _check(
            isinstance(self.seasonal_months, tuple)
            and all(isinstance(m, int) and 1 <= m <= 12 for m in self.seasonal_months),
            "seasonal_months",
            self.seasonal_months,
            "a tuple of months 1..12",
        )
        _check(
            _finite(self.off_month_weight) and 0 < self.off_month_weight <= 1,
            "off_month_weight",
            self.off_month_weight,
            "in (0, 1]",
        )


#: Defaults seeded from SHFE_FACTS.md (price levels of the mid-2020s, 2020 OI pattern).
DEFAULT_VARIETY_PARAMS: tuple[VarietyParams, ...] = (
    VarietyParams(
        key="SHFE.cu",
        base_price=70_000.0,
        annual_volatility=0.18,
        factor_loading=0.55,
        carry_per_year=0.02,
        peak_open_interest=120_000.0,
        main_daily_volume=80_000.0,
        depth_lots=25.0,
    ),
    VarietyParams(
        key="SHFE.au",
        base_price=560.0,
        annual_volatility=0.15,
        factor_loading=0.7,
        carry_per_year=0.025,
        peak_open_interest=220_000.0,
        main_daily_volume=150_000.0,
        depth_lots=20.0,
        seasonal_months=(6, 12),
        off_month_weight=0.12,
    ),
    VarietyParams(
        key="SHFE.ag",
        base_price=7_500.0,
        annual_volatility=0.25,
        factor_loading=0.8,
        carry_per_year=0.025,
        peak_open_interest=480_000.0,
        main_daily_volume=600_000.0,
        depth_lots=120.0,
        seasonal_months=(6, 12),
        off_month_weight=0.2,
    ),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class SyntheticMarketConfig:
    """Every knob of the synthetic market; the market is a pure function of it.

    Unknown keyword arguments are rejected (dataclass ``__init__``); values are range-checked.

    Attributes:
        seed: root of every random stream.
        anchor_date: first day of the simulated history; the daily recursion starts here and
            no ticks or main contract exist before it.
        signal_strength: ``kappa``, drift added per 500 ms step in units of the step
            volatility per unit of order-flow imbalance (0 = no planted signal).
        ofi_persistence: ``phi``, AR(1) coefficient of the order-flow imbalance per step.
        book_imbalance_sensitivity: ``g``, log level-1 queue tilt per unit of imbalance.
        trade_direction_sensitivity: ``d``, ``P(buy) = (1 + tanh(d * OFI)) / 2``.
        tick_interval_ms: the snapshot clock (500 ms on SHFE).
        tick_jitter_ms: snapshot times are the clock plus a uniform ``0..jitter`` ms delay.
        garch_alpha, garch_beta: intraday GARCH(1,1) of the per-step variance multiplier.
        daily_garch_alpha, daily_garch_beta: GARCH(1,1) of the daily variance.
        jump_probability: chance of a price jump per 500 ms step.
        jump_scale: jump size standard deviation in units of the base step volatility.
        overnight_gap_fraction: share of the daily variance that falls between sessions.
        price_mean_reversion: daily pull of the log price back towards ``base_price``.
        zero_tick_day_probability: chance that a non-main contract-day has no ticks.
        zero_tick_day_probability_main: the same for the main contract.
        min_tick_probability, max_tick_probability: per-step snapshot probability of the
            thinnest and of the most liquid contract.
        open_interest_noise: daily log noise of each contract's end-of-day open interest.
        varieties: the per-variety parameters, one per simulated variety (distinct keys).
    """

    seed: int = 0
    anchor_date: date = date(2018, 1, 2)
    signal_strength: float = 0.1
    ofi_persistence: float = 0.95
    book_imbalance_sensitivity: float = 0.6
    trade_direction_sensitivity: float = 0.8
    tick_interval_ms: int = 500
    tick_jitter_ms: int = 400
    garch_alpha: float = 0.01
    garch_beta: float = 0.9895
    daily_garch_alpha: float = 0.08
    daily_garch_beta: float = 0.9
    jump_probability: float = 2e-5
    jump_scale: float = 15.0
    overnight_gap_fraction: float = 0.15
    price_mean_reversion: float = 0.001
    zero_tick_day_probability: float = 0.02
    zero_tick_day_probability_main: float = 0.002
    min_tick_probability: float = 0.01
    max_tick_probability: float = 0.98
    open_interest_noise: float = 0.02
    varieties: tuple[VarietyParams, ...] = DEFAULT_VARIETY_PARAMS

    def __post_init__(self) -> None:
        _check(isinstance(self.seed, int) and not isinstance(self.seed, bool), "seed", self.seed, "an int")
        _check(isinstance(self.anchor_date, date), "anchor_date", self.anchor_date, "a datetime.date")
        _check(
            _finite(self.signal_strength) and 0 <= self.signal_strength <= 2,
            "signal_strength",
            self.signal_strength,
            "in [0, 2]",
        )
        _check(
            _finite(self.ofi_persistence) and 0 <= self.ofi_persistence < 1,
            "ofi_persistence",
            self.ofi_persistence,
            "in [0, 1)",
        )
        for name in ("book_imbalance_sensitivity", "trade_direction_sensitivity", "jump_scale"):
            v = getattr(self, name)
            _check(_finite(v) and 0 <= v <= 100, name, v, "in [0, 100]")
        _check(
            isinstance(self.tick_interval_ms, int) and 10 <= self.tick_interval_ms <= 60_000,
            "tick_interval_ms",
            self.tick_interval_ms,
            "an int in [10, 60000]",
        )
        _check(
            isinstance(self.tick_jitter_ms, int) and 0 <= self.tick_jitter_ms < self.tick_interval_ms,
            "tick_jitter_ms",
            self.tick_jitter_ms,
            "an int in [0, tick_interval_ms)",
        )
        for a_name, b_name in (("garch_alpha", "garch_beta"), ("daily_garch_alpha", "daily_garch_beta")):
            a, b = getattr(self, a_name), getattr(self, b_name)
            _check(_finite(a) and a >= 0, a_name, a, ">= 0")
            _check(_finite(b) and b >= 0, b_name, b, ">= 0")
            _check(a + b < 1, f"{a_name}+{b_name}", a + b, "< 1 (stationary variance)")
        for name in (
            "jump_probability",
            "overnight_gap_fraction",
            "zero_tick_day_probability",
            "zero_tick_day_probability_main",
        ):
            v = getattr(self, name)
            _check(_finite(v) and 0 <= v < 1, name, v, "in [0, 1)")
        _check(
            _finite(self.price_mean_reversion) and 0 <= self.price_mean_reversion < 0.5,
            "price_mean_reversion",
            self.price_mean_reversion,
            "in [0, 0.5)",
        )
        _check(
            _finite(self.min_tick_probability)
            and _finite(self.max_tick_probability)
            and 0 < self.min_tick_probability <= self.max_tick_probability <= 1,
            "min/max_tick_probability",
            (self.min_tick_probability, self.max_tick_probability),
            "0 < min <= max <= 1",
        )
        _check(
            _finite(self.open_interest_noise) and 0 <= self.open_interest_noise < 1,
            "open_interest_noise",
            self.open_interest_noise,
            "in [0, 1)",
        )
        _check(
            isinstance(self.varieties, tuple)
            and len(self.varieties) > 0
            and all(isinstance(v, VarietyParams) for v in self.varieties)
            and len({v.key for v in self.varieties}) == len(self.varieties),
            "varieties",
            self.varieties,
            "a non-empty tuple of VarietyParams with distinct keys",
        )

    @property
    def variety_keys(self) -> tuple[str, ...]:
        """The simulated varieties, e.g. ``("SHFE.cu", "SHFE.au", "SHFE.ag")``."""
        return tuple(v.key for v in self.varieties)

    def variety(self, key: str) -> VarietyParams:
        """The parameters of variety ``key`` (``"SHFE.cu"``)."""
        for v in self.varieties:
            if v.key == key:
                return v
        raise MarketSimConfigError(f"variety {key!r} is not simulated: expected one of {list(self.variety_keys)}")

    def with_variety(self, params: VarietyParams) -> SyntheticMarketConfig:
        """A copy with ``params`` replacing the variety of the same key (or appended)."""
        if params.key not in self.variety_keys:
            return replace(self, varieties=(*self.varieties, params))
        return replace(self, varieties=tuple(params if v.key == params.key else v for v in self.varieties))
