"""PreTradeTca: expected costs and a schedule for an order not yet sent.

The market profile comes from the symbol's stored ticks (raw for a contract, main_l5 for a
``KQ.m@`` series) of the last ``days`` trading days up to ``end_day`` (default: the last stored
day); the impact model is the variety's latest stored calibration (``ghtrader_tca_v2``, at
least ``MIN_FIT_FILLS`` fills), else none (impact 0, said so).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np

from ghtrader.application.errors import FailedPrecondition, InvalidArgument
from ghtrader.application.ports.stores import TickStore
from ghtrader.application.ports.tca import TcaStore
from ghtrader.application.reporting import to_jsonable
from ghtrader.application.tca.analyze import MIN_FIT_FILLS
from ghtrader.domain.errors import DomainError
from ghtrader.domain.instruments import contract_spec
from ghtrader.domain.tca import SCHEDULES, ImpactModel, expected_costs, make_schedule, market_profile, urgency_curve

__all__ = ["PreTradeReport", "PreTradeRequest", "PreTradeTca"]

URGENCIES = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0)


@dataclass(frozen=True)
class PreTradeRequest:
    """An order to estimate: ``side`` +1 buy / -1 sell, ``qty`` lots over ``horizon_s``."""

    symbol: str
    side: int
    qty: int
    horizon_s: float = 300.0
    slices: int = 10
    schedule: str = "is"  # "twap" | "vwap" | "is"
    urgency: float = 2.0  # the IS schedule's Almgren-Chriss urgency (0 = TWAP)
    days: int = 1  # trading days of ticks the profile reads
    end_day: date | None = None  # None: the last stored day


@dataclass
class PreTradeReport:
    """Expected costs (ticks x lots and currency), the schedule and the liquidity forecast."""

    symbol: str
    side: int
    qty: int
    horizon_s: float
    tick: float
    multiplier: float
    days: list[date]
    profile: dict[str, Any]
    impact: dict[str, Any]
    impact_source: str
    costs_ticks: dict[str, dict[str, float]]  # schedule name -> spread / impact / timing / total
    costs: dict[str, dict[str, float]]  # the same in currency
    schedule: str
    slices: list[dict[str, float]]  # the chosen schedule: {"t_s", "lots"}
    urgency_curve: list[dict[str, float]] = field(default_factory=list)
    liquidity: list[dict[str, float]] = field(default_factory=list)  # lots within k ticks of the touch taken

    def to_payload(self) -> dict[str, Any]:
        return to_jsonable(self.__dict__)


class PreTradeTca:
    """Pre-trade cost estimate (see the module docstring)."""

    def __init__(self, *, ticks: TickStore, store: TcaStore) -> None:
        self._ticks = ticks
        self._store = store

    @staticmethod
    def _check(r: PreTradeRequest) -> None:
        if r.side not in (1, -1):
            raise InvalidArgument(f"side must be +1 (buy) or -1 (sell), got {r.side}")
        if r.qty <= 0:
            raise InvalidArgument(f"qty must be positive, got {r.qty}")
        if not (math.isfinite(r.horizon_s) and r.horizon_s >= 0):
            raise InvalidArgument(f"horizon_s must be a finite number >= 0, got {r.horizon_s}")
        if r.slices < 1 or r.days < 1:
            raise InvalidArgument(f"slices and days must be >= 1, got {r.slices} and {r.days}")
        if r.schedule not in SCHEDULES:
            raise InvalidArgument(f"schedule must be one of {', '.join(SCHEDULES)}, got {r.schedule!r}")
        if not (math.isfinite(r.urgency) and r.urgency >= 0):
            raise InvalidArgument(f"urgency must be a finite number >= 0, got {r.urgency}")

    def __call__(self, request: PreTradeRequest) -> PreTradeReport:
        r = request
        self._check(r)
        try:
            spec = contract_spec(r.symbol)
        except DomainError as exc:
            raise InvalidArgument(str(exc)) from exc
        lake = "main_l5" if r.symbol.startswith("KQ.") else "raw"
        stored_days = [d for d in self._ticks.tick_days(r.symbol, lake) if r.end_day is None or d <= r.end_day]
        if not stored_days:
            raise FailedPrecondition(f"no {lake} ticks of {r.symbol} stored: download them first")
        days = sorted(stored_days)[-r.days :]
        ticks = self._ticks.read_ticks(r.symbol, lake, days[0], days[-1]).ticks
        levels = [c for c in range(1, 6) if np.isfinite(ticks[f"bid_price{c}"]).any()]
        book = tuple(np.stack([ticks[f"{f}{c}"] for c in levels], axis=1) for f in
                     ("bid_price", "bid_volume", "ask_price", "ask_volume"))  # fmt: skip
        profile = market_profile(
            ticks["datetime_ns"], ticks["bid_price1"], ticks["ask_price1"], ticks["volume"], spec.price_tick,
            book,  # type: ignore[arg-type]
        )  # fmt: skip
        stored = self._store.latest_impact(spec.variety, MIN_FIT_FILLS)
        if stored is not None:
            model = ImpactModel(stored.impact_kind, stored.impact_eta, stored.impact_n_obs, stored.impact_r2)
            source = f"stored {stored.run_id}"
        else:
            model, source = ImpactModel(), "none: no calibration stored for this variety (run tca on a sim run)"
        k = spec.price_tick * spec.multiplier
        costs_ticks = {
            name: expected_costs(make_schedule(name, r.qty, r.horizon_s, r.slices, profile, r.urgency), profile, model)
            for name in SCHEDULES
        }
        chosen = make_schedule(r.schedule, r.qty, r.horizon_s, r.slices, profile, r.urgency)
        curve = urgency_curve(r.qty, r.horizon_s, r.slices, profile, model, np.array(URGENCIES))
        depth = profile.depth_buy if r.side > 0 else profile.depth_sell
        return PreTradeReport(
            symbol=r.symbol, side=r.side, qty=r.qty, horizon_s=r.horizon_s, tick=spec.price_tick,
            multiplier=spec.multiplier, days=days,
            profile={"half_spread_ticks": profile.half_spread_ticks, "sigma_ticks_per_sqrt_s": profile.sigma_ticks,
                     "lots_per_s": profile.lots_per_s, "mid": profile.mid, "ticks": profile.ticks_used},
            impact=model.to_dict(), impact_source=source, costs_ticks=costs_ticks,
            costs={n: {c: v * k for c, v in d.items()} for n, d in costs_ticks.items()}, schedule=r.schedule,
            slices=[{"t_s": float(t), "lots": int(q)} for t, q in zip(chosen.times_s, chosen.lots, strict=True)],
            urgency_curve=[{"urgency": float(curve["urgency"][i]), "impact": float(curve["impact"][i]) * k,
                            "timing": float(curve["timing"][i]) * k, "total": float(curve["total"][i]) * k}
                           for i in range(len(URGENCIES))],
            liquidity=[{"within_ticks": float(o), "lots": float(v), "share_of_order": float(v) / r.qty}
                       for o, v in zip(profile.depth_offsets_ticks, depth, strict=False)],  # no book: empty
        )  # fmt: skip
