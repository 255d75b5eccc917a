"""The synthetic SHFE market: contracts, open interest, main roll, L5 ticks and the signal oracle.

Everything is a pure function of ``(config, calendar, symbol, trading_day)``: day-level state
comes from a cheap daily recursion from ``config.anchor_date`` whose shocks are counter-seeded,
and intraday draws come from streams named by (seed, variety or contract, day). The caches kept
here only avoid recomputation; they never change a result. See docs/synthetic_market.md.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from ghtrader.domain.calendar import TradingCalendar
from ghtrader.domain.errors import CalendarError, DomainError, InvalidSymbolError
from ghtrader.domain.instruments import (
    ContinuousSymbol,
    ContractSpec,
    ContractSymbol,
    contract_spec,
    parse_contract,
    parse_symbol,
)
from ghtrader.domain.instruments import (
    variety_key as key_of_variety,
)
from ghtrader.domain.market_sim import _bayes_kernels as bayes
from ghtrader.domain.market_sim import _kernels as kern
from ghtrader.domain.market_sim._random import (
    counter_normals,
    counter_uniforms,
    generator,
    stream_key,
)
from ghtrader.domain.market_sim.config import SyntheticMarketConfig, VarietyParams
from ghtrader.domain.market_sim.contracts import (
    expiry_day,
    listing_day,
    open_interest_profile,
)
from ghtrader.domain.ticks import TICK_DTYPE, empty_ticks, level_fields

__all__ = ["SyntheticMarket"]

_TRADING_DAYS_PER_YEAR = 245.0
_ROLL_RATIO = 1.1
_CONTRACT_OI_SD = 0.05  # per-contract log level of open interest
_BASIS_SD = 0.001  # per-contract log basis offset
_EPS2_CAP = 64.0  # cap of the squared standardized shock fed back into the GARCH
_OI_PATH_NOISE = 0.002  # intraday open-interest wander, share of the day's open interest
_SKELETON_CHUNK_DAYS = 366
_LATENT_CACHE = 6
_CONTRACT_CACHE = 12
#: Target standard error of each Bayes class probability, and the antithetic path pairs per
#: batch / at most per tick of the adaptive Monte Carlo.
BAYES_SE_TARGET = 0.01
_BAYES_BATCH_PAIRS = 64
_BAYES_MAX_PAIRS = 32_768

_BLOCK_FIELDS: tuple[str, ...] = (
    "last_price",
    "average",
    "highest",
    "lowest",
    "volume",
    "amount",
    "open_interest",
    *(f for lvl in range(1, 6) for f in level_fields(lvl)),
)
_ROUNDED_FIELDS: tuple[str, ...] = (
    "last_price",
    "highest",
    "lowest",
    *(f"{side}_price{lvl}" for lvl in range(1, 6) for side in ("bid", "ask")),
)
_DEEP_FIELDS: tuple[str, ...] = tuple(f for lvl in range(2, 6) for f in level_fields(lvl))


@dataclass(frozen=True, slots=True)
class _Skeleton:
    ordinals: np.ndarray  # trading days from the anchor, as date ordinals
    log_open: np.ndarray  # log(open / base_price)
    day_var: np.ndarray  # daily variance q
    target: np.ndarray  # intraday log move T (open -> close)


@dataclass(frozen=True, slots=True)
class _LatentDay:
    grid_t: np.ndarray  # int64 epoch ns of the 500 ms steps inside the sessions
    x: np.ndarray  # log price relative to the open
    f: np.ndarray  # order-flow imbalance
    h: np.ndarray  # GARCH variance multiplier
    step_sd: float
    log_open: float  # log of the variety's latent open price
    slope: float  # the bridge's drift per step (part of x)


@dataclass(frozen=True, slots=True)
class _ContractDay:
    ticks: np.ndarray
    kidx: np.ndarray  # grid step of each tick
    log_price: np.ndarray  # contract latent log price at each tick
    latent: _LatentDay
    p_tick: float  # per-step snapshot probability
    p_odd_spread: float  # probability that a snapshot's spread is an odd number of ticks


def _check_horizon(horizon_ticks: object) -> None:
    if not isinstance(horizon_ticks, (int, np.integer)) or isinstance(horizon_ticks, bool) or horizon_ticks < 1:
        raise DomainError(f"invalid horizon_ticks={horizon_ticks!r}: expected an int >= 1")


def _tick_decimals(tick: float) -> int:
    for d in range(12):
        if abs(round(tick, d) - tick) < 1e-12:
            return d
    return 12


class SyntheticMarket:
    """A deterministic synthetic market for the varieties of ``config`` (SHFE cu/au/ag).

    Args:
        config: all parameters; the market is a pure function of it and of ``calendar``.
        calendar: trading days and sessions (holidays, night sessions).

    Symbols are ``"SHFE.cu2602"``; variety keys ``"SHFE.cu"`` (a contract or ``KQ.m@`` symbol is
    accepted wherever a variety key is). Days before ``config.anchor_date`` have no ticks and
    no main contract (:class:`DomainError`).

    Model (full statement in docs/synthetic_market.md). Per variety and 500 ms step ``k``::

        f_k = phi f_{k-1} + sqrt(1 - phi^2) eta_k                 # order-flow imbalance (AR(1))
        h_k = omega + alpha min(eps_{k-1}^2, 64) + beta h_{k-1}   # GARCH, sigma_k = s sqrt(h_k)
        r_k = kappa sigma_k f_{k-1} + sigma_k (b c_k + sqrt(1-b^2) e_k) + J_k
        x_k = cumsum(r)_k + k/(N-1) (T_day - cumsum(r)_{N-1})     # bridged to the daily skeleton

    with ``kappa = signal_strength``, ``c_k`` the common shock of the 500 ms slot (loading ``b``)
    and ``J_k`` rare jumps. The level-1 queues are tilted by ``exp(+-g f_k)`` and trades are buys
    with probability ``(1 + tanh(d f_k)) / 2``, so the book reveals ``f``. The oracle is
    ``P_k expm1(kappa sigma_{k+1} f_k (1 - phi^dk) / (1 - phi))``.
    """

    def __init__(self, config: SyntheticMarketConfig, calendar: TradingCalendar) -> None:
        self._cfg = config
        self._cal = calendar
        self._specs: dict[str, ContractSpec] = {key: contract_spec(key) for key in config.variety_keys}
        self._life: dict[tuple[int, int], tuple[date, date]] = {}
        self._skeletons: dict[str, _Skeleton] = {}
        self._mains: dict[str, dict[date, str]] = {}
        self._main_until: dict[str, date] = {}
        self._latent: OrderedDict[tuple[str, date], _LatentDay] = OrderedDict()
        self._contract_days: OrderedDict[tuple[str, date], _ContractDay | None] = OrderedDict()
        self._lock = threading.Lock()  # guards the two LRU caches (the market may be shared)

    def __repr__(self) -> str:
        return f"SyntheticMarket(seed={self._cfg.seed}, varieties={list(self._cfg.variety_keys)})"

    @property
    def config(self) -> SyntheticMarketConfig:
        """The configuration the market was built from."""
        return self._cfg

    @property
    def calendar(self) -> TradingCalendar:
        """The trading calendar the market follows."""
        return self._cal

    @property
    def variety_keys(self) -> tuple[str, ...]:
        """The simulated varieties, e.g. ``("SHFE.cu", "SHFE.au", "SHFE.ag")``."""
        return self._cfg.variety_keys

    # --- contracts ----------------------------------------------------------------------------
    def _variety(self, text: str) -> tuple[str, VarietyParams, ContractSpec]:
        key = key_of_variety(text)
        if key not in self._specs:
            raise InvalidSymbolError(
                f"variety {key!r} is not simulated: expected one of {list(self._cfg.variety_keys)}"
            )
        return key, self._cfg.variety(key), self._specs[key]

    def _contract(self, symbol: str) -> ContractSymbol:
        c = parse_contract(symbol)
        self._variety(c.variety_key)
        return c

    def _life_of(self, year: int, month: int) -> tuple[date, date]:
        life = self._life.get((year, month))
        if life is None:
            life = (listing_day(year, month, self._cal), expiry_day(year, month, self._cal))
            self._life[(year, month)] = life
        return life

    def contract_life(self, symbol: str) -> tuple[date, date]:
        """``(first_trading_day, last_trading_day)`` of a contract.

        The last trading day is the 15th of the delivery month (or the next trading day); the
        first is the trading day after the same month's contract of the previous year expired.
        """
        c = self._contract(symbol)
        return self._life_of(c.year, c.month)

    def _listed(self, exchange: str, variety: str, day: date) -> list[ContractSymbol]:
        out = []
        base = day.year * 12 + day.month - 1
        for i in range(14):
            year, month0 = divmod(base + i, 12)
            first, last = self._life_of(year, month0 + 1)
            if first <= day <= last:
                out.append(ContractSymbol(exchange, variety, year, month0 + 1))
        return out

    def listed_contracts(self, variety_key: str, trading_day: date) -> list[str]:
        """Contracts of the variety trading on ``trading_day``, nearest delivery first.

        Twelve consecutive delivery months: a month lists the trading day after the same month of
        the previous year expires. Empty on a non-trading day.
        """
        _, _, spec = self._variety(variety_key)
        if not self._cal.is_trading_day(trading_day):
            return []
        return [c.symbol for c in self._listed(spec.exchange, spec.variety, trading_day)]

    # --- open interest and the main contract ----------------------------------------------------
    def _eod_oi(self, key: str, day: date) -> dict[str, float]:
        params, spec = self._cfg.variety(key), self._specs[key]
        contracts = self._listed(spec.exchange, spec.variety, day)
        if not contracts:
            return {}
        tau = np.array([(self._life_of(c.year, c.month)[1] - day).days for c in contracts], dtype=np.float64)
        seasonal = np.array([c.month in params.seasonal_months for c in contracts])
        profile = open_interest_profile(tau, seasonal, bool(params.seasonal_months), params.off_month_weight)
        mi = np.array([c.expiry_month_index for c in contracts], dtype=np.int64)
        level = counter_normals(stream_key(self._cfg.seed, "oi-level", key), mi)
        daily = counter_normals(stream_key(self._cfg.seed, "oi-day", key), mi * 1_000_000 + day.toordinal())
        noise = _CONTRACT_OI_SD * level + self._cfg.open_interest_noise * daily
        oi = params.peak_open_interest * profile * np.exp(noise)
        return {c.symbol: float(v) for c, v in zip(contracts, np.floor(oi + 0.5), strict=True)}

    def end_of_day_open_interest(self, variety_key: str, trading_day: date) -> dict[str, float]:
        """End-of-day open interest (lots) of every listed contract; empty on a non-trading day.

        Equals the ``open_interest`` of the last tick of each contract-day that has ticks.
        """
        key, _, _ = self._variety(variety_key)
        if not self._cal.is_trading_day(trading_day):
            return {}
        return self._eod_oi(key, trading_day)

    def _check_history(self, day: date) -> None:
        if day < self._cfg.anchor_date:
            raise DomainError(
                f"trading day {day} is before the synthetic history anchor {self._cfg.anchor_date}: "
                "choose a later day or an earlier SyntheticMarketConfig.anchor_date"
            )

    def _extend_mains(self, key: str, until: date) -> None:
        """Run the roll rule day by day from the anchor until at least ``until`` (memoised)."""
        done = self._main_until.get(key)
        if done is not None and done >= until:
            return
        schedule = self._mains.setdefault(key, {})
        spec = self._specs[key]
        start = self._cal.previous_trading_day(self._cfg.anchor_date) if done is None else done
        main = None if done is None else schedule[done]
        days = self._cal.trading_days(start, until + timedelta(days=120))
        for today, tomorrow in itertools.pairwise(days):
            oi = self._eod_oi(key, today)
            if main is None or self._life_of_symbol(main)[1] <= today:
                # First main, or the main expires today: largest OI among tomorrow's contracts.
                listed = {c.symbol for c in self._listed(spec.exchange, spec.variety, tomorrow)}
                candidates = {s: v for s, v in oi.items() if s in listed}
                main = max(sorted(candidates), key=candidates.__getitem__)
            else:
                best = max(sorted(oi), key=oi.__getitem__)
                if oi[best] > _ROLL_RATIO * oi[main]:
                    main = best
            schedule[tomorrow] = main
        self._main_until[key] = days[-1]

    def _life_of_symbol(self, symbol: str) -> tuple[date, date]:
        c = parse_contract(symbol)
        return self._life_of(c.year, c.month)

    def main_contract(self, variety_key: str, trading_day: date) -> str:
        """The main contract on ``trading_day`` by the OI roll rule on the simulator's own OI.

        The first main is the contract with the largest end-of-day OI on the trading day before
        the anchor; afterwards the main switches when another contract's end-of-day OI exceeds
        1.1 x the main's, effective the next trading day (or when the main expires).
        """
        key, _, _ = self._variety(variety_key)
        if not self._cal.is_trading_day(trading_day):
            raise CalendarError(f"{trading_day} is not a trading day: a main contract exists only on trading days")
        self._check_history(trading_day)
        self._extend_mains(key, trading_day)
        return self._mains[key][trading_day]

    # --- zero-tick days -------------------------------------------------------------------------
    def has_ticks(self, symbol: str, trading_day: date) -> bool:
        """Whether ``ticks(symbol, trading_day)`` is non-empty (cheap: no ticks generated).

        False on non-trading days, outside the contract's life, before the anchor and on the
        occasional zero-tick contract-days.
        """
        parsed = parse_symbol(symbol)
        if isinstance(parsed, ContinuousSymbol):
            if not self._cal.is_trading_day(trading_day) or trading_day < self._cfg.anchor_date:
                return False
            return self.has_ticks(self.main_contract(parsed.variety_key, trading_day), trading_day)
        c = self._contract(symbol)
        first, last = self._life_of(c.year, c.month)
        if not (first <= trading_day <= last) or trading_day < self._cfg.anchor_date:
            return False
        if not self._cal.is_trading_day(trading_day):
            return False
        is_main = self.main_contract(c.variety_key, trading_day) == c.symbol
        p = self._cfg.zero_tick_day_probability_main if is_main else self._cfg.zero_tick_day_probability
        u = counter_uniforms(
            stream_key(self._cfg.seed, "zero-tick", c.variety_key),
            np.array([c.expiry_month_index * 1_000_000 + trading_day.toordinal()]),
        )[0]
        return bool(u >= p)

    # --- latent price -----------------------------------------------------------------------------
    def _skeleton(self, key: str, day: date) -> tuple[_Skeleton, int]:
        sk = self._skeletons.get(key)
        ordinal = day.toordinal()
        if sk is None or sk.ordinals[-1] < ordinal:
            end = max(day, self._cfg.anchor_date) + timedelta(days=_SKELETON_CHUNK_DAYS)
            days = self._cal.trading_days(self._cfg.anchor_date, end)
            ords = np.array([d.toordinal() for d in days], dtype=np.int64)
            cfg, params = self._cfg, self._cfg.variety(key)
            b = params.factor_loading
            idio = math.sqrt(1.0 - b * b)
            z_t = b * counter_normals(stream_key(cfg.seed, "daily-common"), ords) + idio * counter_normals(
                stream_key(cfg.seed, "daily", key), ords
            )
            z_g = b * counter_normals(stream_key(cfg.seed, "gap-common"), ords) + idio * counter_normals(
                stream_key(cfg.seed, "gap", key), ords
            )
            var_bar = (params.annual_volatility / math.sqrt(_TRADING_DAYS_PER_YEAR)) ** 2
            m, q, t = kern.daily_skeleton(
                z_t,
                z_g,
                var_bar,
                cfg.daily_garch_alpha,
                cfg.daily_garch_beta,
                cfg.overnight_gap_fraction,
                cfg.price_mean_reversion,
            )
            sk = _Skeleton(ords, m, q, t)
            self._skeletons[key] = sk
        j = int(np.searchsorted(sk.ordinals, ordinal))
        return sk, j

    def _grid(self, spec: ContractSpec, day: date) -> np.ndarray:
        step = self._cfg.tick_interval_ms * 1_000_000
        windows = self._cal.session_windows_ns(day, spec)
        parts = [np.arange(start, end, step, dtype=np.int64) for start, end in windows]
        return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)

    def _latent_day(self, key: str, day: date) -> _LatentDay:
        cache_key = (key, day)
        with self._lock:
            hit = self._latent.get(cache_key)
            if hit is not None:
                self._latent.move_to_end(cache_key)
                return hit
        cfg, params, spec = self._cfg, self._cfg.variety(key), self._specs[key]
        sk, j = self._skeleton(key, day)
        grid_t = self._grid(spec, day)
        n = grid_t.shape[0]
        gen = generator(cfg.seed, "latent", key, day.toordinal())
        eta = gen.standard_normal(n)
        e_idio = gen.standard_normal(n)
        jump_u = gen.random(n)
        jump_z = gen.standard_normal(n)
        # One common shock per 500 ms slot of absolute time, shared by every variety.
        slots = grid_t // (cfg.tick_interval_ms * 1_000_000)
        c_common = counter_normals(stream_key(cfg.seed, "intraday-common"), slots)
        phi, kappa = cfg.ofi_persistence, cfg.signal_strength
        variance_mult = 1.0 + kappa * kappa * (1.0 + phi) / (1.0 - phi) + cfg.jump_probability * cfg.jump_scale**2
        step_sd = math.sqrt(sk.day_var[j] * (1.0 - cfg.overnight_gap_fraction) / (max(n, 1) * variance_mult))
        x, f, h, slope = kern.latent_path(
            eta,
            e_idio,
            c_common,
            jump_u,
            jump_z,
            params.factor_loading,
            phi,
            kappa,
            step_sd,
            cfg.garch_alpha,
            cfg.garch_beta,
            cfg.jump_probability,
            cfg.jump_scale,
            _EPS2_CAP,
            float(sk.target[j]),
        )
        latent = _LatentDay(grid_t, x, f, h, step_sd, math.log(params.base_price) + float(sk.log_open[j]), slope)
        with self._lock:
            self._latent[cache_key] = latent
            if len(self._latent) > _LATENT_CACHE:
                self._latent.popitem(last=False)
        return latent

    # --- ticks -----------------------------------------------------------------------------------
    def _contract_day(self, c: ContractSymbol, day: date) -> _ContractDay | None:
        cache_key = (c.symbol, day)
        with self._lock:
            if cache_key in self._contract_days:
                self._contract_days.move_to_end(cache_key)
                return self._contract_days[cache_key]
        result = self._build_contract_day(c, day) if self.has_ticks(c.symbol, day) else None
        with self._lock:
            self._contract_days[cache_key] = result
            if len(self._contract_days) > _CONTRACT_CACHE:
                self._contract_days.popitem(last=False)
        return result

    def _build_contract_day(self, c: ContractSymbol, day: date) -> _ContractDay:
        cfg = self._cfg
        key = c.variety_key
        params, spec = cfg.variety(key), self._specs[key]
        latent = self._latent_day(key, day)
        n_grid = latent.grid_t.shape[0]

        eod = self._eod_oi(key, day)
        oi_eod = eod[c.symbol]
        first, last = self._life_of(c.year, c.month)
        oi_prev = 0.0
        if day > first:
            oi_prev = self._eod_oi(key, self._cal.previous_trading_day(day)).get(c.symbol, 0.0)
        # Liquidity a in [0, 1]: the contract's share of the variety's largest open interest.
        a = min(1.0, oi_eod / max(max(eod.values()), 1.0))
        p_tick = cfg.min_tick_probability + (cfg.max_tick_probability - cfg.min_tick_probability) * a
        p_trade = 0.35 + 0.4 * a
        day_volume = params.main_daily_volume * a**1.5
        trade_size = max(1.0, day_volume / (n_grid * p_tick * p_trade))

        gen = generator(cfg.seed, "book", c.symbol, day.toordinal())
        present = gen.random(n_grid) < p_tick
        kidx = np.flatnonzero(present).astype(np.int64)
        if kidx.shape[0] == 0:
            kidx = np.array([int(np.argmin(gen.random(n_grid)))], dtype=np.int64)
        n = kidx.shape[0]
        jitter = gen.integers(0, cfg.tick_jitter_ms + 1, size=n).astype(np.int64) * 1_000_000
        u = gen.random((n, kern.N_UNIFORMS))
        z = gen.standard_normal((n, kern.N_NORMALS))

        tau_years = (last - day).days / 365.0
        basis = params.carry_per_year * tau_years + _BASIS_SD * float(
            counter_normals(stream_key(cfg.seed, "basis", key), np.array([c.expiry_month_index]))[0]
        )
        log_price = latent.log_open + basis + latent.x
        sqrt_a = math.sqrt(a)
        p_one, extra_spread = 0.2 + 0.7 * sqrt_a, 0.5 + 2.5 * (1.0 - a)
        times, block = kern.build_contract_day(
            kidx,
            latent.grid_t,
            jitter,
            log_price,
            latent.f,
            latent.h,
            u,
            z,
            spec.price_tick,
            spec.multiplier,
            oi_prev,
            oi_eod,
            _OI_PATH_NOISE * max(oi_prev, oi_eod) + 0.5,
            p_one,  # P(one-tick spread)
            extra_spread,  # mean extra spread ticks otherwise
            min(1.0, 0.5 + 0.8 * sqrt_a),  # P(a deeper level is quoted)
            0.05 + 1.5 * (1.0 - a),  # mean extra gap ticks between levels
            max(1.0, params.depth_lots * (0.05 + 0.95 * a)),
            cfg.book_imbalance_sensitivity,
            cfg.trade_direction_sensitivity,
            p_trade,
            trade_size,
        )
        ticks = np.empty(n, dtype=TICK_DTYPE)
        ticks["datetime_ns"] = times
        decimals = _tick_decimals(spec.price_tick)
        for col, name in enumerate(_BLOCK_FIELDS):
            ticks[name] = np.round(block[:, col], decimals) if name in _ROUNDED_FIELDS else block[:, col]
        ticks.flags.writeable = False
        p_odd = bayes.odd_spread_probability(p_one, extra_spread, kern.MAX_SPREAD_TICKS)
        return _ContractDay(ticks, kidx, log_price[kidx], latent, p_tick, p_odd)

    def _resolve(self, symbol: str, trading_day: date) -> ContractSymbol | None:
        """The dated contract behind ``symbol`` (the main for a ``KQ.m@`` alias), or None."""
        parsed = parse_symbol(symbol)
        if isinstance(parsed, ContinuousSymbol):
            self._variety(parsed.variety_key)
            if not self._cal.is_trading_day(trading_day):
                return None
            return parse_contract(self.main_contract(parsed.variety_key, trading_day))
        return self._contract(symbol)

    def ticks(self, symbol: str, trading_day: date) -> np.ndarray:
        """L5 ticks of one contract-day (a fresh ``TICK_DTYPE`` array; empty when there are none).

        A ``KQ.m@`` symbol gives :meth:`continuous_ticks`. Raises :class:`DomainError` for a day
        before the anchor on which the contract trades.
        """
        parsed = parse_symbol(symbol)
        if isinstance(parsed, ContinuousSymbol):
            return self.continuous_ticks(parsed.variety_key, trading_day)
        c = self._contract(symbol)
        first, last = self._life_of(c.year, c.month)
        if not (first <= trading_day <= last) or not self._cal.is_trading_day(trading_day):
            return empty_ticks(0)
        self._check_history(trading_day)
        cd = self._contract_day(c, trading_day)
        return empty_ticks(0) if cd is None else cd.ticks.copy()

    def continuous_ticks(self, variety_key: str, trading_day: date) -> np.ndarray:
        """The ``KQ.m@`` series: the main contract's ticks with levels 2-5 NaN (level 1 only)."""
        key, _, _ = self._variety(variety_key)
        if not self._cal.is_trading_day(trading_day):
            return empty_ticks(0)
        out = self.ticks(self.main_contract(key, trading_day), trading_day)
        for name in _DEEP_FIELDS:
            out[name] = np.nan
        return out

    # --- the oracle -------------------------------------------------------------------------------
    def oracle(self, symbol: str, trading_day: date, horizon_ticks: int) -> np.ndarray:
        """Per tick, the generator's expected mid-price change (price units) over the next ticks.

        ``E[mid(i + H) - mid(i)]`` given the signal state at tick ``i`` (order-flow imbalance and
        the next step's volatility): ``P_i * expm1(kappa * sigma * f * (1 - phi**dk) / (1 - phi))``
        with ``dk`` the 500 ms steps from tick ``i`` to tick ``i + H``. NaN where ``i + H`` is past
        the day's last tick; aligned with :meth:`ticks` (a ``KQ.m@`` symbol uses the main).
        """
        _check_horizon(horizon_ticks)
        cd = self._oracle_day(symbol, trading_day)
        if cd is None:
            return np.empty(0)
        lat = cd.latent
        mu = kern.oracle_log_drift(
            cd.kidx,
            lat.f,
            lat.h,
            lat.step_sd,
            self._cfg.signal_strength,
            self._cfg.ofi_persistence,
            int(horizon_ticks),
        )
        return np.exp(cd.log_price) * np.expm1(mu)

    def _oracle_day(self, symbol: str, trading_day: date) -> _ContractDay | None:
        """The contract-day behind ``symbol`` (the main for ``KQ.m@``), None when it has no ticks."""
        c = self._resolve(symbol, trading_day)
        if c is None:
            return None
        first, last = self._life_of(c.year, c.month)
        if not (first <= trading_day <= last) or not self._cal.is_trading_day(trading_day):
            return None
        self._check_history(trading_day)
        return self._contract_day(c, trading_day)

    def class_probabilities(
        self,
        symbol: str,
        trading_day: date,
        horizon_ticks: int,
        k_ticks: float,
        rows: np.ndarray,
        seed: int = 0,
        se_target: float = BAYES_SE_TARGET,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The Bayes oracle: ``p*(DOWN, FLAT, UP)`` of the direction label at ticks ``rows``.

        Probabilities of the label ``dir_h{H}`` (threshold ``k_ticks`` price ticks on the mid,
        as ``ghtrader.domain.labels.direction_labels``) given the generator's state at each tick
        (latent price, order-flow imbalance, next step's volatility, the day's bridge slope, the
        observed mid), by Monte Carlo continuation of the generator until every class's standard
        error is ``<= se_target`` (or a cap of paths). Returns ``(probs, se)``, both ``(len(rows),
        3)``, NaN where ``i + H`` is past the day's last tick; ``rows`` index :meth:`ticks`
        (a ``KQ.m@`` symbol uses the main); empty arrays when the contract-day has no ticks.
        Deterministic given ``seed``; see docs/synthetic_market.md, "The Bayes oracle".
        """
        probs, se, _ = self.class_probabilities_with_paths(
            symbol, trading_day, horizon_ticks, k_ticks, rows, seed=seed, se_target=se_target
        )
        return probs, se

    def class_probabilities_with_paths(
        self,
        symbol: str,
        trading_day: date,
        horizon_ticks: int,
        k_ticks: float,
        rows: np.ndarray,
        seed: int = 0,
        se_target: float = BAYES_SE_TARGET,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`class_probabilities` plus the number of continuations used per row."""
        _check_horizon(horizon_ticks)
        if not (isinstance(k_ticks, (int, float, np.floating)) and math.isfinite(k_ticks) and k_ticks > 0):
            raise DomainError(f"invalid k_ticks={k_ticks!r}: expected a finite number > 0")
        if not (math.isfinite(se_target) and se_target > 0):
            raise DomainError(f"invalid se_target={se_target!r}: expected a finite number > 0")
        at = np.asarray(rows)
        if at.ndim != 1 or not (at.size == 0 or np.issubdtype(at.dtype, np.integer)):
            raise DomainError("rows must be a 1-d array of int tick positions")
        cd = self._oracle_day(symbol, trading_day)
        if cd is None:
            return np.empty((0, 3)), np.empty((0, 3)), np.empty(0, dtype=np.int64)
        n = cd.kidx.shape[0]
        at = at.astype(np.int64)
        if at.size and (at.min() < 0 or at.max() >= n):
            raise DomainError(f"rows out of range: the contract-day has {n} ticks")
        cfg, lat = self._cfg, cd.latent
        tick = self._specs[key_of_variety(symbol)].price_tick
        bid, ask = cd.ticks["bid_price1"], cd.ticks["ask_price1"]
        with np.errstate(invalid="ignore"):
            mid = np.where((bid > 0) & (ask > 0), 0.5 * (bid + ask) / tick, np.nan)
        mid_ticks = np.round(2.0 * mid) / 2.0  # exact half-ticks, free of the prices' float rounding
        return bayes.bayes_class_probabilities(
            at,
            cd.kidx,
            cd.log_price,
            mid_ticks,
            lat.f,
            lat.h,
            lat.slope,
            lat.step_sd,
            cfg.signal_strength,
            cfg.ofi_persistence,
            cfg.garch_alpha,
            cfg.garch_beta,
            cfg.jump_probability,
            cfg.jump_scale,
            _EPS2_CAP,
            cd.p_tick,
            cd.p_odd_spread,
            tick,
            float(k_ticks),
            int(horizon_ticks),
            int(seed) & 0x7FFFFFFFFFFFFFFF,
            float(se_target),
            _BAYES_BATCH_PAIRS,
            _BAYES_MAX_PAIRS,
        )

    def oracle_direction(self, symbol: str, trading_day: date, horizon_ticks: int, threshold: float) -> np.ndarray:
        """:meth:`oracle` as ``int8`` UP (+1) / FLAT (0) / DOWN (-1) against ``threshold`` (price units).

        ``+1`` where the expectation is above ``threshold``, ``-1`` below ``-threshold``, else 0
        (also where the oracle is NaN).
        """
        if not (isinstance(threshold, (int, float)) and math.isfinite(threshold) and threshold >= 0):
            raise DomainError(f"invalid threshold={threshold!r}: expected a finite number >= 0")
        o = self.oracle(symbol, trading_day, horizon_ticks)
        out = np.zeros(o.shape[0], dtype=np.int8)
        out[o > threshold] = 1
        out[o < -threshold] = -1
        return out
