"""Attention maps in an explain report: the chosen tick's map and the mean map over the
attributed windows per layer, with summary numbers (share of the read-out query's attention on
the newest k ticks against the uniform share, attention received per feature, row entropy)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ghtrader.application.ports.explain import AttentionMap

__all__ = ["LAST_K", "attention_entry"]

LAST_K = (1, 5, 10)


def _rows(a: np.ndarray) -> list[list[float]]:
    return [[float(v) for v in row] for row in a]


def _entropy(weights: np.ndarray) -> float:
    """Mean row entropy / log(keys): 1 = uniform attention, 0 = one key only."""
    n = weights.shape[-1]
    if n < 2 or weights.size == 0:
        return 0.0
    p = np.clip(weights, 1e-300, None)
    return float((-(weights * np.log(p)).sum(axis=-1)).mean() / np.log(n))


def _query_profile(mean_map: np.ndarray, readout: int | None) -> np.ndarray:
    """The attention over keys of the read-out query (every query averaged when none)."""
    return mean_map[readout] if readout is not None else mean_map.mean(axis=0)


def attention_entry(am: AttentionMap, tick_index: int) -> dict[str, Any]:
    """The JSON entry of one map: ``tick_map`` (the chosen tick's window), ``mean_map`` (over
    every row of ``am.weights``) and ``summary``; ``tick_index`` is the tick's row in ``weights``."""
    w = np.asarray(am.weights, dtype=np.float64)
    mean_map = w.mean(axis=0)
    summary: dict[str, Any] = {
        "rows": int(w.shape[0]),
        "row_sum_max_error": float(np.max(np.abs(w.sum(axis=-1) - 1.0))) if w.size else 0.0,
        "entropy": _entropy(w),
    }
    profile = _query_profile(mean_map, am.readout)
    if am.kind == "temporal":
        steps = np.asarray(am.step_of, dtype=np.int64)
        ticks = steps >= 0
        window = int(steps.max()) + 1 if ticks.any() else 0
        summary["query"] = am.labels[am.readout] if am.readout is not None else "mean over queries"
        summary["share_last_k"] = {str(k): float(profile[ticks & (steps < k)].sum()) for k in LAST_K if k < window}
        summary["uniform_share_last_k"] = {
            str(k): float((ticks & (steps < k)).sum() / steps.shape[0]) for k in LAST_K if k < window
        }
        if not ticks.all():
            summary["share_non_tick"] = float(profile[~ticks].sum())
        summary["by_key"] = [float(v) for v in profile]
    else:
        received = mean_map.mean(axis=0)  # attention each key receives, averaged over queries; sums to 1
        order = np.argsort(-received, kind="stable")
        summary["received"] = {am.labels[j]: float(received[j]) for j in order}
    return {
        "name": am.name,
        "kind": am.kind,
        "layer": am.layer,
        "labels": list(am.labels),
        "readout": am.readout,
        "step_of": list(am.step_of),
        "note": am.note,
        "tick_map": _rows(w[tick_index]),
        "mean_map": _rows(mean_map),
        "summary": summary,
    }
