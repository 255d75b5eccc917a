"""``DecodeRegimes``: label every tick of a symbol with a regime and store the states.

Methods (``detection_method`` in ``ghtrader_regime_states_v2``):

- ``hmm-filter``: the fitted HMM's forward filter, causal (probabilities per tick);
- ``viterbi``: the fitted HMM's most likely path over the whole window (offline; one-hot);
- ``bocpd``: Bayesian online changepoint detection on one observation sampled every
  ``stride`` ticks (causal; regime id = segment counter, probability = P(short run));
- ``pelt``: PELT changepoints (adapter) on the same sampled series (offline; segment counter);
- ``vol-bucket``: realised-volatility buckets with quantile edges of this window (offline);
- ``kmeans`` / ``gmm``: clusters (adapter) of the complete observation rows sampled every
  ``stride`` ticks (offline; ids ordered by volatility), with a stability analysis: the
  adjusted Rand index between the clustering of all samples and ``bootstraps`` refits on
  bootstrap resamples (``stats["stability_ari"]``).

Sampling every ``stride`` ticks (default: the observation window) makes consecutive values of a
rolling observation nearly independent, as both changepoint models assume; the sampled
series' labels are carried forward to the ticks in between (never backward).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np

from ghtrader.application.errors import InvalidArgument, NotFound
from ghtrader.application.ports.clock import Clock
from ghtrader.application.ports.regimes import (
    ChangepointSegmenter,
    RegimeModelStore,
    RegimeStates,
    RegimeStateStore,
    WindowClusterer,
)
from ghtrader.application.ports.stores import TickStore
from ghtrader.application.progress import ProgressCallback, no_progress
from ghtrader.application.regimes.data import RegimeData, load_regime_data, select_features
from ghtrader.application.regimes.models import RegimeModel, config_hash
from ghtrader.domain.regimes import (
    OBSERVATION_NAMES,
    BocpdConfig,
    ObservationConfig,
    adjusted_rand_index,
    assign_vol_buckets,
    bocpd,
    fit_vol_buckets,
    forward_filter,
    segments_from_run_length,
    viterbi_path,
)

__all__ = ["METHODS", "DecodeRegimes", "DecodeRequest", "DecodeResult", "latest_model", "regime_stats"]

METHODS: tuple[str, ...] = ("hmm-filter", "viterbi", "bocpd", "pelt", "vol-bucket", "kmeans", "gmm")
_CLUSTER_METHODS = ("kmeans", "gmm")
_HMM_METHODS = ("hmm-filter", "viterbi")


@dataclass(frozen=True)
class DecodeRequest:
    """What to decode. HMM methods use ``model_id`` (empty: the newest model of the symbol);
    the others use ``feature`` (default ``log_rvol``), ``stride`` (ticks between samples;
    0 = the observation window), ``expected_run`` (BOCPD, in samples), ``penalty`` (PELT;
    None = ``3 ln n``; ``min_size``: fewest samples per segment), ``n_buckets`` (vol-bucket),
    ``n_clusters`` / ``bootstraps`` / ``seed`` (kmeans / gmm)."""

    symbol: str
    start_day: date
    end_day: date
    method: str = "hmm-filter"
    model_id: str = ""
    feature: str = "log_rvol"
    stride: int = 0
    expected_run: float = 200.0
    penalty: float | None = None
    min_size: int = 5
    n_buckets: int = 3
    n_clusters: int = 3
    bootstraps: int = 8
    seed: int = 0
    observation: ObservationConfig = field(default_factory=ObservationConfig)


@dataclass(frozen=True)
class DecodeResult:
    """What was decoded and stored."""

    symbol: str
    method: str
    model_id: str
    model_config_hash: str
    start_day: str
    end_day: str
    rows: int
    written: int
    decode_seconds: float
    stats: dict[str, Any]


def regime_stats(regime_id: np.ndarray) -> dict[str, Any]:
    """Rows, share and mean dwell (ticks per uninterrupted stay) per regime, and switches."""
    r = np.asarray(regime_id, dtype=np.int64)
    n = r.shape[0]
    if n == 0:
        return {"regimes": {}, "switches": 0}
    change = np.flatnonzero(r[1:] != r[:-1]) + 1
    starts = np.r_[0, change]
    lengths = np.diff(np.r_[starts, n])
    ids = r[starts]
    out: dict[str, Any] = {}
    for k in np.unique(r).tolist():
        m = ids == k
        out[str(k)] = {
            "rows": int((r == k).sum()),
            "share": float((r == k).mean()),
            "mean_dwell_ticks": float(lengths[m].mean()),
            "stays": int(m.sum()),
        }
    return {"regimes": out, "switches": int(change.size)}


def latest_model(models: RegimeModelStore, symbol: str) -> RegimeModel:
    """The newest saved HMM of ``symbol`` (``NotFound`` when none)."""
    for model_id in reversed(models.model_ids()):
        payload = models.load_model(model_id)
        if payload.get("kind") == "gaussian_hmm" and payload.get("symbol") == symbol:
            return RegimeModel.from_payload(payload)
    raise NotFound(f"no fitted regime model for {symbol}: run `ghtrader regime fit --symbol {symbol}` first")


def _sampled(values: np.ndarray, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices sampled every ``stride`` rows where the value is finite, and the values."""
    idx = np.arange(0, values.shape[0], stride)
    idx = idx[np.isfinite(values[idx])]
    return idx, values[idx]


