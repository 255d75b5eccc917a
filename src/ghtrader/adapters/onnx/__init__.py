"""ONNX Runtime adapter (the only package importing onnxruntime): InferenceRuntime / InferenceSession."""

from __future__ import annotations

from ghtrader.adapters.onnx.runtime import OnnxInferenceRuntime, OnnxInferenceSession

__all__ = ["OnnxInferenceRuntime", "OnnxInferenceSession"]
