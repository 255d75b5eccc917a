"""OnlineFeatureService: live factor values per symbol, served from an OnlineFeatureStore.

Ticks go through one :class:`~ghtrader.domain.factors.OnlineFactorEngine` per symbol (the batch
build's exact definitions and state), and the latest value of every factor is stored with the
tick's exchange time as its event time. A read judges freshness against the Clock: a value
older than its feature's TTL (the factor spec's ``ttl_s`` unless overridden) is stale and is
returned as None, or raises :class:`StaleFeature` with ``stale="raise"``. Generated features
(``gen__...``) are served too (their parents computed alongside, only the names asked stored);
their TTL is their stalest parent's.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np

from ghtrader.application.errors import FailedPrecondition, InvalidArgument, NotFound
from ghtrader.application.ports.clock import Clock
from ghtrader.application.ports.datasets import FeatureValue, OnlineFeatureStore
from ghtrader.domain.errors import DomainError
from ghtrader.domain.factors import OnlineFactorEngine, resolve
from ghtrader.domain.factors.generated import is_generated, parse_generated
from ghtrader.domain.factors.online_generated import compile_generated
from ghtrader.domain.instruments import contract_spec

__all__ = ["OnlineFeatureService", "StaleFeature"]

StalePolicy = Literal["none", "raise"]


class StaleFeature(FailedPrecondition):
    """The latest value of a feature is older than its TTL."""

    def __init__(self, value: FeatureValue, age_s: float, ttl_s: float) -> None:
        super().__init__(f"{value.feature} of {value.symbol} is stale: last event {age_s:.3f}s ago, TTL {ttl_s:g}s")
        self.value = value
        self.age_s = age_s
        self.ttl_s = ttl_s


class OnlineFeatureService:
    """Update factors from live ticks and serve their latest values with TTL checks.

    Args:
        store: where the latest values live.
        clock: "now" for freshness.
        names: factors to maintain (None: every registered factor).
        ttl_seconds: per-feature TTL overrides (seconds; ``math.inf`` = never stale).
        stale: ``"none"`` returns None for a stale value, ``"raise"`` raises StaleFeature.
        price_tick / multiplier: per-symbol overrides; default the variety's contract spec.
    """

    def __init__(
        self,
        *,
        store: OnlineFeatureStore,
        clock: Clock,
        names: Sequence[str] | None = None,
        ttl_seconds: Mapping[str, float] | None = None,
        stale: StalePolicy = "none",
        price_tick: Mapping[str, float] | None = None,
        multiplier: Mapping[str, float] | None = None,
    ) -> None:
        if stale not in ("none", "raise"):
            raise InvalidArgument(f"invalid stale policy {stale!r}: expected 'none' or 'raise'")
        try:
            if names is not None and not isinstance(names, str) and any(is_generated(n) for n in names):
                plan = compile_generated(names)
                specs, self._names = resolve(plan.base), plan.names
            else:
                specs = resolve(names)
                self._names = tuple(s.name for s in specs)
        except DomainError as exc:
            raise InvalidArgument(str(exc)) from exc
        ttl = {s.name: float(s.ttl_s) for s in specs}
        # a generated feature is as fresh as its stalest parent
        ttl.update({n: min(ttl[p] for p in parse_generated(n).parents) for n in self._names if is_generated(n)})
        ttl = {n: ttl[n] for n in self._names}
        for name, value in (ttl_seconds or {}).items():
            if name not in ttl:
                raise InvalidArgument(f"TTL for unknown feature {name!r}: expected one of the served features")
            if not (value > 0):
                raise InvalidArgument(f"invalid TTL {value!r} for {name}: expected seconds > 0")
            ttl[name] = float(value)
        self._ttl_ns = {name: (math.inf if math.isinf(v) else int(v * 1e9)) for name, v in ttl.items()}
        self._store = store
        self._clock = clock
        self._stale = stale
        self._price_tick = dict(price_tick or {})
        self._multiplier = dict(multiplier or {})
        self._engines: dict[str, OnlineFactorEngine] = {}
        self._lock = threading.Lock()

    @property
    def names(self) -> tuple[str, ...]:
        """The served features, in engine order."""
        return self._names

    def ttl_seconds(self, feature: str) -> float:
        ttl = self._ttl_ns.get(feature)
        if ttl is None:
            raise NotFound(f"feature {feature!r} is not served: expected one of {list(self._names)}")
        return math.inf if math.isinf(ttl) else ttl / 1e9

    def _engine(self, symbol: str) -> OnlineFactorEngine:
        engine = self._engines.get(symbol)
        if engine is None:
            try:
                spec = contract_spec(symbol)
                engine = OnlineFactorEngine(
                    self._names,
                    self._price_tick.get(symbol, spec.price_tick),
                    self._multiplier.get(symbol, spec.multiplier),
                )
            except DomainError as exc:
                raise InvalidArgument(str(exc)) from exc
            self._engines[symbol] = engine
        return engine

    # --- updates -----------------------------------------------------------------------------------
    def update(
        self,
        symbol: str,
        ticks: np.ndarray,
        trading_day: object,
        segment_id: object = None,
        extras: Mapping[str, object] | None = None,
    ) -> dict[str, float]:
        """Feed a batch of new ticks of ``symbol`` (time order; also a warm-up on history) and
        store the values after its last tick; returns them by name. An empty batch does nothing."""
        if len(ticks) == 0:
            return {}
        with self._lock:
            engine = self._engine(symbol)
            try:
                out = engine.update_many(ticks, trading_day, segment_id, extras)
            except DomainError as exc:
                raise InvalidArgument(str(exc)) from exc
            values = {name: float(v) for name, v in zip(engine.names, out[-1], strict=True)}
            self._store.put_latest(symbol, values, int(np.asarray(ticks["datetime_ns"])[-1]))
        return values

    def on_tick(
        self,
        symbol: str,
        tick: np.void | Mapping[str, Any],
        trading_day: object,
        segment_id: int = 0,
        extras: Mapping[str, float] | None = None,
    ) -> dict[str, float]:
        """Feed one tick (a TICK_DTYPE record or a field mapping) and store its values."""
        with self._lock:
            engine = self._engine(symbol)
            try:
                out = engine.update(tick, trading_day, segment_id, extras)
            except DomainError as exc:
                raise InvalidArgument(str(exc)) from exc
            values = {name: float(v) for name, v in zip(engine.names, out, strict=True)}
            event_ns = int(tick["datetime_ns"])
            self._store.put_latest(symbol, values, event_ns)
        return values

    def reset(self, symbol: str) -> None:
        """Forget a symbol's engine state (the next tick starts a fresh segment)."""
        with self._lock:
            self._engines.pop(symbol, None)

    # --- reads -------------------------------------------------------------------------------------
    def _fresh(self, value: FeatureValue | None, now_ns: int) -> float | None:
        if value is None:
            return None
        ttl = self._ttl_ns.get(value.feature)
        if ttl is None:
            raise NotFound(f"feature {value.feature!r} is not served: expected one of {list(self._names)}")
        age = now_ns - value.event_time_ns
        if age > ttl:
            if self._stale == "raise":
                raise StaleFeature(value, age / 1e9, ttl / 1e9)
            return None
        return value.value

    def get_latest(self, symbol: str, feature: str) -> float | None:
        """The feature's latest value, or None when there is none (or it is stale, unless
        ``stale="raise"``)."""
        if feature not in self._ttl_ns:
            raise NotFound(f"feature {feature!r} is not served: expected one of {list(self._names)}")
        return self._fresh(self._store.get_latest(symbol, feature), self._clock.now_ns())

    def get_vector(self, symbol: str, features: Sequence[str] | None = None) -> dict[str, float | None]:
        """Several features at once, judged against one "now"."""
        names = self._names if features is None else tuple(features)
        for name in names:
            if name not in self._ttl_ns:
                raise NotFound(f"feature {name!r} is not served: expected one of {list(self._names)}")
        now_ns = self._clock.now_ns()
        got = self._store.get_many(symbol, names)
        return {name: self._fresh(got[name], now_ns) for name in names}