def _carry_forward(n: int, idx: np.ndarray, labels: np.ndarray, fill: float) -> np.ndarray:
    """Per-row value: the label of the latest sample at or before the row (``fill`` before any)."""
    out = np.full(n, fill, dtype=np.float64)
    if idx.size:
        pos = np.searchsorted(idx, np.arange(n), side="right") - 1
        ok = pos >= 0
        out[ok] = labels[pos[ok]]
    return out


class DecodeRegimes:
    """Ticks -> observations -> the chosen method -> ``ghtrader_regime_states_v2``."""

    def __init__(
        self,
        *,
        ticks: TickStore,
        models: RegimeModelStore,
        states: RegimeStateStore,
        segmenter: ChangepointSegmenter,
        clock: Clock,
        clusterer: WindowClusterer | None = None,
    ) -> None:
        self._clusterer = clusterer
        self._ticks = ticks
        self._models = models
        self._states = states
        self._segmenter = segmenter
        self._clock = clock

    def load_model(self, symbol: str, model_id: str) -> RegimeModel:
        """``model_id`` when given, else the newest model of ``symbol``."""
        if not model_id:
            return latest_model(self._models, symbol)
        try:
            return RegimeModel.from_payload(self._models.load_model(model_id))
        except KeyError:
            raise NotFound(f"no regime model {model_id!r} (see `ghtrader regime show`)") from None

    def __call__(self, request: DecodeRequest, progress: ProgressCallback = no_progress) -> DecodeResult:
        if request.method not in METHODS:
            raise InvalidArgument(f"unknown method {request.method!r}: expected {', '.join(METHODS)}")
        model = self.load_model(request.symbol, request.model_id) if request.method in _HMM_METHODS else None
        obs_cfg = model.observation if model is not None else request.observation
        progress(0, 3, f"reading {request.symbol} {request.start_day}..{request.end_day}")
        data = load_regime_data(self._ticks, request.symbol, request.start_day, request.end_day, obs_cfg)
        progress(1, 3, f"decoding {len(data):,} rows with {request.method}")
        t0 = self._clock.monotonic_s()
        extra: dict[str, Any] = {}
        if model is not None:
            regime, probs, model_hash = self._hmm(model, data, request.method)
        elif request.method in _CLUSTER_METHODS:
            regime, probs, model_hash, extra = self._clusters(request, data, obs_cfg)
        else:
            regime, probs, model_hash = self._other(request, data, obs_cfg)
        seconds = self._clock.monotonic_s() - t0
        states = RegimeStates(
            symbol=request.symbol,
            detection_method=request.method,
            model_config_hash=model_hash,
            datetime_ns=data.datetime_ns,
            trading_day=data.trading_day,
            regime_id=regime,
            probabilities=probs,
        )
        progress(2, 3, f"writing {len(states):,} regime states")
        written = self._states.write_states(states)
        progress(3, 3, "done")
        stats = regime_stats(regime)
        stats["rows_per_second"] = len(data) / seconds if seconds > 0 else math.inf
        stats.update(extra)
        return DecodeResult(
            symbol=request.symbol,
            method=request.method,
            model_id=model.model_id if model is not None else "",
            model_config_hash=model_hash,
            start_day=request.start_day.isoformat(),
            end_day=request.end_day.isoformat(),
            rows=len(data),
            written=written,
            decode_seconds=seconds,
            stats=stats,
        )

    @staticmethod
    def _hmm(model: RegimeModel, data: RegimeData, method: str) -> tuple[np.ndarray, np.ndarray, str]:
        x = data.observations[:, select_features(model.features)]
        if method == "hmm-filter":
            probs, _ = forward_filter(model.params, x)
            return probs.argmax(axis=1).astype(np.int64), probs, model.model_config_hash
        path = viterbi_path(model.params, x)
        return path, np.eye(model.params.n_states)[path], model.model_config_hash

    def _other(
        self, r: DecodeRequest, data: RegimeData, obs_cfg: ObservationConfig
    ) -> tuple[np.ndarray, np.ndarray, str]:
        if r.feature not in OBSERVATION_NAMES:
            raise InvalidArgument(f"feature must be one of {', '.join(OBSERVATION_NAMES)}")
        stride = r.stride or obs_cfg.window
        if stride < 1:
            raise InvalidArgument("stride must be >= 1")
        col = data.observations[:, OBSERVATION_NAMES.index(r.feature)]
        n = len(data)
        base = {"method": r.method, "feature": r.feature, "observation": obs_cfg.as_dict()}
        if r.method == "vol-bucket":
            if r.feature != "log_rvol":
                raise InvalidArgument("vol-bucket works on log_rvol")
            if r.n_buckets < 2:
                raise InvalidArgument("n_buckets must be >= 2")
            edges = fit_vol_buckets(col, r.n_buckets)
            regime = assign_vol_buckets(col, edges)
            return regime, np.ones((n, 1)), config_hash({**base, "n_buckets": r.n_buckets})
        idx, values = _sampled(col, stride)
        if values.size < 10:
            raise InvalidArgument(f"too few finite {r.feature} samples ({values.size}) for {r.method}")
        if r.method == "bocpd":
            head = values[: min(values.size, 50)]
            cfg = BocpdConfig(
                expected_run=r.expected_run,
                mu0=float(np.median(head)),
                kappa0=1.0,
                alpha0=2.0,
                beta0=float(max(np.var(head), 1e-12)),
                max_run=max(2, int(min(values.size, 4 * r.expected_run))),
            )
            run, short = bocpd(values, cfg)
            seg = segments_from_run_length(run)
            regime = _carry_forward(n, idx, seg.astype(np.float64), -1.0).astype(np.int64)
            prob = _carry_forward(n, idx, short, math.nan)[:, None]
            return regime, prob, config_hash({**base, "stride": stride, "bocpd": cfg.as_dict()})
        penalty = 3.0 * math.log(values.size) if r.penalty is None else float(r.penalty)
        if penalty <= 0:
            raise InvalidArgument("penalty must be > 0")
        if r.min_size < 2:
            raise InvalidArgument("min_size must be >= 2")
        breaks = self._segmenter.segment(values, penalty, min_size=r.min_size)
        seg = np.searchsorted(np.asarray(breaks, dtype=np.int64), np.arange(values.size), side="right")
        regime = _carry_forward(n, idx, seg.astype(np.float64), -1.0).astype(np.int64)
        return (
            regime,
            np.ones((n, 1)),
            config_hash({**base, "stride": stride, "penalty": penalty, "min_size": r.min_size}),
        )

    def _clusters(
        self, r: DecodeRequest, data: RegimeData, obs_cfg: ObservationConfig
    ) -> tuple[np.ndarray, np.ndarray, str, dict[str, Any]]:
        if self._clusterer is None:
            raise InvalidArgument("this server has no clustering adapter wired")
        if r.n_clusters < 2 or r.bootstraps < 1:
            raise InvalidArgument("n_clusters must be >= 2 and bootstraps >= 1")
        stride = r.stride or obs_cfg.window
        if stride < 1:
            raise InvalidArgument("stride must be >= 1")
        idx = np.arange(0, len(data), stride)
        x = data.observations[idx]
        ok = np.isfinite(x).all(axis=1)
        idx, x = idx[ok], x[ok]
        order_col = OBSERVATION_NAMES.index("log_rvol")
        labels = self._clusterer.fit_predict(x, x, r.n_clusters, r.method, r.seed, order_col)
        rng = np.random.default_rng(r.seed)
        ari = []
        for b in range(r.bootstraps):
            pick = rng.integers(0, x.shape[0], x.shape[0])
            refit = self._clusterer.fit_predict(x[pick], x, r.n_clusters, r.method, r.seed + 1 + b, order_col)
            ari.append(adjusted_rand_index(labels, refit))
        regime = _carry_forward(len(data), idx, labels.astype(np.float64), -1.0).astype(np.int64)
        cfg = {
            "method": r.method,
            "observation": obs_cfg.as_dict(),
            "stride": stride,
            "n_clusters": r.n_clusters,
            "seed": r.seed,
        }
        extra = {
            "samples": int(x.shape[0]),
            "stability_ari": ari,
            "stability_ari_mean": float(np.mean(ari)),
            "stability_ari_min": float(np.min(ari)),
        }
        return regime, np.ones((len(data), 1)), config_hash(cfg), extra
