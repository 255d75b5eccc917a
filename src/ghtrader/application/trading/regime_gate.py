"""RegimeGate: a trading run's market regime, and the size and position cap it allows.

A run started with ``regime_model`` (a stored Gaussian HMM, ``ghtrader regime fit``) feeds every
tick of its execution contract to :class:`~ghtrader.domain.regimes.OnlineRegime`, warm-up ticks
before the start included, with the run code ``(trading day, contract)``: the rolling
observations restart at a day change and at a roll exactly where the batch observations of the
same ticks restart, and the forward filter carries on as the batch filter does, so the gate's
states equal ``regime decode --method hmm-filter`` on the same ticks (parity test). Each state
uses the ticks up to it only.

After the sizer, the target is scaled by the current regime's factor (``regime_scales``, keyed by
:func:`~ghtrader.domain.regimes.regime_name`: ``hmm_0`` the calmest .. ``hmm_{K-1}``; a regime not
listed keeps the size) and clipped to its cap (``regime_max_lots``) with
:func:`~ghtrader.domain.risk.sizing.regime_scaled_lots`; the risk engine still checks every order.
With the pre-trade stress check on, ``regime_stress_scales`` multiplies the price sigma of its
scenarios in a regime (e.g. ``hmm_2=2``: twice the move in the most volatile regime), a stricter
stress limit where the regime says the market moves more.
From the start on, each change of the most probable regime is a ``regime_change`` event (the first
one, ``from`` empty, gives the regime the run starts in).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date
from typing import Any

import numpy as np

from ghtrader.application.errors import InvalidArgument, NotFound
from ghtrader.application.ports.regimes import RegimeModelStore
from ghtrader.application.regimes.models import RegimeModel
from ghtrader.domain.errors import DomainError
from ghtrader.domain.instruments import ContractSpec, contract_spec
from ghtrader.domain.regimes import OnlineRegime, regime_name
from ghtrader.domain.risk.sizing import regime_scaled_lots

__all__ = ["RegimeGate", "open_regime_gate"]

_NO_CAP = 1_000_000  # lots: "no regime cap" (the sizer's max_lots and the risk engine still bind)


class RegimeGate:
    """The run's online regime and its sizing rule (module docstring)."""

    def __init__(
        self,
        model: RegimeModel,
        scales: Mapping[str, float],
        max_lots: Mapping[str, int] | None = None,
        stress_scales: Mapping[str, float] | None = None,
    ) -> None:
        names = [regime_name(k) for k in range(model.params.n_states)]
        max_lots, stress_scales = dict(max_lots or {}), dict(stress_scales or {})
        for field, given in (
            ("regime_scales", scales), ("regime_max_lots", max_lots), ("regime_stress_scales", stress_scales)
        ):  # fmt: skip
            unknown = sorted(set(given) - set(names))
            if unknown:
                raise InvalidArgument(
                    f"{field}: unknown regime(s) {', '.join(unknown)}: model {model.model_id} has {', '.join(names)}"
                )
        for name, scale in scales.items():
            if not (math.isfinite(scale) and scale >= 0):
                raise InvalidArgument(f"regime_scales: {name} must be a finite number >= 0, got {scale!r}")
        for name, cap in max_lots.items():
            if not (isinstance(cap, int) and cap >= 0):
                raise InvalidArgument(f"regime_max_lots: {name} must be a whole number of lots >= 0, got {cap!r}")
        for name, factor in stress_scales.items():
            if not (math.isfinite(factor) and factor > 0):
                raise InvalidArgument(f"regime_stress_scales: {name} must be a finite number > 0, got {factor!r}")
        self.model = model
        self.names = tuple(names)
        self.scales = {n: float(scales.get(n, 1.0)) for n in names}
        self.max_lots = max_lots
        self.stress_scales = {n: float(v) for n, v in stress_scales.items()}
        self._online = OnlineRegime(model.params, model.features, model.observation)
        self._logged = ""  # the regime last journaled ("" : none yet)
        self.changes = 0

    @property
    def regime(self) -> str:
        """The most probable regime now ("" before the first tick)."""
        k = self._online.regime
        return regime_name(k) if k >= 0 else ""

    @property
    def probabilities(self) -> np.ndarray:
        """``p(regime | ticks so far)`` (uniform before the first tick)."""
        return self._online.probabilities

    def update(self, tick: np.void, day: date, contract: str, *, live: bool) -> dict[str, Any] | None:
        """Feed one tick; from the start on (``live``) returns the ``regime_change`` fields when
        the most probable regime differs from the last one journaled, else None."""
        self._online.update(
            float(tick["bid_price1"]), float(tick["ask_price1"]), float(tick["bid_volume1"]),
            float(tick["ask_volume1"]), float(tick["volume"]), (day, contract),
        )  # fmt: skip
        now = self.regime
        if not live or now == self._logged:
            return None
        change = {"from": self._logged, "to": now, "probabilities": [round(float(p), 6) for p in self.probabilities]}
        self._logged = now
        self.changes += 1
        return change

    def lots(self, target: int) -> int:
        """``target`` scaled by the current regime's factor and clipped to its cap (no regime yet: 0)."""
        now = self.regime
        if not target or not now:
            return 0
        return regime_scaled_lots(target, now, self.scales, self.max_lots.get(now, _NO_CAP))

    def stress_scale(self) -> float:
        """The factor on the stress check's price sigma in the current regime (1 when not listed)."""
        return self.stress_scales.get(self.regime, 1.0)

    def state(self) -> dict[str, Any]:
        """The ``regime`` block of the run's status."""
        now = self.regime
        return {
            "model_id": self.model.model_id, "regime": now,
            "probabilities": {n: round(float(p), 6) for n, p in zip(self.names, self.probabilities, strict=True)},
            "scale": self.scales.get(now), "max_lots": self.max_lots.get(now), "changes": self.changes,
            **({"stress_scale": self.stress_scale()} if self.stress_scales else {}),
        }  # fmt: skip

    def config(self) -> dict[str, Any]:
        """The ``regime`` block of ``run_config.json``."""
        return {
            "model_id": self.model.model_id, "model_config_hash": self.model.model_config_hash,
            "model_symbol": self.model.symbol, "features": list(self.model.features),
            "observation": self.model.observation.as_dict(), "scales": dict(self.scales),
            "max_lots": dict(self.max_lots), "stress_scales": dict(self.stress_scales),
        }  # fmt: skip


