"""LightGBM tabular family (the only package importing lightgbm); ONNX export via onnxmltools."""

from __future__ import annotations

from ghtrader.adapters.lightgbm.family import LightGBMFamily, LightGBMModel

__all__ = ["LightGBMFamily", "LightGBMModel"]
