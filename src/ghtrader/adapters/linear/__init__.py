"""Linear tabular family: multinomial logistic regression (NumPy + SciPy, hand-built ONNX)."""

from __future__ import annotations

from ghtrader.adapters.linear.family import LogisticFamily, LogisticModel

__all__ = ["LogisticFamily", "LogisticModel"]
