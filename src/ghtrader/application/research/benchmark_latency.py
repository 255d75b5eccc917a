"""Inference latency through the InferenceRuntime: export a model to ONNX, then time batch-1
calls (p50 / p95 / p99 per sample) and batched throughput, and check the graph agrees with
the model's own probabilities."""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ghtrader.application.ports.models import InferenceRuntime, TrainedModel
from ghtrader.domain.evaluation import latency_stats

__all__ = ["measure_latency"]

_WARMUP_CALLS = 5


def measure_latency(
    model: TrainedModel,
    x: np.ndarray,
    reference: np.ndarray,
    runtime: InferenceRuntime,
    *,
    samples: int,
    batch_size: int,
    batches: int,
    prefer_gpu: bool,
    timer: Callable[[], float],
) -> dict[str, Any]:
    """Latency of ``model`` exported to ONNX on the model inputs ``x`` (m, ...).

    ``reference`` holds the model's probabilities of the same inputs (m, 3); the largest
    absolute difference to the ONNX output over the first batch is reported as
    ``onnx_max_abs_diff``.
    """
    x = np.ascontiguousarray(x, dtype=np.float32)
    m = int(x.shape[0])
    if m == 0:
        raise ValueError("no model inputs to time")
    with tempfile.TemporaryDirectory(prefix="ghtrader-bench-") as tmp:
        path = Path(tmp) / "model.onnx"
        signature = model.export_onnx(path)
        size = path.stat().st_size
        session = runtime.load(path, prefer_gpu=prefer_gpu)
        for i in range(min(_WARMUP_CALLS, m)):
            session.run(x[i : i + 1])
        pick = np.linspace(0, m - 1, num=min(samples, m)).round().astype(np.int64)
        single = np.empty(pick.shape[0])
        for j, i in enumerate(pick):
            t0 = timer()
            session.run(x[i : i + 1])
            single[j] = timer() - t0
        b = max(1, min(batch_size, m))
        starts = [(k * b) % max(m - b + 1, 1) for k in range(batches)]
        batched = np.empty(len(starts))
        first_out: np.ndarray | None = None
        for j, s in enumerate(starts):
            t0 = timer()
            out = session.run(x[s : s + b])
            batched[j] = timer() - t0
            if first_out is None:
                first_out = np.asarray(out, dtype=np.float64)
    assert first_out is not None
    ref = np.asarray(reference[starts[0] : starts[0] + b], dtype=np.float64)
    ok = np.isfinite(ref).all(axis=1)
    diff = float(np.max(np.abs(first_out[ok] - ref[ok]))) if ok.any() else math.nan
    one = latency_stats(single, 1)
    many = latency_stats(batched, b)
    return {
        "providers": list(session.providers),
        "onnx_bytes": int(size),
        "input_shape": [str(d) for d in signature.input_shape],
        "opset": int(signature.opset),
        "batch1": one.to_ms_dict(),
        "batched": {"batch_size": b, **many.to_ms_dict()},
        "p50_ms": one.p50_s * 1e3,
        "p95_ms": one.p95_s * 1e3,
        "p99_ms": one.p99_s * 1e3,
        "throughput_per_s": many.throughput_per_s,
        "onnx_max_abs_diff": diff,
    }
