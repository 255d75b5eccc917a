"""XGBoost tabular family (the only package importing xgboost); ONNX export via onnxmltools."""

from __future__ import annotations

from ghtrader.adapters.xgboost.family import XGBoostFamily, XGBoostModel

__all__ = ["XGBoostFamily", "XGBoostModel"]
