"""ONNX adapter (the only package importing onnxruntime): InferenceRuntime / InferenceSession, and
the CalibrationGraphWriter that appends a calibrator to an exported graph, and the
EnsembleGraphWriter that combines member graphs into one."""

from __future__ import annotations

from ghtrader.adapters.onnx.calibration_graph import OnnxCalibrationGraphWriter
from ghtrader.adapters.onnx.ensemble_graph import OnnxEnsembleGraphWriter
from ghtrader.adapters.onnx.runtime import OnnxInferenceRuntime, OnnxInferenceSession

__all__ = ["OnnxCalibrationGraphWriter", "OnnxEnsembleGraphWriter", "OnnxInferenceRuntime", "OnnxInferenceSession"]
