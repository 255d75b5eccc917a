"""A fitted regime model as stored in ``artifacts/regimes/<model_id>.json``."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ghtrader.application.errors import InvalidArgument
from ghtrader.domain.regimes import GaussianHmmParams, ObservationConfig

__all__ = ["RegimeModel", "config_hash"]


def config_hash(payload: Mapping[str, Any]) -> str:
    """16-hex stable hash of a JSON-ready mapping (identifies a model / method config)."""
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class RegimeModel:
    """A fitted Gaussian HMM plus what it was fitted on; ``model_config_hash`` covers the
    parameters, the observation windows and the features, so stored states name it exactly."""

    model_id: str
    symbol: str
    start_day: str
    end_day: str
    observation: ObservationConfig
    features: tuple[str, ...]
    params: GaussianHmmParams
    fit: Mapping[str, Any]  # fit config and diagnostics (log-likelihood, iterations, seed, rows, seconds)
    created_at_ns: int

    @property
    def model_config_hash(self) -> str:
        return config_hash(
            {
                "params": self.params.to_dict(),
                "observation": self.observation.as_dict(),
                "features": list(self.features),
            }
        )

    def to_payload(self) -> dict[str, Any]:
        return {
            "kind": "gaussian_hmm",
            "model_id": self.model_id,
            "symbol": self.symbol,
            "start_day": self.start_day,
            "end_day": self.end_day,
            "observation": self.observation.as_dict(),
            "features": list(self.features),
            "params": self.params.to_dict(),
            "fit": dict(self.fit),
            "created_at_ns": self.created_at_ns,
            "model_config_hash": self.model_config_hash,
        }

    @classmethod
    def from_payload(cls, data: Mapping[str, Any]) -> RegimeModel:
        if data.get("kind") != "gaussian_hmm":
            raise InvalidArgument(f"not a Gaussian-HMM regime model: kind={data.get('kind')!r}")
        obs = data["observation"]
        return cls(
            model_id=str(data["model_id"]),
            symbol=str(data["symbol"]),
            start_day=str(data["start_day"]),
            end_day=str(data["end_day"]),
            observation=ObservationConfig(window=int(obs["window"]), min_periods=int(obs["min_periods"])),
            features=tuple(data["features"]),
            params=GaussianHmmParams.from_dict(data["params"]),
            fit=dict(data.get("fit", {})),
            created_at_ns=int(data.get("created_at_ns", 0)),
        )
