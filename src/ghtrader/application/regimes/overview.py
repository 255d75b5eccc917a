"""``ListRegimes``: the saved regime models and the stored regime-state series."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ghtrader.application.ports.regimes import RegimeModelStore, RegimeStateStore, RegimeStateSummary
from ghtrader.application.regimes.fit import state_table
from ghtrader.application.regimes.models import RegimeModel

__all__ = ["ListRegimes", "RegimeOverview"]


@dataclass(frozen=True)
class RegimeOverview:
    """Models (newest last, with their state tables) and stored series."""

    models: list[dict[str, Any]]
    series: list[RegimeStateSummary]


class ListRegimes:
    def __init__(self, *, models: RegimeModelStore, states: RegimeStateStore) -> None:
        self._models = models
        self._states = states

    def __call__(self, symbol: str = "") -> RegimeOverview:
        models = []
        for model_id in self._models.model_ids():
            payload = self._models.load_model(model_id)
            if payload.get("kind") != "gaussian_hmm" or (symbol and payload.get("symbol") != symbol):
                continue
            m = RegimeModel.from_payload(payload)
            models.append(
                {
                    "model_id": m.model_id,
                    "symbol": m.symbol,
                    "start_day": m.start_day,
                    "end_day": m.end_day,
                    "n_states": m.params.n_states,
                    "features": list(m.features),
                    "model_config_hash": m.model_config_hash,
                    "created_at_ns": m.created_at_ns,
                    "fit": dict(m.fit),
                    "states": state_table(m),
                }
            )
        return RegimeOverview(models=models, series=self._states.summaries(symbol or None))
