"""PyTorch deep LOB models: seven architectures, one training loop (AMP, DDP, early stopping),
segment-safe windows with train-only normalization, and ONNX export.

The only package of ghTrader that imports torch.
"""

from ghtrader.adapters.torch.families import deep_families
from ghtrader.adapters.torch.family import TorchModelFamily, TorchTrainedModel

__all__ = ["TorchModelFamily", "TorchTrainedModel", "deep_families"]