def open_regime_gate(
    models: RegimeModelStore | None,
    model_id: str,
    scales: Mapping[str, float],
    max_lots: Mapping[str, int],
    spec: ContractSpec,
    stress_scales: Mapping[str, float] | None = None,
    stress_check: bool = False,
) -> RegimeGate | None:
    """The gate a request asks for (None when ``model_id`` is empty); the model must be of the
    run's variety, and stress scales need the run's stress check (``stress_check``)."""
    if not model_id:
        if scales or max_lots or stress_scales:
            raise InvalidArgument("regime_scales / regime_max_lots / regime_stress_scales need a regime_model")
        return None
    if stress_scales and not stress_check:
        raise InvalidArgument(
            "regime_stress_scales need the pre-trade stress check: an order-enabled run with stress_loss_limit"
        )
    if models is None:
        raise InvalidArgument("this server has no regime model store wired")
    try:
        model = RegimeModel.from_payload(models.load_model(model_id))
    except KeyError:
        raise NotFound(f"no regime model {model_id!r} (see `ghtrader regime show`)") from None
    try:
        variety = contract_spec(model.symbol).key
    except DomainError:
        variety = ""
    if variety and variety != spec.key:
        raise InvalidArgument(f"regime model {model_id} was fitted on {model.symbol}, not on {spec.key}")
    return RegimeGate(model, scales, max_lots, stress_scales)
